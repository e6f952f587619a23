// Layer-normalised cells (src/nn/layer-norm.ts, src/nn/ln-cells.ts): the LN rows are
// normalised, LN's backward against central differences, whole layer-norm CharLMs against
// central differences (every cell, both layer-0 paths, recurrent dropout, random γ and β,
// the initial state), the layer alone (dx, dL/dh_T, recorded dL/dh_t), and step ranges.
// Float64 on the reference backend, five-point stencil, like test/gradcheck.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharLM } from '../src/models/char-lm.js';
import { Rng } from '../src/core/rng.js';
import type { Arr, DType } from '../src/core/params.js';
import { LN_EPS, layerNormForward, layerNormBackward } from '../src/nn/layer-norm.js';
import {
  CELL_TYPES, GATES, createRecurrentCache, recordHiddenGrads, recurrentBackward, recurrentForward, recurrentForwardTokens,
  setRecurrentMask, tokenTable, type CellType, type RecurrentCache, type RecurrentParams,
} from '../src/nn/recurrent.js';
import { gradcheck } from '../src/testing/gradcheck.js';
import { loadBackends } from '../src/backend/init.js';
import { allocArray, availableBackends, setBackend } from '../src/backend/registry.js';
import { dot, randn } from './helpers.js';
import { E, H, V, build, checkModel, kinkGuard, type BuildOptions, type Setup } from './model-gradcheck.js';

await loadBackends();
setBackend('ref');

// As test/gradcheck.test.ts, but a smaller step. A normalised entry x̂ reaches a few units
// (up to sqrt(G*H - 1)), so a gain's finite step moves pre-activations several times as
// far, and the loss of the worst entry curves fast enough that the stencil's O(EPS^4)
// truncation error was 3e-4 relative at EPS = 1e-3 (3e-6 at 3e-4, 3e-8 at 1e-4; at 3e-5 it
// is down to 3e-10, so the analytic gradient is right). Rounding error ~1.5 ulp(loss)/EPS
// ~1e-11 absolute, as with test/gradcheck.test.ts's relu step.
const TOL = 1e-6, EPS = 1e-4, ORDER = 4, SAMPLES = 20, TINY = 1e-5;

/** Mean and biased variance of each of `rows` rows of width n. */
function rowMoments(x: ArrayLike<number>, off: number, rows: number, n: number) {
  const out: { mean: number; var: number }[] = [];
  for (let r = 0; r < rows; r++) {
    let s = 0, ss = 0;
    for (let j = 0; j < n; j++) s += x[off + r * n + j]!;
    const m = s / n;
    for (let j = 0; j < n; j++) ss += (x[off + r * n + j]! - m) ** 2;
    out.push({ mean: m, var: ss / n });
  }
  return out;
}

// ---- layerNormForward / layerNormBackward ----

