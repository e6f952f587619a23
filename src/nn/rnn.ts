// Elman RNN time loop (PyTorch nn.RNN):
//   h' = f(W_ih x + b_ih + W_hh h + b_hh),  f = tanh or relu
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import {
  addOutputGrad, maskState, prevRow, recurrentGradIn, recurrentInput, stateRow, type RecurrentCache, type RecurrentParams,
} from './recurrent.js';

/** Steps [t0, t1). c.g holds W_ih x_t + b_ih + b_hh; the state rows before t0 hold the state. */
export function rnnForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const be = getBackend(), H = c.H, relu = c.cell === 'rnn_relu', hin = recurrentInput(c), { sizes, offsets } = c.lay;
  for (let t = t0; t < t1; t++) {
    const b = sizes[t]!, r = offsets[t]!, cur = stateRow(c, t);
    be.gemm(false, true, b, H, H, 1, hin, prevRow(c, t) * H, H, p.whh, 0, H, 1, c.g, r * H, H);
    be.rnnStepForward(relu, c.hs, cur * H, c.g, r * H, b * H);
    maskState(c, cur, b);
  }
}

/** Fills c.dg with dL/d(pre-activation) for every t. */
export function rnnBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), H = c.H, relu = c.cell === 'rnn_relu', { sizes, offsets } = c.lay;
  for (let t = c.T - 1; t >= 0; t--) {
    const b = sizes[t]!, r = offsets[t]!;
    addOutputGrad(c, dy, dyOff, t);
    be.rnnStepBackward(relu, c.dg, r * H, c.dh, c.hs, stateRow(c, t) * H, b * H);
    recurrentGradIn(c, p.whh, c.dg, r * H, H, false, b);
  }
}
