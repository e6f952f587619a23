// Small shared test utilities.

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
