// Time loops of the layer-normalised cells (Ba, Kiros & Hinton 2016, "Layer Normalization"),
// LN(v; γ, β) = γ ⊙ (v - mean(v)) / sqrt(var(v) + 1e-5) + β over one row of G*H:
//   a_t = LN(W_ih x_t; γ_ih, β_ih) + b_ih + LN(W_hh h̃_{t-1}; γ_hh, β_hh) + b_hh
//   rnn:  h_t = f(a_t)
//   lstm: i, f, g, o from a_t as PyTorch;  c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(LN(c_t; γ_c, β_c))
//   gru:  gi = LN(W_ih x)+b_ih, gh = LN(W_hh h̃)+b_hh;  r, z = σ(gi + gh);  n = tanh(gi_n + r ⊙ gh_n)
//         h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
// h̃ = recurrentInput(c): h itself, or h ⊙ mask under variational recurrent dropout.
// recurrent.ts does the input side for the whole step range first, so c.g holds
// γ_ih ⊙ x̂ + β_ih + b_ih (+ b_hh for lstm and rnn, where both biases meet in one sum).
// Per step only W_hh h̃ (one GEMM), its LN and the cell run. GRU and Elman use the plain
// step kernels on the LN'd sums; the LSTM step is composed here because LN(c_t) sits
// inside it. Gradients of W_hh, b_hh and the input side are batched after the sweep
// (recurrent.ts); γ_hh, β_hh, γ_c, β_c add up here.
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import { layerNormForward, layerNormBackward } from './layer-norm.js';
import {
  GATES, addOutputGrad, maskState, prevRow, recurrentGradIn, recurrentInput, stateRow, type RecurrentCache, type RecurrentParams,
} from './recurrent.js';

// ---- the recurrent LN, shared by the three cells ----

/**
 * ln.hhat rows of step t = x̂ of W_hh h̃_{t-1} (B_t, G*H); out at those rows (+= when
 * accumulate) γ_hh ⊙ x̂ + beta.
 */
function recurrentLN(c: RecurrentCache, p: RecurrentParams, out: Arr, beta: Arr, accumulate: boolean, t: number): void {
  const ln = c.ln!, H = c.H, GH = GATES[c.cell] * H, b = c.lay.sizes[t]!, r = c.lay.offsets[t]!, o = r * GH;
  getBackend().gemm(false, true, b, GH, H, 1, recurrentInput(c), prevRow(c, t) * H, H, p.whh, 0, H, 0, ln.hhat, o, GH);
  layerNormForward(out, o, ln.hhat, o, ln.hRstd, r, ln.hhat, o, p.ln!.hhWeight, beta, b, GH, accumulate);
}

/**
 * Backward of recurrentLN at step t, dout (B_t, G*H) at its rows being dL/d(its output):
 * dγ_hh, dβ_hh, ln.dhh rows = dL/d(W_hh h̃_{t-1}), and c.dh (+)= dL/dh_{t-1} through it.
 */
function recurrentLNBackward(c: RecurrentCache, p: RecurrentParams, dp: RecurrentParams, dout: Arr, t: number, accumulate: boolean): void {
  const ln = c.ln!, GH = GATES[c.cell] * c.H, b = c.lay.sizes[t]!, r = c.lay.offsets[t]!, o = r * GH;
  layerNormBackward(ln.dhh, o, dp.ln!.hhWeight, dp.ln!.hhBias, dout, o, ln.hhat, o, ln.hRstd, r, p.ln!.hhWeight, b, GH);
  recurrentGradIn(c, p.whh, ln.dhh, o, GH, accumulate, b);
}

// ---- Elman ----

/** Steps [t0, t1); the state rows before t0 hold the state. */
export function lnRnnForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const be = getBackend(), H = c.H, relu = c.cell === 'rnn_relu', { sizes, offsets } = c.lay;
  for (let t = t0; t < t1; t++) {
    const b = sizes[t]!, cur = stateRow(c, t);
    recurrentLN(c, p, c.g, p.ln!.hhBias, true, t); // c.g rows of step t = a_t
    be.rnnStepForward(relu, c.hs, cur * H, c.g, offsets[t]! * H, b * H);
    maskState(c, cur, b);
  }
}

/** c.dg = dL/da_t for every t. */
export function lnRnnBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams, dp: RecurrentParams): void {
  const be = getBackend(), H = c.H, relu = c.cell === 'rnn_relu', { sizes, offsets } = c.lay;
  for (let t = c.T - 1; t >= 0; t--) {
    addOutputGrad(c, dy, dyOff, t);
    be.rnnStepBackward(relu, c.dg, offsets[t]! * H, c.dh, c.hs, stateRow(c, t) * H, sizes[t]! * H);
    recurrentLNBackward(c, p, dp, c.dg, t, false);
  }
}

// ---- GRU ----

/** Steps [t0, t1); c.g holds gi; the state rows before t0 hold the state. */
export function lnGruForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const be = getBackend(), ln = c.ln!, H = c.H, G = 3 * H, { sizes, offsets } = c.lay;
  for (let j = 0; j < G; j++) ln.hbias[j] = p.ln!.hhBias[j]! + p.bhh[j]!;
  for (let t = t0; t < t1; t++) {
    const b = sizes[t]!, r = offsets[t]!, cur = stateRow(c, t);
    recurrentLN(c, p, c.gh, ln.hbias, false, t); // c.gh rows of step t = gh_t
    be.gruStepForward(c.g, r * G, c.gh, r * G, c.hs, cur * H, c.hs, prevRow(c, t) * H, b, H);
    maskState(c, cur, b);
  }
}