test('layer norm forward: rows normalised before the gain, then γ and β applied', () => {
  const rng = new Rng(1), rows = 6, n = 12;
  const x = randn(rng, rows * n, 2, 3); // variance ~4: x̂'s variance v/(v+eps) is within 3e-6 of 1
  const ones = new Float64Array(n).fill(1), zeros = new Float64Array(n);
  const out = new Float64Array(rows * n), xhat = new Float64Array(rows * n), rstd = new Float64Array(rows);
  layerNormForward(out, 0, xhat, 0, rstd, 0, x, 0, ones, zeros, rows, n);
  assert.deepEqual(out, xhat);
  for (const [r, m] of rowMoments(out, 0, rows, n).entries()) {
    assert.ok(Math.abs(m.mean) < 1e-12, `row ${r} mean ${m.mean}`);
    assert.ok(Math.abs(m.var - 1) < 1e-5, `row ${r} var ${m.var}`);
    // exactly v/(v + eps) = 1 - eps rstd²
    assert.ok(Math.abs(m.var + LN_EPS * rstd[r]! ** 2 - 1) < 1e-12, `row ${r} var ${m.var}, rstd ${rstd[r]}`);
  }
  // gain and bias per column, accumulate adds, and x̂ may overwrite x
  const gamma = randn(rng, n, 0.5, 1), beta = randn(rng, n, 0.5);
  const y = new Float64Array(2 + rows * n).fill(0.25), x2 = x.slice(), rs2 = new Float64Array(rows + 1);
  layerNormForward(y, 2, x2, 0, rs2, 1, x2, 0, gamma, beta, rows, n, true);
  assert.deepEqual(x2, xhat);
  assert.deepEqual(rs2.subarray(1), rstd);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) {
    const want = 0.25 + gamma[j]! * xhat[r * n + j]! + beta[j]!;
    assert.ok(Math.abs(y[2 + r * n + j]! - want) < 1e-14);
  }
  // a constant row normalises to 0 (x - mean = 0), output β
  const c = new Float64Array(n).fill(4), o = new Float64Array(n), h = new Float64Array(n), s = new Float64Array(1);
  layerNormForward(o, 0, h, 0, s, 0, c, 0, gamma, beta, 1, n);
  assert.deepEqual(o, beta);
});

test('gradcheck layer norm (x, γ, β; accumulate and in place)', (t) => {
  const rng = new Rng(2), rows = 4, n = 9;
  const x = randn(rng, rows * n, 1.5, 0.7), gamma = randn(rng, n, 0.4, 1), beta = randn(rng, n, 0.4);
  const R = randn(rng, rows * n, 1);
  const out = new Float64Array(rows * n), xhat = new Float64Array(rows * n), rstd = new Float64Array(rows);
  const f = () => { layerNormForward(out, 0, xhat, 0, rstd, 0, x, 0, gamma, beta, rows, n); return dot(out, R); };
  f();
  // backward accumulates into dγ, dβ (and dx when asked): start them away from 0
  const dx = new Float64Array(rows * n).fill(0.5), dgamma = new Float64Array(n).fill(-1), dbeta = new Float64Array(n).fill(2);
  layerNormBackward(dx, 0, dgamma, dbeta, R, 0, xhat, 0, rstd, 0, gamma, rows, n, true);
  for (let k = 0; k < dx.length; k++) dx[k] -= 0.5;
  for (let j = 0; j < n; j++) { dgamma[j] += 1; dbeta[j] -= 2; }
  let worst = 0;
  for (const [name, v, g] of [['x', x, dx], ['gamma', gamma, dgamma], ['beta', beta, dbeta]] as const) {
    const r = gradcheck(f, v, g, { eps: EPS, order: ORDER, tiny: TINY, name: `layer norm ${name}` });
    assert.ok(r.maxError <= TOL, r.report);
    worst = Math.max(worst, r.maxError);
  }
  // in place (dx = dout) and without dβ give the same dx
  const d2 = R.slice(), dg2 = new Float64Array(n);
  layerNormBackward(d2, 0, dg2, null, d2, 0, xhat, 0, rstd, 0, gamma, rows, n);
  for (let k = 0; k < dx.length; k++) assert.ok(Math.abs(d2[k]! - dx[k]!) < 1e-12);
  t.diagnostic(`max rel err ${worst.toExponential(2)}`);
});

// ---- whole layer-norm CharLMs ----

/** The layer-norm gains and biases moved away from 1 and 0, so that γ and β matter. */
function perturbLN(model: CharLM, rng: Rng): void {
  for (const v of model.params.views) {
    if (!v.name.startsWith('rnn.ln_')) continue;
    const gain = v.name.includes('_weight_');
    for (let i = 0; i < v.size; i++) v.data[i] = gain ? 1 + 0.3 * rng.normal() : 0.2 * rng.normal();
  }
}

/**
 * The models of test/gradcheck.test.ts (test/model-gradcheck.ts build()) with layer_norm and
 * random γ/β; Setup.rdrop adds recurrent dropout.
 */
