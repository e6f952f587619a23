// GRU time loop, PyTorch's variant (gate order r, z, n; the reset gate multiplies
// W_hn h + b_hn, ONNX linear_before_reset = 1):
//   r = σ(W_ir x + b_ir + W_hr h + b_hr)   z = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   h' = (1 - z) ⊙ n + z ⊙ h
// The recurrent part gh = W_hh h + b_hh is kept per step because r multiplies its n third.
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';
import {
  addOutputGrad, maskState, prevRow, recurrentGradIn, recurrentInput, stateRow, type RecurrentCache, type RecurrentParams,
} from './recurrent.js';

/** Steps [t0, t1). c.g holds W_ih x_t + b_ih; the state rows before t0 hold the state. */
export function gruForward(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const be = getBackend(), H = c.H, G = 3 * H, hin = recurrentInput(c), { sizes, offsets } = c.lay;
  gruRecurrentBias(c, p, t0, t1);
  for (let t = t0; t < t1; t++) {
    const b = sizes[t]!, r = offsets[t]!, prev = prevRow(c, t) * H, cur = stateRow(c, t);
    be.gemm(false, true, b, G, H, 1, hin, prev, H, p.whh, 0, H, 1, c.gh, r * G, G);
    be.gruStepForward(c.g, r * G, c.gh, r * G, c.hs, cur * H, c.hs, prev, b, H);
    maskState(c, cur, b);
  }
}

/** c.gh rows of steps [t0, t1) = b_hh, to which each step adds W_hh h_{t-1}. */
export function gruRecurrentBias(c: RecurrentCache, p: RecurrentParams, t0: number, t1: number): void {
  const G = 3 * c.H, { offsets } = c.lay;
  getBackend().fillRows(c.gh, offsets[t0]! * G, p.bhh, offsets[t1]! - offsets[t0]!, G);
}

/** Fills c.dg (input side) and c.dgh (recurrent side) for every t. */
export function gruBackward(dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), H = c.H, G = 3 * H, { sizes, offsets } = c.lay;
  for (let t = c.T - 1; t >= 0; t--) {
    const b = sizes[t]!, r = offsets[t]!;
    addOutputGrad(c, dy, dyOff, t);
    // leaves z ⊙ dh in c.dh; the path through W_hh is added next
    be.gruStepBackward(c.dg, r * G, c.dgh, r * G, c.dh, c.g, r * G, c.gh, r * G, c.hs, prevRow(c, t) * H, b, H);
    recurrentGradIn(c, p.whh, c.dgh, r * G, G, true, b);
  }
}
