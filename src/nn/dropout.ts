// Inverted dropout (PyTorch semantics): keep with probability 1 - p and scale by
// 1 / (1 - p), so evaluation needs no rescaling. The mask holds 0 or 1 / (1 - p).
import type { Arr, DType } from '../core/params.js';
import type { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';

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

/**
 * Dropout in front of a layer (a model's output layer), with its buffers: apply() gives
 * the dropped copy in training (rng and p > 0) and the input itself otherwise;
 * backward() turns the gradient w.r.t. the dropped copy into the input's, in place.
 */
export class DropoutLayer {
  private out: Arr; private mask: Arr;
  active = false;

  constructor(readonly p: number, private dtype: DType) {
    this.out = allocArray(0, dtype); this.mask = allocArray(0, dtype);
  }

  apply(x: Arr, xOff: number, n: number, train: boolean, rng: Rng | undefined): { a: Arr; off: number } {
    this.active = train && this.p > 0;
    if (!this.active) return { a: x, off: xOff };
    if (!rng) throw new Error('dropout needs an rng');
    if (this.out.length < n) { this.out = allocArray(2 * n, this.dtype); this.mask = allocArray(2 * n, this.dtype); }
    dropoutForward(this.out, this.mask, x, xOff, n, this.p, rng);
    return { a: this.out, off: 0 };
  }

  backward(d: Arr, n: number): void {
    if (this.active) dropoutBackward(d, d, this.mask, n);
  }
}
