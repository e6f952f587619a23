// Elman RNN layer over a whole sequence (PyTorch nn.RNN):
//   h' = f(W_ih x + b_ih + W_hh h + b_hh),  f = tanh or relu
import type { Arr } from '../core/params.js';
import { getBackend } from '../backend/registry.js';
import { inputProjection, weightGradients, type RecurrentCache, type RecurrentParams } from './recurrent.js';

export function rnnForward(c: RecurrentCache, p: RecurrentParams, x: Arr, xOff: number, h0: Arr, h0Off: number): void {
  const be = getBackend(), { T, B, D, H } = c, BH = B * H, relu = c.cell === 'rnn_relu';
  c.x = x; c.xOff = xOff;
  c.hs.set(h0.subarray(h0Off, h0Off + BH), 0);
  for (let j = 0; j < H; j++) c.bias[j] = p.bih[j] + p.bhh[j];
  inputProjection(c.g, x, xOff, p.wih, c.bias, T * B, D, H);
  for (let t = 0; t < T; t++) {
    be.gemm(false, true, B, H, H, 1, c.hs, t * BH, H, p.whh, 0, H, 1, c.g, t * BH, H);
    be.rnnStepForward(relu, c.hs, (t + 1) * BH, c.g, t * BH, BH);
  }
}

/** Same contract as lstmBackward (without a cell state). */
export function rnnBackward(dp: RecurrentParams, dx: Arr | null, dxOff: number, dy: Arr, dyOff: number,
  c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, relu = c.cell === 'rnn_relu';
  for (let t = T - 1; t >= 0; t--) {
    for (let k = 0; k < BH; k++) c.dh[k] += dy[dyOff + t * BH + k];
    be.rnnStepBackward(relu, c.dg, t * BH, c.dh, c.hs, (t + 1) * BH, BH);
    be.gemm(false, false, B, H, H, 1, c.dg, t * BH, H, p.whh, 0, H, 0, c.dh, 0, H);
  }
  weightGradients(dp, dx, dxOff, c, p, c.dg, c.dg);
}
