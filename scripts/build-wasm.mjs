#!/usr/bin/env node
// Builds the wasm backend's kernels (assembly/ -> dist/src/backend/wasm/) twice: rnnkit.wasm
// with 128-bit SIMD, which every engine with wasm threads runs, and rnnkit-relaxed.wasm
// with relaxed SIMD's fused multiply-add in the matrix products, which the backend loads
// where the engine validates it (Chrome 114+, Node 22+; Node 20 behind
// --experimental-wasm-relaxed-simd).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const common = ['assembly/kernels.ts', '--enable', 'simd', '--enable', 'threads', '--importMemory', '--sharedMemory',
  '--initialMemory', '1', '--maximumMemory', '65536', '--noExportMemory', '--runtime', 'stub', '-O3', '--noAssert'];
for (const [file, extra] of [['rnnkit.wasm', []], ['rnnkit-relaxed.wasm', ['--enable', 'relaxed-simd']]]) {
  const r = spawnSync(process.execPath, [asc, ...common, ...extra, '-o', `dist/src/backend/wasm/${file}`], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