/** c.dg = dL/dgi_t, c.dgh = dL/dgh_t for every t. */
export function lnGruBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams, dp: RecurrentParams): void {
  const be = getBackend(), H = c.H, G = 3 * H, { sizes, offsets } = c.lay;
  for (let t = c.T - 1; t >= 0; t--) {
    const b = sizes[t]!, r = offsets[t]!;
    addOutputGrad(c, dy, dyOff, t);
    // leaves z ⊙ dh in c.dh; the path through gh is added next
    be.gruStepBackward(c.dg, r * G, c.dgh, r * G, c.dh, c.g, r * G, c.gh, r * G, c.hs, prevRow(c, t) * H, b, H);
    recurrentLNBackward(c, p, dp, c.dgh, t, true);
  }
}

// ---- LSTM ----

/** Steps [t0, t1); the state rows before t0 hold the state. */
export function lnLstmForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  for (let t = t0; t < t1; t++) {
    recurrentLN(c, p, c.g, p.ln!.hhBias, true, t); // c.g rows of step t = a_t
    lstmStep(c, p, t);
    maskState(c, stateRow(c, t), c.lay.sizes[t]!);
  }
}

/**
 * Gate pre-activations (B_t, 4H) -> activations in place; c_t -> its state row of c.cs,
 * x̂ of c_t -> ln.chat, tanh(LN(c_t)) -> c.tc, h_t -> its state row of c.hs.
 * The transcendentals run in backend kernels (with Math.exp and Math.tanh here a
 * 1x128 training step took 3x as long): the plain LSTM step gives the gates and c_t
 * (its tanh(c_t) and h go to c.tc and c.hs, overwritten below), the Elman tanh step
 * tanh(LN(c_t)), in place (an elementwise map; every backend allows out = in).
 */
function lstmStep(c: RecurrentCache, p: RecurrentParams, t: number): void {
  const be = getBackend(), ln = c.ln!, H = c.H, G = 4 * H, B = c.lay.sizes[t]!, r = c.lay.offsets[t]!;
  const rt = r * H, prev = prevRow(c, t) * H, cur = stateRow(c, t) * H;
  be.lstmStepForward(c.g, r * G, c.cs, cur, c.tc, rt, c.hs, cur, c.cs, prev, B, H);
  layerNormForward(c.tc, rt, ln.chat, rt, ln.cRstd, r, c.cs, cur, p.ln!.cWeight!, p.ln!.cBias!, B, H);
  be.rnnStepForward(false, c.tc, rt, c.tc, rt, B * H);
  const g = c.g, tc = c.tc, hs = c.hs;
  for (let b = 0; b < B; b++) {
    const o = r * G + b * G + 3 * H, k = b * H;
    for (let j = 0; j < H; j++) hs[cur + k + j] = g[o + j]! * tc[rt + k + j]!; // h = o ⊙ tanh(LN(c_t))
  }
}

/** c.dg = dL/da_t for every t; c.dc carries dL/dc_t back to dL/dc0. */
export function lnLstmBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams, dp: RecurrentParams): void {
  for (let t = c.T - 1; t >= 0; t--) {
    addOutputGrad(c, dy, dyOff, t);
    lstmStepBackward(c, p, dp, t);
    recurrentLNBackward(c, p, dp, c.dg, t, false); // dL/dh_{t-1} = (dL/d(W_hh h̃)) W_hh ⊙ mask
  }
}

/** From c.dh = dL/dh_t and c.dc = dL/dc_t (later steps): c.dg rows of step t, dγ_c, dβ_c; c.dc = dL/dc_{t-1}. */
function lstmStepBackward(c: RecurrentCache, p: RecurrentParams, dp: RecurrentParams, t: number): void {
  const ln = c.ln!, H = c.H, G = 4 * H, B = c.lay.sizes[t]!, r = c.lay.offsets[t]!, rt = r * H, prev = prevRow(c, t) * H;
  const a = c.g, dg = c.dg, dh = c.dh, dc = c.dc, tc = c.tc, cs = c.cs, dcn = ln.dcn;
  // dL/dh -> do, and dL/d LN(c_t) through tanh into the scratch dcn
  for (let b = 0; b < B; b++) {
    const gr = r * G + b * G + 3 * H, k = b * H;
    for (let j = 0; j < H; j++) {
      const o = a[gr + j]!, th = tc[rt + k + j]!, d = dh[k + j]!;
      dg[gr + j] = d * th * o * (1 - o);
      dcn[k + j] = d * o * (1 - th * th);
    }
  }
  // dc += dL/dc_t through LN(c_t): the total gradient of c_t
  layerNormBackward(dc, 0, dp.ln!.cWeight!, dp.ln!.cBias!, dcn, 0, ln.chat, rt, ln.cRstd, r, p.ln!.cWeight!, B, H, true);
  for (let b = 0; b < B; b++) {
    const gr = r * G + b * G, k = b * H;
    for (let j = 0; j < H; j++) {
      const i = a[gr + j]!, f = a[gr + H + j]!, g = a[gr + 2 * H + j]!, d = dc[k + j]!;
      dg[gr + j] = d * g * i * (1 - i);
      dg[gr + H + j] = d * cs[prev + k + j]! * f * (1 - f);
      dg[gr + 2 * H + j] = d * i * (1 - g * g);
      dc[k + j] = d * f;
    }
  }
}
