// The native backend's fused time loops (native/sequence.c) against its own per-step
// loops and the reference: every cell, a packed layout whose batch shrinks, hidden sizes
// that split unevenly over threads and leave vector tails, shapes on both sides of the
// one-thread threshold, and a forward run in pieces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackends } from '../src/backend/init.js';
import { availableBackends, getBackend, registerBackend, setBackend } from '../src/backend/registry.js';
import { packedLayout } from '../src/nn/layout.js';
import {
  CELL_TYPES, GATES, createRecurrentCache, recurrentBackward, recurrentForward, setLayout, type CellType, type RecurrentParams,
} from '../src/nn/recurrent.js';
import { Rng } from '../src/core/rng.js';
import { maxRelDiff } from './helpers.js';

await loadBackends();
const hasNative = availableBackends().includes('native');
if (hasNative) {
  // the same addon with the fused loops taken away: what lstm.ts & co. run per step
  const n = setBackend('native');
  const { recurrentSequenceForward: _f, recurrentSequenceBackward: _b, ...steps } = n;
  registerBackend({ ...steps, name: 'native-steps' });
}

interface Run { h: Float32Array; c: Float32Array; dx: Float32Array; dp: RecurrentParams; dh0: Float32Array; dc0: Float32Array }

function run(backend: string, cell: CellType, lengths: number[], D: number, H: number, pieces: number[]): Run {
  setBackend(backend);
  const rng = new Rng(7), G = GATES[cell] * H, lay = packedLayout(lengths), B = lay.B, N = lay.N;
  const u = (n: number, s: number) => Float32Array.from({ length: n }, () => s * (2 * rng.uniform() - 1));
  // W_hh ~ 1/sqrt(H): contractive, so float rounding differences do not grow chaotically over the steps
  const p: RecurrentParams = { wih: u(G * D, 0.4), whh: u(G * H, 1.5 / Math.sqrt(H)), bih: u(G, 0.2), bhh: u(G, 0.2) };
  const dp: RecurrentParams = { wih: new Float32Array(G * D), whh: new Float32Array(G * H), bih: new Float32Array(G), bhh: new Float32Array(G) };
  const x = u(N * D, 1), h0 = u(B * H, 0.5), c0 = u(B * H, 0.5), dy = u(N * H, 1), dhN = u(B * H, 0.3), dcN = u(B * H, 0.3);
  const cache = createRecurrentCache(cell, lay.T, B, D, H, 'float32');
  setLayout(cache, lay);
  let t0 = 0;
  for (const t1 of [...pieces, lay.T]) { recurrentForward(cache, p, x, 0, h0, 0, c0, 0, t0, t1); t0 = t1; }
  const h = Float32Array.from(cache.hs), c = Float32Array.from(cache.cs);
  cache.dh.set(dhN); cache.dc.set(dcN);
  const dx = new Float32Array(N * D);
  recurrentBackward(dp, dx, 0, dy, 0, cache, p);
  return { h, c, dx, dp, dh0: Float32Array.from(cache.dh), dc0: Float32Array.from(cache.dc) };
}

function same(a: Run, e: Run, tol: number, what: string): void {
  const pairs: [string, Float32Array, Float32Array][] = [
    ['h', a.h, e.h], ['c', a.c, e.c], ['dx', a.dx, e.dx], ['dh0', a.dh0, e.dh0], ['dc0', a.dc0, e.dc0],
    ['dW_ih', a.dp.wih as Float32Array, e.dp.wih as Float32Array], ['dW_hh', a.dp.whh as Float32Array, e.dp.whh as Float32Array],
    ['db_ih', a.dp.bih as Float32Array, e.dp.bih as Float32Array], ['db_hh', a.dp.bhh as Float32Array, e.dp.bhh as Float32Array],
  ];
  for (const [name, x, y] of pairs) assert.ok(maxRelDiff(x, y) <= tol, `${what}: ${name} differs by ${maxRelDiff(x, y)}`);
}

const SHAPES = [
  { name: 'one thread, shrinking batch', lengths: [9, 9, 7, 4, 4, 1], D: 5, H: 12 },
  { name: 'two threads, uneven split and tails', lengths: [12, 11, 11, 10, 8, 8, 6, 5], D: 7, H: 70 },
  { name: 'two threads, batch 1', lengths: [40], D: 3, H: 200 },
];

for (const cell of CELL_TYPES) for (const s of SHAPES) {
  test(`fused ${cell} loops equal the per-step loops and the reference (${s.name})`, { skip: !hasNative && 'native backend not built' }, () => {
    const fused = run('native', cell, s.lengths, s.D, s.H, []);
    assert.ok(getBackend().recurrentSequenceForward, 'the native backend has fused loops');
    same(fused, run('ref', cell, s.lengths, s.D, s.H, []), 2e-5, 'reference');
    same(fused, run('native-steps', cell, s.lengths, s.D, s.H, []), 2e-5, 'native per-step');
    // a forward in pieces (each long enough to take the fused path) gives the same state and gradients
    same(run('native', cell, s.lengths, s.D, s.H, s.lengths[0]! >= 12 ? [4, 8] : [4]), fused, 0, 'pieces');
  });
}

test('fused loops reject a layout that does not add up', { skip: !hasNative && 'native backend not built' }, () => {
  const be = setBackend('native'), H = 16, G = 4 * H, T = 3, B = 2;
  const z = (n: number) => new Float32Array(n);
  const sizes = Int32Array.of(2, 2, 2), bad = Int32Array.of(0, 2, 4, 7); // offsets[3] should be 6
  assert.throws(() => be.recurrentSequenceForward!('lstm', z(6 * G), z(0), z(8 * H), z(8 * H), z(6 * H), z(G * H), sizes, bad, T, B, H, 0, T),
    /offsets\[3\]/);
  assert.throws(() => be.recurrentSequenceForward!('lstm', z(6 * G), z(0), z(8 * H), z(8 * H), z(6 * H), z(G * H), Int32Array.of(1, 2, 2), Int32Array.of(0, 1, 3, 5), T, B, H, 0, T),
    /grows/);
  assert.throws(() => be.recurrentSequenceForward!('lstm', z(5 * G), z(0), z(8 * H), z(8 * H), z(6 * H), z(G * H), sizes, Int32Array.of(0, 2, 4, 6), T, B, H, 0, T),
    /g/); // g too short for 6 rows
});
