// Inverted dropout (PyTorch semantics): keep with probability 1 - p and scale by
// 1 / (1 - p), so evaluation needs no rescaling. The mask holds 0 or 1 / (1 - p).
import type { Arr } from '../core/params.js';
import type { Rng } from '../core/rng.js';

/** out and mask are written from outOff on. */
export function dropoutForward(out: Arr, mask: Arr, x: Arr, xOff: number, n: number, p: number, rng: Rng, outOff = 0): void {
  const scale = 1 / (1 - p);
  for (let k = 0; k < n; k++) {
    const m = rng.uniform() < p ? 0 : scale;
    mask[outOff + k] = m;
    out[outOff + k] = x[xOff + k] * m;
  }
}

export function dropoutBackward(dx: Arr, dout: Arr, mask: Arr, n: number): void {
  for (let k = 0; k < n; k++) dx[k] = dout[k] * mask[k];
}
