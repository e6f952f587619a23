// The CharLM options beyond the PyTorch reference (docs/training.md): each one is
// gradient-checked in float64 where it changes the gradient, and shown to do something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharLM, type CharLMConfig } from '../src/models/char-lm.js';
import { Rng } from '../src/core/rng.js';
import { gradcheck, sampleIndices } from '../src/testing/gradcheck.js';
import { pascanuForward } from '../src/nn/pascanu.js';
import { Trainer } from '../src/train/trainer.js';

const V = 7, E = 4, H = 5;

function data(T: number, B: number, rng: Rng) {
  const ids = new Int32Array(T * B), targets = new Int32Array(T * B);
  for (let n = 0; n < T * B; n++) { ids[n] = rng.int(V); targets[n] = rng.int(V); }
  return { ids, targets };
}

/** A float64 model with weights scaled up so every path carries signal. */
function model64(cfg: Partial<CharLMConfig>, seed: number): CharLM {
  const m = new CharLM({ vocab_size: V, embedding_size: E, hidden_size: H, num_layers: 2, ...cfg }, 'float64').init(new Rng(seed));
  const rng = new Rng(seed + 1);
  for (const v of m.params.views) {
    if (v.name.startsWith('rnn.weight')) for (let i = 0; i < v.size; i++) v.data[i] *= 1.5;
    // a learned initial state that is not zero, so its gradient path is exercised
    if (v.name.startsWith('init.')) for (let i = 0; i < v.size; i++) v.data[i] = 0.5 * rng.normal();
  }
  return m;
}

/**
 * Checks every parameter tensor of f = mean loss (+ extra) from a fresh initial state
 * against five-point central differences. opts() gives the forward options of each
 * evaluation (a fixed seed: the same dropout mask every time).
 */
function checkAll(m: CharLM, T: number, B: number, seed: number, opts: () => object = () => ({}), backwardOpts = {}, extra?: () => number,
  fd: { eps: number; order: 2 | 4; tol: number } = { eps: 1e-3, order: 4, tol: 1e-6 }) {
  const { ids, targets } = data(T, B, new Rng(seed));
  const state = m.newState(B);
  const f = () => {
    m.resetState(state);
    const r = m.forward(ids, targets, T, B, state, opts());
    return r.loss / r.count + (extra ? extra() : 0);
  };
  m.zeroGrad();
  m.resetState(state);
  m.forward(ids, targets, T, B, state, opts());
  m.backward(backwardOpts);
  let worst = 0;
  const rng = new Rng(seed + 7);
  for (const v of m.params.views) {
    const g = m.grads.get(v.name).slice();
    const r = gradcheck(f, v.data, g, { indices: sampleIndices(v.size, 15, rng), eps: fd.eps, order: fd.order, tiny: 1e-5, name: v.name });
    assert.ok(r.maxError <= fd.tol, r.report);
    worst = Math.max(worst, r.maxError);
  }
  return worst;
}

test("forget-gate bias: PyTorch's init by default, a number X sets b_ih = X, b_hh = 0 on the f slice", () => {
  const grab = (cfg: Partial<CharLMConfig>) => {
    const m = new CharLM({ cell: 'lstm', vocab_size: V, hidden_size: H, ...cfg }).init(new Rng(1));
    return { bih: m.params.get('rnn.bias_ih_l0'), bhh: m.params.get('rnn.bias_hh_l0') };
  };
  const d = grab({ forget_bias: 1 });
  for (let j = H; j < 2 * H; j++) { assert.equal(d.bih[j], 1); assert.equal(d.bhh[j], 0); }
  // the other gates keep PyTorch's U(-1/sqrt(H), 1/sqrt(H))
  for (let j = 0; j < H; j++) assert.ok(Math.abs(d.bih[j]!) <= 1 / Math.sqrt(H) && d.bih[j] !== 0);
  const two = grab({ forget_bias: 2 });
  assert.equal(two.bih[H], 2);
  const torch = grab({ forget_bias: null });
  assert.ok(Math.abs(torch.bih[H]!) < 1 / Math.sqrt(H) + 1e-7 && torch.bhh[H] !== 0);
  assert.deepEqual(grab({}), torch); // the default
});

