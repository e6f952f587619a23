// GRU time loop, PyTorch's variant (gate order r, z, n; the reset gate multiplies
// W_hn h + b_hn, ONNX linear_before_reset = 1):
//   r = σ(W_ir x + b_ir + W_hr h + b_hr)   z = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   h' = (1 - z) ⊙ n + z ⊙ h
// The recurrent part gh = W_hh h + b_hh is kept per step because r multiplies its n third.
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import type { RecurrentCache, RecurrentParams } from './recurrent.js';

/** c.g holds W_ih x_t + b_ih for every t; c.hs block 0 holds h0. */
export function gruForward(c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, G = 3 * H;
  be.fillRows(c.gh, 0, p.bhh, T * B, G);
  for (let t = 0; t < T; t++) {
    be.gemm(false, true, B, G, H, 1, c.hs, t * BH, H, p.whh, 0, H, 1, c.gh, t * B * G, G);
    be.gruStepForward(c.g, t * B * G, c.gh, t * B * G, c.hs, (t + 1) * BH, c.hs, t * BH, B, H);
  }
}

/** Fills c.dg (input side) and c.dgh (recurrent side) for every t. */
export function gruBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, G = 3 * H;
  for (let t = T - 1; t >= 0; t--) {
    for (let k = 0; k < BH; k++) c.dh[k] += dy[dyOff + t * BH + k]!;
    // leaves z ⊙ dh in c.dh; the path through W_hh is added next
    be.gruStepBackward(c.dg, t * B * G, c.dgh, t * B * G, c.dh, c.g, t * B * G, c.gh, t * B * G, c.hs, t * BH, B, H);
    be.gemm(false, false, B, H, G, 1, c.dgh, t * B * G, G, p.whh, 0, H, 1, c.dh, 0, H);
  }
}
