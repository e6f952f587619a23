// Central-difference gradient checks (five-point stencil) of every backward pass, in float64: CharLM for every
// cell type and depth (parameters and initial state), masked targets, dropout, and the
// layers on their own. Independent of PyTorch, so it also covers what the fixtures do not
// (dropout, target -1, rnn_relu at depth 1, a nonzero final-state gradient).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharLM } from '../src/models/char-lm.js';
import { Rng } from '../src/core/rng.js';
import { CELL_TYPES, createRecurrentCache, recurrentForward, recurrentBackward, type RecurrentParams } from '../src/nn/recurrent.js';
import { linearForward, linearBackward } from '../src/nn/linear.js';
import { embeddingForward, embeddingBackward } from '../src/nn/embedding.js';
import { dropoutForward, dropoutBackward } from '../src/nn/dropout.js';
import { gradcheck, numericGradient, relativeError, sampleIndices } from '../src/testing/gradcheck.js';
import { dot, maxRelDiff, randn } from './helpers.js';
import { E, H, V, batch, build, checkModel, kinkGuard, type CheckOptions, type Setup } from './model-gradcheck.js';

const TOL = 1e-6; // max relative error per checked entry (these reach ~3e-8)
// Five-point central differences (order 4) at step 1e-3: truncation O(EPS^4) ~1e-12 and
// rounding ~ulp(loss)/EPS ~1e-12, against ~5e-11 at best for the two-point formula.
const EPS = 1e-3;
const ORDER = 4;
// rnn_relu: a smaller step, so that fewer finite differences straddle a kink (window ±2 EPS);
// rounding error ~1.5 ulp(loss)/EPS ~1e-11 is still far below the tolerance.
const EPS_RELU = 1e-4;
const SAMPLES = 20;    // entries checked per tensor (all of them when the tensor is smaller)
// Denominator floor of the relative error: the finite differences carry an absolute error
// of ~1e-12, so the (rare) gradients below 1e-5 (a weak path through several layers and
// steps) are held to an absolute 1e-11 instead.
const TINY = 1e-5;
// the CharLM checks (test/model-gradcheck.ts), which also insist that relu units are
// neither mostly dead nor all active
const FD: CheckOptions = { tol: TOL, eps: EPS, epsRelu: EPS_RELU, order: ORDER, tiny: TINY, samples: SAMPLES, reluActive: true };

const maxByCell = new Map<string, number>();
const cases: Setup[] = [];
for (const [i, cell] of CELL_TYPES.entries()) {
  cases.push({ cell, L: 1, T: 7, B: 2, seed: 10 + i });
  cases.push({ cell, L: 2, T: 5, B: 3, seed: 20 + i });
  cases.push({ cell, L: 2, T: 6, B: 2, seed: 30 + i, dropout: 0.3 });
}
cases.push({ cell: 'lstm', L: 3, T: 8, B: 2, seed: 40 });
// fewer positions than tokens (T*B < V): layer 0 projects positions, not a token table
for (const [i, cell] of CELL_TYPES.entries()) cases.push({ cell, L: 2, T: 3, B: 2, seed: 50 + i });
cases.push({ cell: 'gru', L: 3, T: 5, B: 2, seed: 41 });

for (const s of cases) {
  const label = `${s.cell} L=${s.L} T=${s.T} B=${s.B}${s.dropout ? ` dropout=${s.dropout}` : ''}`;
  test(`gradcheck CharLM ${label}`, (t) => {
    const { err, skipped } = checkModel(s, label, FD);
    maxByCell.set(s.cell, Math.max(maxByCell.get(s.cell) ?? 0, err));
    t.diagnostic(`max rel err ${err.toExponential(2)}${s.cell === 'rnn_relu' ? `, ${skipped} entries skipped at relu kinks` : ''}`);
  });
}