const LN_MODEL: BuildOptions = { config: { layer_norm: true }, perturb: perturbLN };

const layers = (model: CharLM): RecurrentCache[] => model['last']!.s.units;

const cases: Setup[] = [];
for (const [i, cell] of CELL_TYPES.entries()) {
  cases.push({ cell, L: 1, T: 7, B: 2, seed: 110 + i });                          // token table (T*B >= V)
  cases.push({ cell, L: 2, T: 5, B: 3, seed: 120 + i });
  cases.push({ cell, L: 2, T: 3, B: 2, seed: 130 + i });                          // direct projection (T*B < V)
  cases.push({ cell, L: 2, T: 6, B: 2, seed: 140 + i, rdrop: 0.3, dropout: 0.3 }); // recurrent dropout, table
  cases.push({ cell, L: 1, T: 3, B: 2, seed: 150 + i, rdrop: 0.4 });             // recurrent dropout, direct
}

const worstByCell = new Map<string, number>();
for (const s of cases) {
  const label = `${s.cell} L=${s.L} T=${s.T} B=${s.B}${s.dropout ? ` dropout=${s.dropout}` : ''}${s.rdrop ? ` recurrent_dropout=${s.rdrop}` : ''}`;
  test(`gradcheck layer-norm CharLM ${label}`, (t) => {
    const { err, skipped, useTable } = checkModel(s, label, { ...LN_MODEL, tol: TOL, eps: EPS, order: ORDER, tiny: TINY, samples: SAMPLES });
    assert.equal(useTable, s.T * s.B >= V);
    worstByCell.set(s.cell, Math.max(worstByCell.get(s.cell) ?? 0, err));
    t.diagnostic(`${useTable ? 'token table' : 'direct projection'}; max rel err ${err.toExponential(2)}${s.cell === 'rnn_relu' ? `, ${skipped} entries skipped at relu kinks` : ''}`);
  });
}

test('recurrent dropout and γ/β change the layer-norm gradients (the cases above are not trivial)', () => {
  const s: Setup = { cell: 'gru', L: 2, T: 6, B: 2, seed: 140, rdrop: 0.3 };
  const { model, h0, c0, ids, targets, state } = build(s, LN_MODEL);
  const a = model.grads.data.slice();
  const run = () => {
    model.zeroGrad();
    state.h.set(h0); state.c.set(c0);
    model.forward(ids, targets, s.T, s.B, state);
    model.backward();
    return model.grads.data.slice();
  };
  const evalGrad = run();
  let d = 0;
  for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs(a[k]! - evalGrad[k]!));
  assert.ok(d > 1e-3, `train vs eval gradient differ by ${d}`);
  for (const v of model.params.views) if (v.name.startsWith('rnn.ln_')) v.data.fill(v.name.includes('_weight_') ? 1 : 0);
  const plain = run();
  d = 0;
  for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs(plain[k]! - evalGrad[k]!));
  assert.ok(d > 1e-3);
});

