// Gradient clipping. Both return the global L2 norm before clipping, for the log.
import type { Arr } from '../core/params.js';
import { getBackend } from '../backend/registry.js';

export function globalNorm(g: Arr): number {
  return Math.sqrt(getBackend().sumSquares(g, g.length));
}

/** Rescales g so its global L2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_). */
export function clipByGlobalNorm(g: Arr, maxNorm: number): { norm: number; clipped: boolean } {
  const norm = globalNorm(g);
  if (!(norm > maxNorm) || !Number.isFinite(norm)) return { norm, clipped: false };
  getBackend().scale(g, g.length, maxNorm / (norm + 1e-6));
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
