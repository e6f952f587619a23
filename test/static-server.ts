// A static file server for the browser tests: one folder on 127.0.0.1 at a free port,
// sending the headers of the folder's _headers file (the static host convention the
// playground ships, playground/public/_headers) or none.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json',
};

export interface StaticServer { url: string; close(): Promise<void> }

/** The 'Name: value' lines of a _headers file (all of them apply to every path here). */
export function readHeadersFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of readFileSync(path, 'utf8').matchAll(/^[ \t]+([\w-]+):\s*(.+?)\s*$/gm)) out[m[1]!] = m[2]!;
  return out;
}

export async function serveFolder(root: string, opts: { headers: boolean }): Promise<StaticServer> {
  const extra = opts.headers ? readHeadersFile(join(root, '_headers')) : {};
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) { res.writeHead(403).end(); return; }
    readFile(file).then((body) => {
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...extra });
      res.end(body);
    }, () => res.writeHead(404).end('not found'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