test('inside a layer-norm cell every step\'s W_hh h̃ and W_ih x rows are normalised', () => {
  for (const cell of CELL_TYPES) {
    const { model } = build({ cell, L: 2, T: 5, B: 3, seed: 7, rdrop: 0.3 }, LN_MODEL);
    const GH = GATES[cell] * H;
    for (const c of layers(model)) {
      const ln = c.ln!;
      const hat = c.D === E ? ln.tabHat : ln.xhat, rs = c.D === E ? ln.tabRstd : ln.xRstd, rows = c.D === E ? V : c.T * c.B;
      for (const [what, x, r, n] of [['W_hh h', ln.hhat, ln.hRstd, c.T * c.B], ['W_ih x', hat, rs, rows]] as const) {
        for (const [k, m] of rowMoments(x, 0, n, GH).entries()) {
          assert.ok(Math.abs(m.mean) < 1e-12, `${cell} ${what} row ${k}: mean ${m.mean}`);
          assert.ok(Math.abs(m.var + LN_EPS * r[k]! ** 2 - 1) < 1e-12, `${cell} ${what} row ${k}: var ${m.var}`);
          // 1 - var = eps / (v + eps) for a raw variance v: near 1 unless v is tiny (a dead relu layer's W_hh 0 has v = 0)
          if (1 / r[k]! ** 2 - LN_EPS > 1e-2) assert.ok(Math.abs(m.var - 1) < 1e-3, `${cell} ${what} row ${k}: var ${m.var}`);
        }
      }
      if (cell === 'lstm') {
        for (const [k, m] of rowMoments(ln.chat, 0, c.T * c.B, H).entries()) {
          assert.ok(Math.abs(m.mean) < 1e-12 && Math.abs(m.var + LN_EPS * ln.cRstd[k]! ** 2 - 1) < 1e-12, `lstm c row ${k}: ${JSON.stringify(m)}`);
        }
      }
    }
  }
});

test('layer-norm CharLM with γ = 1, β = 0 differs from the plain one (LN is applied)', () => {
  const rng = new Rng(3), T = 4, B = 2;
  const cfg = { cell: 'lstm' as const, vocab_size: V, embedding_size: E, hidden_size: H, forget_bias: null };
  const plain = new CharLM(cfg, 'float64').init(rng), ln = new CharLM({ ...cfg, layer_norm: true }, 'float64').init(new Rng(0));
  for (const v of plain.params.views) ln.params.get(v.name).set(v.data);
  const ids = Int32Array.from({ length: T * B }, () => rng.int(V));
  plain.forward(ids, null, T, B, plain.newState(B));
  ln.forward(ids, null, T, B, ln.newState(B));
  let d = 0;
  for (let k = 0; k < T * B * V; k++) d = Math.max(d, Math.abs(plain.logits()[k]! - ln.logits()[k]!));
  assert.ok(d > 1e-3, `logits differ by ${d}`);
});

// ---- the layer alone ----

function layerParams(cell: CellType, D: number, rng: Rng): { p: RecurrentParams; dp: RecurrentParams } {
  const G = GATES[cell] * H, lstm = cell === 'lstm';
  const p: RecurrentParams = {
    wih: randn(rng, G * D, 0.6), whh: randn(rng, G * H, 0.6), bih: randn(rng, G, 0.3), bhh: randn(rng, G, 0.3),
    ln: { ihWeight: randn(rng, G, 0.3, 1), ihBias: randn(rng, G, 0.2), hhWeight: randn(rng, G, 0.3, 1), hhBias: randn(rng, G, 0.2) },
  };
  if (lstm) { p.ln!.cWeight = randn(rng, H, 0.3, 1); p.ln!.cBias = randn(rng, H, 0.2); }
  const Z = (n: number) => new Float64Array(n);
  const dp: RecurrentParams = { wih: Z(G * D), whh: Z(G * H), bih: Z(G), bhh: Z(G), ln: { ihWeight: Z(G), ihBias: Z(G), hhWeight: Z(G), hhBias: Z(G) } };
  if (lstm) { dp.ln!.cWeight = Z(H); dp.ln!.cBias = Z(H); }
  return { p, dp };
}

