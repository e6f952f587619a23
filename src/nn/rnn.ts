// Elman RNN time loop (PyTorch nn.RNN):
//   h' = f(W_ih x + b_ih + W_hh h + b_hh),  f = tanh or relu
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import type { RecurrentCache, RecurrentParams } from './recurrent.js';

/** c.g holds W_ih x_t + b_ih + b_hh for every t; c.hs block 0 holds h0. */
export function rnnForward(c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, relu = c.cell === 'rnn_relu';
  for (let t = 0; t < T; t++) {
    be.gemm(false, true, B, H, H, 1, c.hs, t * BH, H, p.whh, 0, H, 1, c.g, t * BH, H);
    be.rnnStepForward(relu, c.hs, (t + 1) * BH, c.g, t * BH, BH);
  }
}

/** Fills c.dg with dL/d(pre-activation) for every t. */
export function rnnBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, relu = c.cell === 'rnn_relu';
  for (let t = T - 1; t >= 0; t--) {
    for (let k = 0; k < BH; k++) c.dh[k] += dy[dyOff + t * BH + k]!;
    be.rnnStepBackward(relu, c.dg, t * BH, c.dh, c.hs, (t + 1) * BH, BH);
    be.gemm(false, false, B, H, H, 1, c.dg, t * BH, H, p.whh, 0, H, 0, c.dh, 0, H);
  }
}