test('learned initial state: gradient-checked, receives gradient only when a stream starts, and changes in training', () => {
  for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
    const worst = checkAll(model64({ cell, initial_state: 'learned' }, 3), 5, 2, 4);
    assert.ok(worst < 1e-6, `${cell}: ${worst}`);
  }
  // a carried (not fresh) state gives init.h0 no gradient
  const m = model64({ cell: 'lstm', initial_state: 'learned' }, 3);
  const { ids, targets } = data(4, 2, new Rng(5));
  const s = m.newState(2);
  m.forward(ids, targets, 4, 2, s);
  m.zeroGrad();
  m.forward(ids, targets, 4, 2, s);
  m.backward();
  assert.ok(m.grads.get('init.h0').every((x) => x === 0));
  // training moves it (streams restart at every epoch: a short text)
  const text = Int32Array.from({ length: 200 }, (_, i) => (i * 3) % V);
  const lm = new CharLM({ cell: 'lstm', vocab_size: V, hidden_size: 8, initial_state: 'learned' }).init(new Rng(1));
  const tr = new Trainer(lm, text, { batch: 4, seq: 10, lr: 0.01 });
  for (let i = 0; i < 20; i++) tr.trainStep();
  const h0 = lm.params.get('init.h0'), c0 = lm.params.get('init.c0');
  assert.ok(h0.some((x) => Math.abs(x) > 1e-3) && c0.some((x) => Math.abs(x) > 1e-3), 'init.h0 / init.c0 stayed at 0');
  // and a new state starts from it
  const st = lm.newState(3);
  assert.deepEqual(Array.from(st.h.subarray(8, 16)), Array.from(h0.subarray(0, 8)));
});

test('noisy initial state: N(0, initial_noise²) at each stream start in training, zeros otherwise', () => {
  const m = new CharLM({ cell: 'lstm', vocab_size: V, hidden_size: 50, num_layers: 2, initial_state: 'noisy', initial_noise: 0.3 }).init(new Rng(1));
  assert.ok(m.newState(4).h.every((x) => x === 0), 'no noise without an rng (evaluation, sampling)');
  const s = m.resetState(m.newState(40), new Rng(2));
  let sum = 0, sq = 0;
  for (const x of s.h) { sum += x; sq += x * x; }
  const mean = sum / s.h.length, sd = Math.sqrt(sq / s.h.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(sd - 0.3) < 0.02, `mean ${mean} sd ${sd}`);
  assert.ok(s.c.some((x) => x !== 0));
});

test('sum of all layers\' outputs: gradient-checked, and the head really reads every layer', () => {
  for (const cell of ['lstm', 'gru'] as const) checkAll(model64({ cell, sum_outputs: true, num_layers: 3 }, 6), 5, 2, 7);
  // with the top layer's output weights zeroed, a plain model's head depends only on it;
  // with sum_outputs, layer 0's weights still move the logits
  const m = new CharLM({ cell: 'gru', vocab_size: V, hidden_size: H, num_layers: 2, sum_outputs: true }).init(new Rng(2));
  const { ids } = data(3, 1, new Rng(3));
  m.forward(ids, null, 3, 1, m.newState(1));
  const a = m.logits().slice();
  m.params.get('rnn.weight_hh_l1').fill(0); m.params.get('rnn.weight_ih_l1').fill(0); m.params.get('rnn.bias_ih_l1').fill(0); m.params.get('rnn.bias_hh_l1').fill(0);
  m.forward(ids, null, 3, 1, m.newState(1));
  const b = m.logits().slice();
  m.params.get('rnn.weight_ih_l0').fill(0);
  m.forward(ids, null, 3, 1, m.newState(1));
  assert.notDeepEqual(Array.from(m.logits()), Array.from(b), 'layer 0 does not reach the head');
  assert.notDeepEqual(Array.from(a), Array.from(b));
});