test('gradcheck layer-norm recurrent layers alone: dx, dL/dh_T, dL/dc_T, recurrent mask', (t) => {
  // loss = sum(h_1..T * R) + sum(h_T * Rh) + sum(c_T * Rc), as in test/gradcheck.test.ts
  for (const [i, cell] of CELL_TYPES.entries()) for (const masked of [false, true]) {
    const rng = new Rng(160 + i), T = 6, B = 2, D = 3, BH = B * H;
    const { p, dp } = layerParams(cell, D, rng);
    const x = randn(rng, T * B * D, 1), h0 = randn(rng, BH, 0.5), c0 = randn(rng, BH, 0.5);
    const R = randn(rng, T * BH, 1), Rh = randn(rng, BH, 1), Rc = randn(rng, BH, 1);
    const c = createRecurrentCache(cell, T, B, D, H, 'float64', true);
    if (masked) { const m = setRecurrentMask(c, true, 'float64'); for (let k = 0; k < BH; k++) m[k] = rng.uniform() < 0.3 ? 0 : 1 / 0.7; }
    const run = () => {
      recurrentForward(c, p, x, 0, h0, 0, c0, 0);
      let s = dot(c.hs, R, BH) + dot(c.hs, Rh, T * BH);
      if (cell === 'lstm') s += dot(c.cs, Rc, T * BH);
      return s;
    };
    const guard = cell === 'rnn_relu' ? kinkGuard(run, () => [c.g]) : null;
    const f = guard ? guard.f : run;
    f();
    const dx = new Float64Array(T * B * D);
    c.dh.set(Rh); c.dc.fill(0);
    if (cell === 'lstm') c.dc.set(Rc);
    recurrentBackward(dp, dx, 0, R, 0, c, p);
    const dh0 = c.dh.slice(), dc0 = c.dc.slice();
    const eps = EPS, label = `${cell}${masked ? ' masked' : ''} layer`;
    let worst = 0;
    const check = (name: string, v: Arr, g: ArrayLike<number>) => {
      const r = gradcheck(f, v, g, { eps, order: ORDER, tiny: TINY, name: `${label} ${name}` });
      assert.ok(r.maxError <= TOL, r.report);
      worst = Math.max(worst, r.maxError);
    };
    for (const k of ['wih', 'whh', 'bih', 'bhh'] as const) check(k, p[k], dp[k]);
    for (const k of ['ihWeight', 'ihBias', 'hhWeight', 'hhBias', 'cWeight', 'cBias'] as const) if (p.ln![k]) check(`ln.${k}`, p.ln![k]!, dp.ln![k]!);
    check('x', x, dx);
    check('h0', h0, dh0);
    if (cell === 'lstm') check('c0', c0, dc0);
    if (guard) assert.equal(guard.crossed, 0, `${label}: ${guard.crossed} evaluations crossed a relu kink`);
    t.diagnostic(`${label}: max rel err ${worst.toExponential(2)}`);
  }
});

test('recorded dL/dh_t of a layer-norm layer equals dL/dh0 of the same layer restarted at step t', () => {
  // dL/dh_t (total) = R_t + the gradient w.r.t. the initial state of a run over steps t+1..T-1 from (h_t, c_t)
  for (const [i, cell] of CELL_TYPES.entries()) {
    const rng = new Rng(170 + i), T = 5, B = 2, D = 3, BH = B * H;
    const { p, dp } = layerParams(cell, D, rng);
    const x = randn(rng, T * B * D, 1), h0 = randn(rng, BH, 0.5), c0 = randn(rng, BH, 0.5), R = randn(rng, T * BH, 1);
    const mask = Float64Array.from({ length: BH }, () => (rng.uniform() < 0.3 ? 0 : 1 / 0.7));
    const c = createRecurrentCache(cell, T, B, D, H, 'float64', true);
    setRecurrentMask(c, true, 'float64').set(mask);
    recordHiddenGrads(c, true, 'float64');
    recurrentForward(c, p, x, 0, h0, 0, c0, 0);
    c.dh.fill(0); c.dc.fill(0);
    recurrentBackward(dp, null, 0, R, 0, c, p);
    for (let t = 0; t < T - 1; t++) {
      const k = T - t - 1, r = createRecurrentCache(cell, k, B, D, H, 'float64', true);
      setRecurrentMask(r, true, 'float64').set(mask);
      recurrentForward(r, p, x, (t + 1) * B * D, c.hs, (t + 1) * BH, c.cs, (t + 1) * BH);
      r.dh.fill(0); r.dc.fill(0);
      recurrentBackward(layerParams(cell, D, rng).dp, null, 0, R.subarray((t + 1) * BH), 0, r, p);
      for (let j = 0; j < BH; j++) {
        const want = R[t * BH + j]! + r.dh[j]!;
        assert.ok(Math.abs(c.dhs[t * BH + j]! - want) < 1e-12 * Math.max(1, Math.abs(want)), `${cell} t=${t} [${j}]: ${c.dhs[t * BH + j]} vs ${want}`);
      }
    }
  }
});

