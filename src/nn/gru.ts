// GRU time loop, PyTorch's variant (gate order r, z, n; the reset gate multiplies
// W_hn h + b_hn, ONNX linear_before_reset = 1):
//   r = σ(W_ir x + b_ir + W_hr h + b_hr)   z = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   h' = (1 - z) ⊙ n + z ⊙ h
// The recurrent part gh = W_hh h + b_hh is kept per step because r multiplies its n third.
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import { addOutputGrad, maskState, recurrentGradIn, recurrentInput, type RecurrentCache, type RecurrentParams } from './recurrent.js';

/** Steps [t0, t1). c.g holds W_ih x_t + b_ih; c.hs block t0 holds the state. */
export function gruForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const be = getBackend(), { B, H } = c, BH = B * H, G = 3 * H, hin = recurrentInput(c);
  be.fillRows(c.gh, t0 * B * G, p.bhh, (t1 - t0) * B, G);
  for (let t = t0; t < t1; t++) {
    be.gemm(false, true, B, G, H, 1, hin, t * BH, H, p.whh, 0, H, 1, c.gh, t * B * G, G);
    be.gruStepForward(c.g, t * B * G, c.gh, t * B * G, c.hs, (t + 1) * BH, c.hs, t * BH, B, H);
    maskState(c, t + 1);
  }
}

/** Fills c.dg (input side) and c.dgh (recurrent side) for every t. */
export function gruBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), { T, B, H } = c, BH = B * H, G = 3 * H;
  for (let t = T - 1; t >= 0; t--) {
    addOutputGrad(c, dy, dyOff, t);
    // leaves z ⊙ dh in c.dh; the path through W_hh is added next
    be.gruStepBackward(c.dg, t * B * G, c.dgh, t * B * G, c.dh, c.g, t * B * G, c.gh, t * B * G, c.hs, t * BH, B, H);
    recurrentGradIn(c, p.whh, c.dgh, t * B * G, G, true);
  }
}