test('variational recurrent dropout: gradient-checked; one mask for every step; off in evaluation', () => {
  for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
    checkAll(model64({ cell, recurrent_dropout: 0.4 }, 8), 6, 2, 9, () => ({ train: true, rng: new Rng(11) }));
  }
  // same mask at every step: a unit dropped from h_{t-1} -> W_hh is dropped at all t. With
  // W_ih = 0 and a state that would be nonzero everywhere, the dropped units' influence is
  // invisible to the next step: compare a train forward with eval.
  const m = new CharLM({ cell: 'rnn_tanh', vocab_size: V, hidden_size: 40, recurrent_dropout: 0.5 }).init(new Rng(4));
  const T = 6, { ids } = data(T, 1, new Rng(1));
  const ev = () => { m.forward(ids, null, T, 1, m.newState(1)); return m.logits().slice(); };
  const e1 = ev(), e2 = ev();
  assert.deepEqual(Array.from(e1), Array.from(e2), 'evaluation is deterministic (no mask)');
  m.forward(ids, null, T, 1, m.newState(1), { train: true, rng: new Rng(5) });
  const mask = m['last']!.s.units[0]!.mask;
  const kept = Array.from(mask).filter((x) => x !== 0);
  assert.ok(kept.length > 5 && kept.length < 35 && kept.every((x) => Math.abs(x - 2) < 1e-6), 'mask holds 0 or 1/(1-p)');
  // the masked copy of h_t that W_hh reads is h_t ⊙ mask at every step
  const c = m['last']!.s.units[0]!;
  for (let t = 0; t <= T; t++) for (let j = 0; j < 40; j++) assert.equal(c.hd[t * 40 + j], Math.fround(c.hs[t * 40 + j]! * mask[j]!));
});

test('Pascanu regularizer: gradient of loss + λΩ checked with dE/dh held constant; Ω behaves as defined', () => {
  for (const cell of ['rnn_tanh', 'rnn_relu'] as const) {
    const m = model64({ cell, num_layers: 2 }, 12), T = 6, B = 2, lambda = 0.7;
    if (cell === 'rnn_relu') for (const v of m.params.views) if (v.name.startsWith('rnn.weight')) for (let i = 0; i < v.size; i++) v.data[i] /= 1.5;
    // v_t = dE/dh_t at the unperturbed weights, held constant as in the paper
    const { ids, targets } = data(T, B, new Rng(13));
    const s = m.newState(B);
    m.recordHiddenGrads(true);
    m.forward(ids, targets, T, B, s);
    m.backward();
    const vs = [0, 1].map((l) => m.hiddenGrads(l).slice());
    m.recordHiddenGrads(false);
    const w = new Float64Array(T * B * H), u = new Float64Array(T * B * H);
    const omega = () => [0, 1].reduce((acc, l) => acc + pascanuForward(cell === 'rnn_relu', T, B, H, m.hiddenStates(l), vs[l]!, m.params.get(`rnn.weight_hh_l${l}`), w, u) / (T * B), 0);
    // relu: a tiny two-point step, so no difference straddles a kink of the loss
    checkAll(m, T, B, 13, () => ({}), { pascanu: lambda }, () => lambda * omega(),
      cell === 'rnn_relu' ? { eps: 1e-6, order: 2, tol: 1e-4 } : undefined);
  }
  // Ω = 0 exactly when every step preserves the gradient norm: W_hh orthogonal and the
  // tanh in its linear regime (tiny inputs) gives Ω ≈ 0; a contracting W_hh gives Ω > 0
  const m = new CharLM({ cell: 'rnn_tanh', vocab_size: V, embedding_size: E, hidden_size: 4, num_layers: 1 }, 'float64').init(new Rng(1));
  const W = m.params.get('rnn.weight_hh_l0');
  const setW = (scale: number) => { W.fill(0); W[1] = scale; W[4 + 2] = scale; W[8 + 3] = scale; W[12] = scale; }; // a scaled permutation
  for (const v of ['embedding.weight', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0']) m.params.get(v).fill(0);
  m.params.get('embedding.weight')[0] = 1e-4;
  const { ids, targets } = data(8, 1, new Rng(2));
  const reg = (scale: number) => { setW(scale); m.zeroGrad(); m.forward(ids, targets, 8, 1, m.newState(1)); return m.backward({ pascanu: 1 }).regularizer; };
  assert.ok(reg(1) < 1e-6, `orthogonal: ${reg(1)}`);
  assert.ok(Math.abs(reg(0.5) - 0.25) < 1e-3, `σ = 0.5 halves every norm: Ω = 0.25, got ${reg(0.5)}`);
  assert.throws(() => { const g = new CharLM({ cell: 'gru', vocab_size: V }); g.forward(ids, targets, 8, 1, g.newState(1)); g.backward({ pascanu: 1 }); }, /vanilla RNNs/);
});
