// Vite config of the playground: `npm run playground` (dev server) and
// `npm run build:playground` (static site in dist-playground/). The page uses the built
// package (dist/src, with the wasm kernels), as an application would.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const entry = here('../dist/src/index.js');
if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);

/**
 * The headers of public/_headers (the static site's, for hosts that read such a file):
 * cross-origin isolation, which lets the wasm backend share its memory with worker threads.
 */
const headers = Object.fromEntries([...readFileSync(here('public/_headers'), 'utf8').matchAll(/^[ \t]+([\w-]+):\s*(.+?)\s*$/gm)].map((m) => [m[1]!, m[2]!]));

export default defineConfig({
  root: here('.'),
  base: './',
  resolve: { alias: [{ find: /^rnnkit$/, replacement: entry }] },
  server: { headers, fs: { allow: [here('..')] } },
  preview: { headers },
  worker: { format: 'es' },
  build: { outDir: here('../dist-playground'), emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0, chunkSizeWarningLimit: 1024 },
});