test('dropout masks do change the gradient (the dropout cases are not trivially equal to eval mode)', () => {
  const s: Setup = { cell: 'lstm', L: 2, T: 6, B: 2, seed: 30, dropout: 0.3 };
  const { model, h0, c0, ids, targets, state } = build(s);
  const a = model.grads.get('rnn.weight_ih_l1').slice();
  model.zeroGrad();
  state.h.set(h0); state.c.set(c0);
  model.forward(ids, targets, s.T, s.B, state, { train: false });
  model.backward();
  assert.ok(maxRelDiff(model.grads.get('rnn.weight_ih_l1'), a) > 1e-2);
});

test('targets of -1 contribute neither loss nor gradient', () => {
  // No target at the last step: its inputs then feed only unpredicted logits and the final
  // state (which backward treats as feeding nothing), so changing them changes nothing.
  const rng = new Rng(5), T = 4, B = 2;
  const model = new CharLM({ cell: 'gru', vocab_size: V, embedding_size: E, hidden_size: H }, 'float64').init(rng);
  const ids = Int32Array.from({ length: T * B }, () => rng.int(V));
  const targets = Int32Array.from({ length: T * B }, (_, n) => (n >= (T - 1) * B || n % 3 === 1 ? -1 : rng.int(V)));
  const run = (x: Int32Array) => {
    model.zeroGrad();
    const r = model.forward(x, targets, T, B, model.newState(B));
    model.backward();
    return { ...r, g: model.grads.data.slice() };
  };
  const a = run(ids);
  const other = ids.slice();
  for (let n = (T - 1) * B; n < T * B; n++) other[n] = (ids[n]! + 1 + n) % V;
  const b = run(other);
  assert.equal(a.count, targets.filter((v) => v >= 0).length);
  assert.equal(a.loss, b.loss);
  assert.deepEqual(a.g, b.g);
});

test('float32 and float64 models agree on loss and gradients', () => {
  for (const [i, cell] of CELL_TYPES.entries()) {
    const T = 8, B = 3, L = 2, rng = new Rng(50 + i);
    const m64 = new CharLM({ cell, vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L }, 'float64').init(rng);
    const m32 = new CharLM({ cell, vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L }, 'float32');
    for (let k = 0; k < m64.params.data.length; k++) m64.params.data[k] = Math.fround(1.5 * m64.params.data[k]!);
    m32.params.data.set(m64.params.data); // exact: the float64 weights are float32 values
    const { ids, targets } = batch(T, B, rng);
    const s64 = m64.newState(B), s32 = m32.newState(B);
    for (let k = 0; k < s64.h.length; k++) s64.h[k] = Math.fround(0.5 * rng.normal());
    for (let k = 0; k < s64.c.length; k++) s64.c[k] = Math.fround(0.5 * rng.normal());
    s32.h.set(s64.h); s32.c.set(s64.c);
    m64.zeroGrad(); m32.zeroGrad();
    const r64 = m64.forward(ids, targets, T, B, s64), r32 = m32.forward(ids, targets, T, B, s32);
    m64.backward(); m32.backward();
    assert.equal(r32.count, r64.count);
    assert.ok(relativeError(r32.loss, r64.loss) < 1e-5, `${cell}: loss ${r32.loss} vs ${r64.loss}`);
    assert.ok(maxRelDiff(s32.h, s64.h) < 1e-5, `${cell}: final h`);
    for (const v of m64.grads.views) {
      const d = maxRelDiff(m32.grads.get(v.name), v.data);
      assert.ok(d < 1e-5, `${cell} grad ${v.name}: max rel diff ${d.toExponential(2)}`);
    }
    for (let l = 0; l < L; l++) {
      assert.ok(maxRelDiff(m32.initialStateGrad(l).h, m64.initialStateGrad(l).h) < 1e-5, `${cell} dh0 layer ${l}`);
      if (cell === 'lstm') assert.ok(maxRelDiff(m32.initialStateGrad(l).c, m64.initialStateGrad(l).c) < 1e-5, `${cell} dc0 layer ${l}`);
    }
  }
});

// ---- layers on their own, loss = sum(out * R) for a random upstream gradient R ----

