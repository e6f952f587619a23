// Recurrent (PyTorch nn.RNN/LSTM/GRU semantics): PyTorch fixtures on every backend
// (packed variable lengths, unsorted, bidirectional, 1-3 layers, length-1 sequences),
// float64 gradient checks with variable lengths in both directions, and the promise
// that padding never leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { loadBackends } from '../src/backend/init.js';
import { availableBackends, setBackend } from '../src/backend/registry.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { Recurrent } from '../src/nn/recurrent-layer.js';
import { CELL_TYPES, type CellType } from '../src/nn/recurrent.js';
import { Rng } from '../src/core/rng.js';
import { gradcheck, sampleIndices } from '../src/testing/gradcheck.js';
import { maxRelDiff, randn } from './helpers.js';

await loadBackends();

const dir = new URL('../../test/fixtures/recurrent/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
const TOL = 2e-5; // relative to each tensor's largest value

interface Fixture {
  cell: CellType; input_size: number; hidden_size: number; num_layers: number; bidirectional: boolean;
  steps: number; batch: number; lengths: number[]; has_h0: boolean;
}

test('recurrent fixtures are present', () => assert.ok(files.length >= 20, `found ${files.length}`));

for (const backend of availableBackends()) for (const file of files) {
  test(`Recurrent matches PyTorch on ${backend}: ${file}`, () => {
    setBackend(backend);
    const { tensors, metadata } = decodeSafetensors(readFileSync(new URL(file, dir)), file);
    const f = JSON.parse(metadata['fixture']!) as Fixture, get = (n: string) => tensors.get(n)!.data;
    const layer = new Recurrent({ cell: f.cell, inputSize: f.input_size, hiddenSize: f.hidden_size, numLayers: f.num_layers, bidirectional: f.bidirectional });
    const names = [...layer.stateDict().keys()];
    layer.loadStateDict(new Map(names.map((n) => [n, get(n)])));
    const lstm = f.cell === 'lstm', T = f.steps, B = f.batch, D = f.input_size;
    const out = layer.forward(get('x'), { steps: T, batch: B, lengths: f.lengths, h0: f.has_h0 ? get('h0') : undefined, c0: f.has_h0 && lstm ? get('c0') : undefined });
    const back = layer.backward({ dOutput: get('dOutput'), dhN: get('dhN'), dcN: lstm ? get('dcN') : undefined });
    const bad: string[] = [];
    const check = (name: string, a: ArrayLike<number>, e: ArrayLike<number>) => {
      const d = maxRelDiff(a, e);
      if (!(d <= TOL)) bad.push(`${name}: ${d.toExponential(2)}`);
    };
    check('output', out.output, get('output'));
    check('hN', out.hN, get('hN'));
    if (lstm) check('cN', out.cN, get('cN'));
    for (const [n, g] of layer.gradients()) check(`grad ${n}`, g, get(`grad.${n}`));
    check('grad x', back.dx, get('grad.x'));
    if (f.has_h0) {
      check('grad h0', back.dh0, get('grad.h0'));
      if (lstm) check('grad c0', back.dc0, get('grad.c0'));
    }
    assert.deepEqual(bad, []);
    // padding: exactly zero output and input gradient
    const W = out.output.length / (T * B);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
      if (t < f.lengths[b]!) continue;
      for (let j = 0; j < W; j++) assert.equal(out.output[(t * B + b) * W + j], 0);
      for (let j = 0; j < D; j++) assert.equal(back.dx[(t * B + b) * D + j], 0);
    }
  });
}

/** A float64 layer with a loss Σ out·R + Σ hN·S (+ Σ cN·Q) and its inputs. */
function setup(cell: CellType, o: { L: number; bi: boolean; lengths: number[]; T: number; D?: number; H?: number; seed: number; batchFirst?: boolean }) {
  setBackend('ref');
  const D = o.D ?? 3, H = o.H ?? 4, B = o.lengths.length, T = o.T, rng = new Rng(o.seed), lstm = cell === 'lstm';
  const layer = new Recurrent({ cell, inputSize: D, hiddenSize: H, numLayers: o.L, bidirectional: o.bi, dtype: 'float64', seed: o.seed, batchFirst: o.batchFirst ?? false });
  const U = o.L * (o.bi ? 2 : 1), W = (o.bi ? 2 : 1) * H;
  const x = randn(rng, T * B * D, 1), h0 = randn(rng, U * B * H, 0.5), c0 = randn(rng, lstm ? U * B * H : 0, 0.5);
  const R = randn(rng, T * B * W, 1), S = randn(rng, U * B * H, 1), Q = randn(rng, lstm ? U * B * H : 0, 1);
  const run = () => layer.forward(x, { steps: T, batch: B, lengths: o.lengths, h0, c0: lstm ? c0 : undefined });
  const loss = () => {
    const r = run();
    let s = 0;
    for (let i = 0; i < R.length; i++) s += r.output[i]! * R[i]!;
    for (let i = 0; i < S.length; i++) s += r.hN[i]! * S[i]!;
    for (let i = 0; i < Q.length; i++) s += r.cN[i]! * Q[i]!;
    return s;
  };
  return { layer, x, h0, c0, R, S, Q, run, loss, D, H, B, T, W, U, lstm };
}

