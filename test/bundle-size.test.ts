// The browser bundle stays within its size budget (scripts/bundle-size.mjs: Vite build of
// the package entry, gzip bytes of the entry, the wasm loader, its worker and kernels),
// and nothing a browser loads from it imports a Node built-in (they are only in lazy
// chunks behind Node checks, which Vite turns into its stub module).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Row { file: string; bytes: number; gzip: number }
interface Report { sizes: Record<string, number>; budget: Record<string, number>; parts: Record<string, Row[]> }

test('the browser bundle is within its gzip budget', { timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, ['scripts/bundle-size.mjs', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
  const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Report;
  assert.ok(report.sizes, `bundle-size.mjs printed no report:\n${r.stdout}${r.stderr}`);
  for (const part of ['wasmLoader', 'worker']) {
    assert.equal(report.parts[part]!.length, 1, `one ${part} file: ${JSON.stringify(report.parts[part])}`);
  }
  // the plain and the relaxed-SIMD kernels; a browser loads one of them
  assert.deepEqual(report.parts['kernels']!.map((r) => r.file.replace(/-[\w-]{8}\.wasm$/, '.wasm')).sort(), ['assets/rnnkit-relaxed.wasm', 'assets/rnnkit.wasm']);
  assert.equal(report.sizes['kernels'], Math.max(...report.parts['kernels']!.map((r) => r.gzip)));
  // Node built-ins become Vite's stub module; none of what a browser loads imports it
  assert.deepEqual(report.parts['other']!.map((r) => r.file).filter((f) => !f.includes('__vite-browser-external')), []);
  assert.ok(report.sizes['entry']! > 10_000, 'the entry holds the library');
  const over = Object.keys(report.budget).filter((k) => report.sizes[k]! > report.budget[k]!);
  assert.deepEqual(over.map((k) => `${k}: ${report.sizes[k]} > ${report.budget[k]}`), []);
  assert.equal(r.status, 0, r.stderr);
});
