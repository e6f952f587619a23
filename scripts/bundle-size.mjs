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

/** Gzip bytes allowed per part: about 1.3 times the sizes when the budget was set (48,339, 3,876, 429, 13,601). */
export const BUDGET = { entry: 62_000, wasmLoader: 5_500, worker: 1_000, kernels: 18_000, total: 84_000 };

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
  const byName = new Map(files.map((f) => [f.fileName, f]));
  const parts = { entry: [], wasmLoader: [], worker: [], kernels: [], other: [] };
  const counted = new Set();
  /** A chunk and the chunks it imports statically (the browser fetches them together). */
  const take = (part, f) => {
    if (!f || counted.has(f.fileName)) return;
    counted.add(f.fileName);
    const bytes = typeof f.code === 'string' ? Buffer.from(f.code) : Buffer.from(f.source);
    parts[part].push({ file: f.fileName, bytes: bytes.length, gzip: gzip(bytes) });
    for (const dep of f.imports ?? []) take(part, byName.get(dep));
  };
  for (const f of files) if (f.type === 'chunk' && f.isEntry) take('entry', f);
  for (const f of files) if (f.type === 'chunk' && f.moduleIds.some((id) => id.includes('/backend/wasm/'))) take('wasmLoader', f);
  for (const f of files) {
    if (f.fileName.endsWith('.wasm')) take('kernels', f);
    else if (f.type === 'asset' && f.fileName.endsWith('.js')) take('worker', f); // Vite emits worker scripts as assets
    else if (f.fileName.endsWith('.js')) take('other', f);
  }
  const sum = (rows) => rows.reduce((s, r) => s + r.gzip, 0);
  const sizes = Object.fromEntries(Object.entries(parts).map(([k, rows]) => [k, sum(rows)]));
  // a browser fetches one of the two kernel builds (relaxed SIMD where it validates)
  sizes.kernels = Math.max(0, ...parts.kernels.map((r) => r.gzip));
  sizes.total = sizes.entry + sizes.wasmLoader + sizes.worker + sizes.kernels;
  return { sizes, parts };
}

const LABELS = {
  entry: "JS, import 'rnnkit' (all exports)", wasmLoader: 'JS, wasm backend loader (lazy)', worker: 'JS, wasm worker (per thread)',
  kernels: 'wasm kernels (one of two builds)', total: 'total the wasm backend needs',
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { sizes, parts } = await measure();
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ sizes, budget: BUDGET, parts })}\n`);
  } else {
    const fmt = (n) => n.toLocaleString('en').padStart(9);
    console.log('rnnkit in the browser (Vite build, minified; gzip -9 bytes, budget)');
    for (const k of Object.keys(LABELS)) console.log(`  ${LABELS[k].padEnd(38)} ${fmt(sizes[k])}  ${fmt(BUDGET[k])}`);
    if (parts.other.length) console.log(`  not loaded in browsers (Node-only stubs): ${parts.other.map((r) => `${r.file} ${r.gzip} B`).join(', ')}`);
  }
  const over = Object.keys(BUDGET).filter((k) => sizes[k] > BUDGET[k]);
  if (over.length) {
    console.error(`over budget: ${over.map((k) => `${LABELS[k]} ${sizes[k]} > ${BUDGET[k]} bytes`).join('; ')}`);
    process.exit(1);
  }
}