for (const [ci, cell] of CELL_TYPES.entries()) for (const bi of [false, true]) {
  test(`Recurrent gradient check: ${cell}, ${bi ? 'bidirectional' : 'unidirectional'}, 2 layers, unsorted variable lengths`, () => {
    const s = setup(cell, { L: 2, bi, lengths: [3, 5, 1, 4], T: 6, seed: 10 + ci * 2 + (bi ? 1 : 0) });
    const { layer, x, h0, c0, R, S, Q, loss } = s;
    layer.zeroGrad();
    s.run();
    const back = layer.backward({ dOutput: R, dhN: S, dcN: s.lstm ? Q : undefined });
    const rng = new Rng(99), params = layer['params'];
    const eps = cell === 'rnn_relu' ? 1e-7 : 1e-6;
    const grads = layer.gradients();
    for (const v of params.views) {
      const r = gradcheck(loss, v.data, grads.get(v.name)!, { indices: sampleIndices(v.size, 12, rng), eps, tiny: 1e-8, name: v.name });
      assert.ok(r.maxError < 1e-5, r.report);
    }
    // x only at valid positions (padded ones have no influence and zero gradient)
    const valid: number[] = [];
    for (let t = 0; t < s.T; t++) for (let b = 0; b < s.B; b++) if (t < [3, 5, 1, 4][b]!) for (let j = 0; j < s.D; j++) valid.push((t * s.B + b) * s.D + j);
    const rx = gradcheck(loss, x, back.dx, { indices: sampleIndices(valid.length, 20, rng).map((i) => valid[i]!), eps, tiny: 1e-8, name: 'x' });
    assert.ok(rx.maxError < 1e-5, rx.report);
    const rh = gradcheck(loss, h0, back.dh0, { eps, tiny: 1e-8, name: 'h0' });
    assert.ok(rh.maxError < 1e-5, rh.report);
    if (s.lstm) { const rc = gradcheck(loss, c0, back.dc0, { eps, tiny: 1e-8, name: 'c0' }); assert.ok(rc.maxError < 1e-5, rc.report); }
  });
}

test('padding never leaks: garbage in padded inputs and upstream gradients changes nothing', () => {
  for (const cell of CELL_TYPES) {
    const lengths = [2, 5, 3], T = 6;
    const a = setup(cell, { L: 2, bi: true, lengths, T, seed: 3 });
    const run = (x: Float64Array, R: Float64Array) => {
      a.layer.zeroGrad();
      const r = a.layer.forward(x, { steps: T, batch: 3, lengths, h0: a.h0, c0: a.lstm ? a.c0 : undefined });
      const g = a.layer.backward({ dOutput: R, dhN: a.S, dcN: a.lstm ? a.Q : undefined });
      return { ...r, ...g, grads: [...a.layer.gradients().values()] };
    };
    const clean = run(a.x, a.R);
    const x2 = a.x.slice(), R2 = a.R.slice();
    for (let t = 0; t < T; t++) for (let b = 0; b < 3; b++) if (t >= lengths[b]!) {
      for (let j = 0; j < a.D; j++) x2[(t * 3 + b) * a.D + j] = 1e6 * (j + 1);
      for (let j = 0; j < a.W; j++) R2[(t * 3 + b) * a.W + j] = -1e6;
    }
    const dirty = run(x2, R2);
    for (const k of ['output', 'hN', 'cN', 'dx', 'dh0', 'dc0'] as const) assert.deepEqual(Array.from(dirty[k]), Array.from(clean[k]), `${cell} ${k}`);
    dirty.grads.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(clean.grads[i]!), `${cell} gradient ${i}`));
  }
});

test('each sequence is computed alone: a batch equals its sequences run one by one, in any order', () => {
  const lengths = [4, 1, 6, 3], T = 6;
  const a = setup('lstm', { L: 2, bi: true, lengths, T, seed: 8 });
  const whole = a.run();
  for (let b = 0; b < 4; b++) {
    const n = lengths[b]!, x1 = new Float64Array(n * a.D), h1 = new Float64Array(a.U * a.H), c1 = new Float64Array(a.U * a.H);
    for (let t = 0; t < n; t++) x1.set(a.x.subarray((t * 4 + b) * a.D, (t * 4 + b + 1) * a.D), t * a.D);
    for (let k = 0; k < a.U; k++) { h1.set(a.h0.subarray((k * 4 + b) * a.H, (k * 4 + b + 1) * a.H), k * a.H); c1.set(a.c0.subarray((k * 4 + b) * a.H, (k * 4 + b + 1) * a.H), k * a.H); }
    const one = a.layer.forward(x1, { steps: n, batch: 1, h0: h1, c0: c1 });
    for (let t = 0; t < n; t++) for (let j = 0; j < a.W; j++) {
      assert.ok(Math.abs(one.output[t * a.W + j]! - whole.output[(t * 4 + b) * a.W + j]!) < 1e-12, `sequence ${b} step ${t}`);
    }
    for (let k = 0; k < a.U; k++) for (let j = 0; j < a.H; j++) {
      assert.ok(Math.abs(one.hN[k * a.H + j]! - whole.hN[(k * 4 + b) * a.H + j]!) < 1e-12);
      assert.ok(Math.abs(one.cN[k * a.H + j]! - whole.cN[(k * 4 + b) * a.H + j]!) < 1e-12);
    }
  }
});

