// LSTM layer over a whole sequence, PyTorch's equations and gate order i, f, g, o:
//   i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(W_if x + b_if + W_hf h + b_hf)
//   g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//   c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
// Backward derivation: docs/backprop.md.
import type { Arr } from '../core/params.js';
import { getBackend } from '../backend/registry.js';
import { inputProjection, weightGradients, type RecurrentCache, type RecurrentParams } from './recurrent.js';

/** Runs T steps from (h0, c0) (each (B,H) at h0Off/c0Off); h_t lands in c.hs block t+1, c_t in c.cs. */
export function lstmForward(c: RecurrentCache, p: RecurrentParams, x: Arr, xOff: number,
  h0: Arr, h0Off: number, c0: Arr, c0Off: number): void {
  const be = getBackend(), { T, B, D, H } = c, BH = B * H, G = 4 * H;
  c.x = x; c.xOff = xOff;
  c.hs.set(h0.subarray(h0Off, h0Off + BH), 0);
  c.cs.set(c0.subarray(c0Off, c0Off + BH), 0);
  // both biases enter once, with the input projection
  for (let j = 0; j < G; j++) c.bias[j] = p.bih[j] + p.bhh[j];
  inputProjection(c.g, x, xOff, p.wih, c.bias, T * B, D, G);
  for (let t = 0; t < T; t++) {
    be.gemm(false, true, B, G, H, 1, c.hs, t * BH, H, p.whh, 0, H, 1, c.g, t * B * G, G);
    be.lstmStepForward(c.g, t * B * G, c.cs, (t + 1) * BH, c.tc, t * BH, c.hs, (t + 1) * BH, c.cs, t * BH, B, H);
  }
}

/**
 * Backpropagation through time. Before the call c.dh / c.dc hold dL/dh_T and dL/dc_T
 * (zero when the final state feeds nothing); dy (T*B, H) at dyOff is dL/dh_t from above.
 * Accumulates into dp, writes dx (if given); leaves dL/dh0, dL/dc0 in c.dh, c.dc.
 */
export function lstmBackward(dp: RecurrentParams, dx: Arr | null, dxOff: number, dy: Arr, dyOff: number,
  c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, G = 4 * H;
  for (let t = T - 1; t >= 0; t--) {
    for (let k = 0; k < BH; k++) c.dh[k] += dy[dyOff + t * BH + k];
    be.lstmStepBackward(c.dg, t * B * G, c.dc, c.dh, c.g, t * B * G, c.tc, t * BH, c.cs, t * BH, B, H);
    // dL/dh_{t-1} = dgates_t W_hh
    be.gemm(false, false, B, H, G, 1, c.dg, t * B * G, G, p.whh, 0, H, 0, c.dh, 0, H);
  }
  weightGradients(dp, dx, dxOff, c, p, c.dg, c.dg);
}