function assertGrad(name: string, f: () => number, x: Float64Array, analytic: ArrayLike<number>, eps = EPS) {
  const r = gradcheck(f, x, analytic, { eps, order: ORDER, tiny: TINY, name });
  assert.ok(r.maxError <= TOL, r.report);
  return r.maxError;
}

test('gradcheck linear layer', () => {
  const rng = new Rng(1), N = 4, I = 3, O = 5;
  const x = randn(rng, N * I, 1), W = randn(rng, O * I, 1), b = randn(rng, O, 1), R = randn(rng, N * O, 1);
  const y = new Float64Array(N * O);
  const f = () => { linearForward(y, x, 0, W, b, N, I, O); return dot(y, R); };
  const dW = new Float64Array(O * I), db = new Float64Array(O), dx = new Float64Array(N * I);
  dW.fill(0.25); db.fill(-0.5); // backward accumulates into dW, db
  linearBackward(dx, dW, db, R, x, 0, W, N, I, O);
  for (let k = 0; k < dW.length; k++) dW[k] -= 0.25;
  for (let k = 0; k < db.length; k++) db[k] += 0.5;
  assertGrad('linear W', f, W, dW);
  assertGrad('linear b', f, b, db);
  assertGrad('linear x', f, x, dx);
});

test('gradcheck embedding layer (repeated ids accumulate)', () => {
  const rng = new Rng(2), N = 6;
  const W = randn(rng, V * E, 1), R = randn(rng, N * E, 1), ids = Int32Array.from([3, 1, 3, 0, 6, 3]);
  const out = new Float64Array(N * E);
  const f = () => { embeddingForward(out, ids, W, N, E); return dot(out, R); };
  const dW = new Float64Array(V * E);
  embeddingBackward(dW, R, ids, N, E);
  assertGrad('embedding W', f, W, dW);
  assert.equal(dW[2 * E], 0); // id 2 unused
});

test('gradcheck dropout layer (fixed mask)', () => {
  const rng = new Rng(3), n = 20, p = 0.3;
  const x = randn(rng, n, 1), R = randn(rng, n, 1), out = new Float64Array(n), mask = new Float64Array(n);
  const f = () => { dropoutForward(out, mask, x, 0, n, p, new Rng(9)); return dot(out, R); };
  f();
  const dx = new Float64Array(n);
  dropoutBackward(dx, R, mask, n);
  assertGrad('dropout x', f, x, dx);
  assert.ok(mask.some((m) => m === 0) && mask.some((m) => m > 0));
});

