#!/usr/bin/env node
// The size of rnnkit in a browser: bundles the package's entry (dist/src/index.js, every
// export kept) as an application build would (Vite, minified ES modules; the wasm
// backend's loader, its worker and the kernels come as separate files, loaded when the
// backend starts) and reports the gzip bytes of each part. Fails above the budget.
//   node scripts/bundle-size.mjs          table; exit 1 over budget
//   node scripts/bundle-size.mjs --json   the numbers, for the test (test/bundle-size.test.ts)
import { build } from 'vite';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Gzip bytes allowed per part: about 1.5 times the size when the budget was set. */
export const BUDGET = { entry: 48_000, wasmLoader: 6_000, worker: 1_500, kernels: 18_000, total: 72_000 };

const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;

export async function measure() {
  const result = await build({
    configFile: false, root: ROOT, logLevel: 'silent', mode: 'production',
    build: {
      write: false, minify: true, target: 'es2022', assetsInlineLimit: 0, modulePreload: false, copyPublicDir: false,
      rollupOptions: { input: { rnnkit: `${ROOT}dist/src/index.js` }, preserveEntrySignatures: 'strict' },
    },
    worker: { format: 'es' },
  });
  const files = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const parts = { entry: [], wasmLoader: [], worker: [], kernels: [], other: [] };
  for (const f of files) {
    const bytes = typeof f.code === 'string' ? Buffer.from(f.code) : Buffer.from(f.source);
    const row = { file: f.fileName, bytes: bytes.length, gzip: gzip(bytes) };
    if (f.fileName.endsWith('.wasm')) parts.kernels.push(row);
    else if (!f.fileName.endsWith('.js')) continue; // source maps and the like
    else if (f.type === 'chunk' && f.isEntry) parts.entry.push(row);
    else if (f.type === 'asset') parts.worker.push(row); // Vite emits worker scripts as assets
    else if (f.moduleIds?.some((id) => id.includes('/backend/wasm/'))) parts.wasmLoader.push(row);
    else parts.other.push(row);
  }
  const sum = (rows) => rows.reduce((s, r) => s + r.gzip, 0);
  const sizes = Object.fromEntries(Object.entries(parts).map(([k, rows]) => [k, sum(rows)]));
  sizes.total = sizes.entry + sizes.wasmLoader + sizes.worker + sizes.kernels;
  return { sizes, parts };
}

const LABELS = {
  entry: "JS, import 'rnnkit' (all exports)", wasmLoader: 'JS, wasm backend loader (lazy)', worker: 'JS, wasm worker (per thread)',
  kernels: 'wasm kernels (rnnkit.wasm)', total: 'total the wasm backend needs',
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { sizes, parts } = await measure();
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ sizes, budget: BUDGET, parts })}\n`);
  } else {
    const fmt = (n) => n.toLocaleString('en').padStart(9);
    console.log('rnnkit in the browser (Vite build, minified; gzip -9 bytes, budget)');
    for (const k of Object.keys(LABELS)) console.log(`  ${LABELS[k].padEnd(38)} ${fmt(sizes[k])}  ${fmt(BUDGET[k])}`);
    if (parts.other.length) console.log(`  other lazy chunks (Node only: loading from a path): ${parts.other.map((r) => `${r.file} ${r.gzip} B`).join(', ')}`);
  }
  const over = Object.keys(BUDGET).filter((k) => sizes[k] > BUDGET[k]);
  if (over.length) {
    console.error(`over budget: ${over.map((k) => `${LABELS[k]} ${sizes[k]} > ${BUDGET[k]} bytes`).join('; ')}`);
    process.exit(1);
  }
}
