// Gradient clipping. Both return the global L2 norm before clipping, for the log.
import type { Arr } from '../core/params.js';

export function globalNorm(g: Arr): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

/** Rescales g so its global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_). */
export function clipByGlobalNorm(g: Arr, maxNorm: number): { norm: number; clipped: boolean } {
  const norm = globalNorm(g);
  if (!(norm > maxNorm) || !Number.isFinite(norm)) return { norm, clipped: false };
  const scale = maxNorm / (norm + 1e-6);
  for (let i = 0; i < g.length; i++) g[i] *= scale;
  return { norm, clipped: true };
}

/** Clamps every entry of g to [-maxValue, maxValue] (torch.nn.utils.clip_grad_value_). */
export function clipByValue(g: Arr, maxValue: number): { norm: number; clipped: boolean } {
  const norm = globalNorm(g);
  let clipped = false;
  for (let i = 0; i < g.length; i++) {
    const v = g[i]!;
    if (v > maxValue) { g[i] = maxValue; clipped = true; } else if (v < -maxValue) { g[i] = -maxValue; clipped = true; }
  }
  return { norm, clipped };
}
