// Sampled central-difference checks of whole float64 CharLMs (every parameter tensor and the
// initial state), shared by test/gradcheck.test.ts and test/layer-norm.test.ts. Each of them
// passes its own model options and finite-difference constants, and says there why they are
// what they are. A helper module: it registers no tests.
import assert from 'node:assert/strict';
import { CharLM, type CharLMConfig } from '../src/models/char-lm.js';
import { Rng } from '../src/core/rng.js';
import type { CellType } from '../src/nn/recurrent.js';
import { gradcheck, numericGradient, sampleIndices } from '../src/testing/gradcheck.js';
import { randn } from './helpers.js';

/** Vocabulary, embedding and hidden sizes of the models checked. */
export const V = 7, E = 4, H = 5;

/** Time-major ids and targets; about a quarter of the targets are -1 (not predicted). */
export function batch(T: number, B: number, rng: Rng) {
  const ids = new Int32Array(T * B), targets = new Int32Array(T * B);
  for (let n = 0; n < T * B; n++) {
    ids[n] = rng.int(V);
    targets[n] = rng.uniform() < 0.25 ? -1 : rng.int(V);
  }
  targets[0] = rng.int(V); // at least one predicted position
  return { ids, targets };
}

/** One model to check: `dropout` between layers, `rdrop` the recurrent (variational) dropout. */
export interface Setup { cell: CellType; L: number; T: number; B: number; seed: number; dropout?: number; rdrop?: number }

export interface BuildOptions {
  /** More config on top of the setup's (layer_norm, ...). */
  config?: Partial<CharLMConfig>;
  /** Changes the model after the scaling, drawing from the setup's rng before the batch does. */
  perturb?: (model: CharLM, rng: Rng) => void;
}

/**
 * A float64 CharLM with PyTorch's init scaled up (recurrent weights x1.5, head x2) so the
 * hidden state carries signal across steps and the loss depends visibly on every tensor,
 * a random nonzero initial state, and f = mean loss from that state. All of it is drawn
 * from one rng seeded with `seed`, which is returned for the sampling of the checked entries.
 */
export function build({ cell, L, T, B, seed, dropout = 0, rdrop = 0 }: Setup, { config, perturb }: BuildOptions = {}) {
  const rng = new Rng(seed);
  const model = new CharLM({ cell, vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L, dropout, recurrent_dropout: rdrop, ...config }, 'float64').init(rng);
  for (const v of model.params.views) {
    const s = v.name.startsWith('rnn.weight') ? 1.5 : v.name.startsWith('head.') ? 2 : 1;
    for (let i = 0; i < v.size; i++) v.data[i] *= s;
  }
  perturb?.(model, rng);
  const { ids, targets } = batch(T, B, rng);
  const state = model.newState(B);
  // forward() leaves the final state in `state`: every evaluation restarts from these copies,
  // and the initial-state check perturbs them.
  const h0 = randn(rng, state.h.length, 0.5), c0 = randn(rng, state.c.length, 0.5);
  const train = model.config.dropout > 0 || model.config.recurrent_dropout > 0;
  const loss = () => {
    state.h.set(h0); state.c.set(c0);
    // a fresh rng with the same seed every time: the same dropout masks for every evaluation
    const r = model.forward(ids, targets, T, B, state, train ? { train: true, rng: new Rng(seed + 1000) } : {});
    return r.loss / r.count;
  };
  model.zeroGrad();
  loss();
  model.backward();
  // (L, B, H) gradients of the initial state, copied before any further forward
  const dh0 = new Float64Array(L * B * H), dc0 = new Float64Array(cell === 'lstm' ? L * B * H : 0);
  for (let l = 0; l < L; l++) {
    const g = model.initialStateGrad(l);
    dh0.set(g.h, l * B * H);
    if (cell === 'lstm') dc0.set(g.c, l * B * H);
  }
  return { model, loss, h0, c0, dh0, dc0, rng, ids, targets, state };
}

/**
 * relu's loss has a kink where a pre-activation crosses 0, and a finite difference across
 * it is meaningless. Wraps f so that every evaluation compares the sign pattern of all
 * pre-activations (every layer's a_t, c.g) with the unperturbed one; `crossed` counts
 * evaluations that differ. Given `activeLabel`, also insists the units are neither mostly
 * dead nor all active (relu would then be linear), naming activeLabel when they are.
 */
export function kinkGuard(f: () => number, pre: () => ArrayLike<number>[], activeLabel?: string) {
  const signs = () => pre().map((g) => Array.from(g, (v) => (v > 0 ? 1 : 0)).join('')).join('|');
  f();
  const base = signs();
  if (activeLabel !== undefined) {
    const units = base.replaceAll('|', ''), active = [...units].filter((c) => c === '1').length;
    assert.ok(active > 0.3 * units.length && active < units.length, `${activeLabel}: ${active}/${units.length} relu units active`);
  }
  const guard = { crossed: 0, f: () => { const v = f(); if (signs() !== base) guard.crossed++; return v; } };
  return guard;
}

export interface CheckOptions extends BuildOptions {
  tol: number;      // max relative error per checked entry
  eps: number;      // finite-difference step
  epsRelu?: number; // rnn_relu's step (default eps)
  order: 2 | 4;     // of the central differences
  tiny: number;     // denominator floor of the relative error
  samples: number;  // entries checked per tensor (all of them when the tensor is smaller)
  reluActive?: boolean; // rnn_relu: assert that 30% to all but one of the units are active
}

/**
 * Every parameter tensor (sampled) and the initial state of build(s, o) against central
 * differences; rnn_relu drops the entries whose differences cross a kink.
 */
export function checkModel(s: Setup, label: string, o: CheckOptions): { err: number; skipped: number; useTable: boolean } {
  const { model, loss, h0, c0, dh0, dc0, rng } = build(s, o);
  const guard = s.cell === 'rnn_relu' ? kinkGuard(loss, () => model['last']!.s.units.map((c) => c.g), o.reluActive ? label : undefined) : null;
  const f = guard ? guard.f : loss, eps = guard ? o.epsRelu ?? o.eps : o.eps;
  let err = 0, skipped = 0;
  const check = (name: string, x: Float64Array | Float32Array, analytic: ArrayLike<number>) => {
    let indices = sampleIndices(x.length, o.samples, rng);
    if (guard) {
      // drop the entries whose finite differences cross a relu kink (none with the seeds
      // of either file's cases; the count is reported, and most entries must survive)
      const n = indices.length;
      indices = indices.filter((i) => { const c = guard.crossed; numericGradient(f, x, [i], eps, o.order); return guard.crossed === c; });
      skipped += n - indices.length;
      assert.ok(indices.length >= Math.ceil(0.75 * n), `${label} ${name}: ${n - indices.length} of ${n} entries sit at a relu kink`);
    }
    const r = gradcheck(f, x, analytic, { indices, eps, order: o.order, tiny: o.tiny, name: `${label} ${name}` });
    assert.ok(r.maxError <= o.tol, r.report);
    // the check means little if every sampled gradient is ~0
    const big = Math.max(...indices.map((i) => Math.abs(analytic[i]!)));
    assert.ok(big > 1e-4, `${r.report}: largest sampled gradient only ${big}`);
    err = Math.max(err, r.maxError);
  };
  for (const v of model.params.views) check(v.name, v.data, model.grads.get(v.name));
  check('h0', h0, dh0);
  if (s.cell === 'lstm') check('c0', c0, dc0);
  return { err, skipped, useTable: model['last']!.s.useTable };
}
