// LSTM time loop, PyTorch's equations and gate order i, f, g, o:
//   i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(W_if x + b_if + W_hf h + b_hf)
//   g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//   c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
// recurrent.ts does the input projection and the weight gradients around these loops.
// Derivation of the backward: docs/backprop.md.
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import { addOutputGrad, maskState, recurrentGradIn, recurrentInput, type RecurrentCache, type RecurrentParams } from './recurrent.js';

/** Steps [t0, t1). c.g holds W_ih x_t + b_ih + b_hh; c.hs / c.cs block t0 hold the state. */
export function lstmForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const be = getBackend(), { B, H } = c, BH = B * H, G = 4 * H, hin = recurrentInput(c);
  for (let t = t0; t < t1; t++) {
    be.gemm(false, true, B, G, H, 1, hin, t * BH, H, p.whh, 0, H, 1, c.g, t * B * G, G);
    be.lstmStepForward(c.g, t * B * G, c.cs, (t + 1) * BH, c.tc, t * BH, c.hs, (t + 1) * BH, c.cs, t * BH, B, H);
    maskState(c, t + 1);
  }
}

/** Fills c.dg with dL/d(gate pre-activations) for every t; see recurrent.ts sweep(). */
export function lstmBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, G = 4 * H;
  for (let t = T - 1; t >= 0; t--) {
    addOutputGrad(c, dy, dyOff, t);
    be.lstmStepBackward(c.dg, t * B * G, c.dc, c.dh, c.g, t * B * G, c.tc, t * BH, c.cs, t * BH, B, H);
    // dL/dh_{t-1} = dgates_t W_hh
    recurrentGradIn(c, p.whh, c.dg, t * B * G, G, false);
  }
}