test('batchFirst is the transpose of time-major; lengths all T equal no lengths', () => {
  const lengths = [3, 4], T = 4;
  const tm = setup('gru', { L: 1, bi: true, lengths, T, seed: 5 });
  const bf = setup('gru', { L: 1, bi: true, lengths, T, seed: 5, batchFirst: true });
  const xb = new Float64Array(tm.x.length);
  for (let t = 0; t < T; t++) for (let b = 0; b < 2; b++) xb.set(tm.x.subarray((t * 2 + b) * tm.D, (t * 2 + b + 1) * tm.D), (b * T + t) * tm.D);
  const r1 = tm.layer.forward(tm.x, { steps: T, batch: 2, lengths, h0: tm.h0 });
  const r2 = bf.layer.forward(xb, { steps: T, batch: 2, lengths, h0: tm.h0 });
  for (let t = 0; t < T; t++) for (let b = 0; b < 2; b++) for (let j = 0; j < tm.W; j++) {
    assert.equal(r2.output[(b * T + t) * tm.W + j], r1.output[(t * 2 + b) * tm.W + j]);
  }
  const full = tm.layer.forward(tm.x, { steps: T, batch: 2, lengths: [4, 4], h0: tm.h0 });
  const none = tm.layer.forward(tm.x, { steps: T, batch: 2, h0: tm.h0 });
  assert.deepEqual(Array.from(full.output), Array.from(none.output));
  assert.deepEqual(Array.from(full.hN), Array.from(none.hN));
});

test('state dict names and shapes are PyTorch\'s; bad arguments are one-line errors', () => {
  setBackend('ref');
  const layer = new Recurrent({ cell: 'lstm', inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true });
  assert.deepEqual([...layer.stateDict().keys()], [
    'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse',
    'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1', 'weight_ih_l1_reverse', 'weight_hh_l1_reverse', 'bias_ih_l1_reverse', 'bias_hh_l1_reverse',
  ]);
  assert.equal(layer.stateDict().get('weight_ih_l1')!.length, 8 * 4); // (4H, 2H)
  // PyTorch's init: U(-1/sqrt(H), 1/sqrt(H))
  for (const w of layer.stateDict().values()) assert.ok(w.every((v) => Math.abs(v) <= 1 / Math.sqrt(2)));
  const x = new Float32Array(2 * 2 * 3);
  assert.throws(() => layer.forward(x, { steps: 2, batch: 2, lengths: [0, 2] }), /lengths\[0\] = 0/);
  assert.throws(() => layer.forward(x, { steps: 2, batch: 2, lengths: [3, 2] }), /lengths\[0\] = 3/);
  assert.throws(() => layer.forward(x, { steps: 2, batch: 2, lengths: [2] }), /lengths has 1 entries/);
  assert.throws(() => layer.forward(x.subarray(1), { steps: 2, batch: 2 }), /x has 11 values, expected 12/);
  assert.throws(() => layer.backward({}), /call forward first/);
  assert.throws(() => layer.loadStateDict(new Map([['weight_ih_l0', new Float32Array(24)]])), /missing/);
  const sd = layer.stateDict();
  sd.set('bias_ih_l0', new Float32Array(3));
  assert.throws(() => layer.loadStateDict(sd), /'bias_ih_l0' has 3 values, expected 8/);
});

test('dropout applies between layers in training mode only', () => {
  setBackend('ref');
  const mk = () => new Recurrent({ cell: 'gru', inputSize: 3, hiddenSize: 8, numLayers: 2, dropout: 0.5, seed: 4 });
  const a = mk(), x = randn(new Rng(1), 5 * 2 * 3, 1);
  const t1 = a.forward(x, { steps: 5, batch: 2 }).output, t2 = a.forward(x, { steps: 5, batch: 2 }).output;
  assert.notDeepEqual(Array.from(t1), Array.from(t2), 'a new mask each forward');
  a.eval();
  const e1 = a.forward(x, { steps: 5, batch: 2 }).output, e2 = a.forward(x, { steps: 5, batch: 2 }).output;
  assert.deepEqual(Array.from(e1), Array.from(e2));
  assert.notDeepEqual(Array.from(e1), Array.from(t1));
});
