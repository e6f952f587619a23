// Small shared test utilities.
import type { Rng } from '../src/core/rng.js';

/** max |a - e| / max(max |e|, 1e-6): difference relative to the tensor's scale (llm.c check_tensor style). */
export function maxRelDiff(a: ArrayLike<number>, e: ArrayLike<number>): number {
  if (a.length !== e.length) return Infinity;
  let scale = 1e-6, diff = 0;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]!));
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i]! - e[i]!);
    if (!(d <= diff)) diff = d; // NaN propagates
  }
  return diff / scale;
}

/** n draws of mean + s * N(0, 1), in float64. */
export const randn = (rng: Rng, n: number, s: number, mean = 0) => Float64Array.from({ length: n }, () => mean + s * rng.normal());

/** sum_i a[aOff + i] * b[i] over b's length: a layer's loss sum(out * R) for an upstream gradient R. */
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>, aOff = 0) => {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += a[aOff + i]! * b[i]!;
  return s;
};
