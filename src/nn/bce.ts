// Binary cross-entropy on logits (torch.nn.functional.binary_cross_entropy_with_logits,
// reduction 'sum'): for target y in [0, 1] and logit z,
//   loss = max(z, 0) - z y + log(1 + exp(-|z|))   (= -y log σ(z) - (1-y) log(1 - σ(z)), stably)
//   dloss/dz = σ(z) - y
import type { Arr } from '../core/params.js';

/** Σ over n entries; z and y from their offsets. */
export function bceWithLogitsForward(z: Arr, zOff: number, y: ArrayLike<number>, yOff: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = z[zOff + i]!, t = y[yOff + i]!;
    s += Math.max(a, 0) - a * t + Math.log1p(Math.exp(-Math.abs(a)));
  }
  return s;
}

/** dz = (σ(z) - y) * scale. */
export function bceWithLogitsBackward(dz: Arr, z: Arr, zOff: number, y: ArrayLike<number>, yOff: number, n: number, scale: number): void {
  for (let i = 0; i < n; i++) dz[zOff + i] = (1 / (1 + Math.exp(-z[zOff + i]!)) - y[yOff + i]!) * scale;
}