test('gradcheck recurrent layers alone, with upstream gradients on every output and the final state', (t) => {
  // loss = sum(h_1..T * R) + sum(h_T * Rh) + sum(c_T * Rc): exercises the dx path and the
  // "c.dh / c.dc hold dL/dh_T, dL/dc_T before backward" contract that CharLM leaves at zero.
  for (const [i, cell] of CELL_TYPES.entries()) {
    const rng = new Rng(60 + i), T = 6, B = 2, D = 3, G = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 }[cell] * H, BH = B * H;
    const p: RecurrentParams = { wih: randn(rng, G * D, 0.6), whh: randn(rng, G * H, 0.6), bih: randn(rng, G, 0.3), bhh: randn(rng, G, 0.3) };
    const x = randn(rng, T * B * D, 1), h0 = randn(rng, BH, 0.5), c0 = randn(rng, BH, 0.5);
    const R = randn(rng, T * BH, 1), Rh = randn(rng, BH, 1), Rc = randn(rng, BH, 1);
    const c = createRecurrentCache(cell, T, B, D, H, 'float64');
    const run = () => {
      recurrentForward(c, p, x, 0, h0, 0, c0, 0);
      let s = dot(c.hs, R, BH) + dot(c.hs, Rh, T * BH);
      if (cell === 'lstm') s += dot(c.cs, Rc, T * BH);
      return s;
    };
    const guard = cell === 'rnn_relu' ? kinkGuard(run, () => [c.g], `${cell} layer`) : null;
    const f = guard ? guard.f : run;
    f();
    const dp: RecurrentParams = { wih: new Float64Array(G * D), whh: new Float64Array(G * H), bih: new Float64Array(G), bhh: new Float64Array(G) };
    const dx = new Float64Array(T * B * D);
    c.dh.set(Rh); c.dc.fill(0);
    if (cell === 'lstm') c.dc.set(Rc);
    recurrentBackward(dp, dx, 0, R, 0, c, p);
    const dh0 = c.dh.slice(), dc0 = c.dc.slice();
    const eps = guard ? EPS_RELU : EPS;
    let worst = 0;
    for (const k of ['wih', 'whh', 'bih', 'bhh'] as const) worst = Math.max(worst, assertGrad(`${cell} layer ${k}`, f, p[k] as Float64Array, dp[k], eps));
    worst = Math.max(worst, assertGrad(`${cell} layer x`, f, x, dx, eps), assertGrad(`${cell} layer h0`, f, h0, dh0, eps));
    if (cell === 'lstm') worst = Math.max(worst, assertGrad(`${cell} layer c0`, f, c0, dc0, eps));
    if (guard) assert.equal(guard.crossed, 0, `${cell} layer: ${guard.crossed} evaluations crossed a relu kink`);
    t.diagnostic(`${cell}: max rel err ${worst.toExponential(2)}`);
  }
});

test('gradcheck utilities', () => {
  // numericGradient restores x exactly and is exact up to rounding on a quadratic
  const x = Float64Array.from([0.3, -1.7, 2.5]);
  const g = numericGradient(() => x[0]! * x[0]! + 3 * x[1]! * x[2]!, x, [0, 1, 2]);
  assert.deepEqual([...x], [0.3, -1.7, 2.5]);
  [0.6, 7.5, -5.1].forEach((want, k) => assert.ok(Math.abs(g[k]! - want) < 1e-8, `d/dx${k}`));
  // order 4 is exact on a quartic up to rounding, order 2 is off by eps^2 * f'''/6
  const q = Float64Array.from([0.7]), quartic = () => q[0]! ** 4;
  assert.ok(Math.abs(numericGradient(quartic, q, [0], 1e-2, 4)[0]! - 4 * 0.7 ** 3) < 1e-12);
  assert.ok(Math.abs(numericGradient(quartic, q, [0], 1e-2, 2)[0]! - 4 * 0.7 ** 3 - 4 * 0.7 * 1e-4) < 1e-12);
  // x is restored even when f throws
  assert.throws(() => numericGradient(() => { throw new Error('boom'); }, q, [0]), /boom/);
  assert.equal(q[0], 0.7);
  // float32: divides by the step actually stored
  const x32 = Float32Array.from([1.25]);
  assert.ok(Math.abs(numericGradient(() => 2 * x32[0]!, x32, [0], 1e-3)[0]! - 2) < 1e-6);
  assert.equal(relativeError(0, 0), 0);
  assert.equal(relativeError(1, 1.5), 0.5 / 1.5);
  assert.ok(Number.isNaN(relativeError(NaN, 1)));
  const idx = sampleIndices(100, 10, new Rng(1));
  assert.equal(new Set(idx).size, 10);
  assert.ok(idx.every((i) => i >= 0 && i < 100));
  assert.deepEqual(sampleIndices(4, 10, new Rng(1)), [0, 1, 2, 3]);
  const r = gradcheck(() => 3 * x[0]!, x, [2, 0, 0], { worst: 1, name: 'wrong' });
  assert.ok(r.maxError > 0.3 && r.worst[0]!.index === 0 && r.report.startsWith('wrong: '), r.report);
});

test('summary: max relative error per cell type', (t) => {
  for (const [cell, err] of maxByCell) t.diagnostic(`${cell}: ${err.toExponential(2)}`);
  assert.equal(maxByCell.size, CELL_TYPES.length);
});
