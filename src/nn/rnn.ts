// Elman RNN time loop (PyTorch nn.RNN):
//   h' = f(W_ih x + b_ih + W_hh h + b_hh),  f = tanh or relu
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import { addOutputGrad, maskState, recurrentGradIn, recurrentInput, type RecurrentCache, type RecurrentParams } from './recurrent.js';

/** Steps [t0, t1). c.g holds W_ih x_t + b_ih + b_hh; c.hs block t0 holds the state. */
export function rnnForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const be = getBackend(), { B, H } = c, BH = B * H, relu = c.cell === 'rnn_relu', hin = recurrentInput(c);
  for (let t = t0; t < t1; t++) {
    be.gemm(false, true, B, H, H, 1, hin, t * BH, H, p.whh, 0, H, 1, c.g, t * BH, H);
    be.rnnStepForward(relu, c.hs, (t + 1) * BH, c.g, t * BH, BH);
    maskState(c, t + 1);
  }
}

/** Fills c.dg with dL/d(pre-activation) for every t. */
export function rnnBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, relu = c.cell === 'rnn_relu';
  for (let t = T - 1; t >= 0; t--) {
    addOutputGrad(c, dy, dyOff, t);
    be.rnnStepBackward(relu, c.dg, t * BH, c.dh, c.hs, (t + 1) * BH, BH);
    recurrentGradIn(c, p.whh, c.dg, t * BH, H, false);
  }
}