// ---- step ranges ----

test('layer-norm layers: running steps in pieces equals one run, exactly (direct and token inputs, every backend)', () => {
  const pieces = [[0, 2], [2, 3], [3, 7], [7, 8]];
  const T = 8, B = 3, D = 4, BH = B * H;
  for (const backend of availableBackends()) for (const dtype of ['float32', 'float64'] as DType[]) {
    if (dtype === 'float64' && backend !== 'ref') continue; // float64 runs on the reference kernels only
    setBackend(backend);
    try {
      for (const [i, cell] of CELL_TYPES.entries()) for (const masked of [false, true]) {
        const rng = new Rng(180 + i), G = GATES[cell] * H;
        const A = (src: Float64Array) => { const a = allocArray(src.length, dtype); a.set(src); return a; };
        const lp = layerParams(cell, D, rng).p, ln = lp.ln!;
        const p: RecurrentParams = { wih: A(lp.wih as Float64Array), whh: A(lp.whh as Float64Array), bih: A(lp.bih as Float64Array), bhh: A(lp.bhh as Float64Array),
          ln: { ihWeight: A(ln.ihWeight as Float64Array), ihBias: A(ln.ihBias as Float64Array), hhWeight: A(ln.hhWeight as Float64Array), hhBias: A(ln.hhBias as Float64Array) } };
        if (cell === 'lstm') { p.ln!.cWeight = A(ln.cWeight as Float64Array); p.ln!.cBias = A(ln.cBias as Float64Array); }
        const x = A(randn(rng, T * B * D, 1)), h0 = A(randn(rng, BH, 0.5)), c0 = A(randn(rng, BH, 0.5));
        const emb = A(randn(rng, V * D, 1)), ids = Int32Array.from({ length: T * B }, () => rng.int(V));
        const mask = Float64Array.from({ length: BH }, () => (rng.uniform() < 0.3 ? 0 : 2));
        const run = (ranges: number[][], tokens: boolean) => {
          const c = createRecurrentCache(cell, T, B, D, H, dtype, true);
          if (masked) setRecurrentMask(c, true, dtype).set(mask);
          const table = allocArray(V * G, dtype);
          if (tokens) tokenTable(table, emb, V, c, p);
          for (const [t0, t1] of ranges) {
            if (tokens) recurrentForwardTokens(c, p, table, ids, h0, 0, c0, 0, t0, t1);
            else recurrentForward(c, p, x, 0, h0, 0, c0, 0, t0, t1);
          }
          return c;
        };
        for (const tokens of [false, true]) {
          const one = run([[0, T]], tokens), split = run(pieces, tokens), what = `${backend} ${dtype} ${cell}${masked ? ' masked' : ''}${tokens ? ' tokens' : ''}`;
          assert.deepEqual(split.hs, one.hs, `${what}: h`);
          assert.deepEqual(split.cs, one.cs, `${what}: c`);
          assert.deepEqual(split.ln!.hhat, one.ln!.hhat, `${what}: LN(W_hh h)`);
          assert.ok(one.hs.every(Number.isFinite) && one.hs.some((v) => v !== 0), what);
        }
      }
    } finally {
      setBackend('ref');
    }
  }
});

test('summary: layer-norm CharLM max relative error per cell type', (t) => {
  for (const [cell, err] of worstByCell) t.diagnostic(`${cell}: ${err.toExponential(2)}`);
  assert.equal(worstByCell.size, CELL_TYPES.length);
});
