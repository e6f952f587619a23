// LSTM time loop, PyTorch's equations and gate order i, f, g, o:
//   i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(W_if x + b_if + W_hf h + b_hf)
//   g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//   c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
// recurrent.ts does the input projection and the weight gradients around these loops.
// Derivation of the backward: docs/backprop.md.
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import {
  addOutputGrad, maskState, prevRow, recurrentGradIn, recurrentInput, stateRow, type RecurrentCache, type RecurrentParams,
} from './recurrent.js';

/** Steps [t0, t1). c.g holds W_ih x_t + b_ih + b_hh; the state rows before t0 hold the state. */
export function lstmForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const be = getBackend(), H = c.H, G = 4 * H, hin = recurrentInput(c), { sizes, offsets } = c.lay;
  for (let t = t0; t < t1; t++) {
    const b = sizes[t]!, r = offsets[t]!, prev = prevRow(c, t) * H, cur = stateRow(c, t);
    be.gemm(false, true, b, G, H, 1, hin, prev, H, p.whh, 0, H, 1, c.g, r * G, G);
    be.lstmStepForward(c.g, r * G, c.cs, cur * H, c.tc, r * H, c.hs, cur * H, c.cs, prev, b, H);
    maskState(c, cur, b);
  }
}

/** Fills c.dg with dL/d(gate pre-activations) for every t; see recurrent.ts sweep(). */
export function lstmBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), H = c.H, G = 4 * H, { sizes, offsets } = c.lay;
  for (let t = c.T - 1; t >= 0; t--) {
    const b = sizes[t]!, r = offsets[t]!;
    addOutputGrad(c, dy, dyOff, t);
    be.lstmStepBackward(c.dg, r * G, c.dc, c.dh, c.g, r * G, c.tc, r * H, c.cs, prevRow(c, t) * H, b, H);
    // dL/dh_{t-1} = dgates_t W_hh
    recurrentGradIn(c, p.whh, c.dg, r * G, G, false, b);
  }
}
