// Reference optimizer updates, torch.optim's formulas, and the other flat-array ops.
import type { Arr } from '../../core/params.js';

export function sgdStep(p: Arr, g: Arr, v: Arr, n: number, lr: number, mu: number): void {
  for (let i = 0; i < n; i++) { v[i] = mu * v[i]! + g[i]!; p[i] -= lr * v[i]!; }
}

export function adagradStep(p: Arr, g: Arr, s: Arr, n: number, lr: number, eps: number): void {
  for (let i = 0; i < n; i++) { s[i] += g[i]! * g[i]!; p[i] -= lr * g[i]! / (Math.sqrt(s[i]!) + eps); }
}

export function rmspropStep(p: Arr, g: Arr, s: Arr, n: number, lr: number, a: number, eps: number): void {
  for (let i = 0; i < n; i++) { s[i] = a * s[i]! + (1 - a) * g[i]! * g[i]!; p[i] -= lr * g[i]! / (Math.sqrt(s[i]!) + eps); }
}

export function adamStep(p: Arr, g: Arr, m: Arr, v: Arr, n: number, lr: number, b1: number, b2: number, eps: number, t: number): void {
  const bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t), step = lr / bc1, sq = Math.sqrt(bc2);
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * gi;
    v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
    p[i] -= step * m[i]! / (Math.sqrt(v[i]!) / sq + eps);
  }
}

export function sumSquares(a: Arr, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * a[i]!;
  return s;
}

export function scale(a: Arr, n: number, s: number): void {
  for (let i = 0; i < n; i++) a[i] *= s;
}

export function gatherRows(Y: Arr, yOff: number, table: Arr, ids: Int32Array, N: number, w: number): void {
  for (let n = 0; n < N; n++) {
    const src = ids[n]! * w, dst = yOff + n * w;
    for (let k = 0; k < w; k++) Y[dst + k] = table[src + k]!;
  }
}

export function scatterAddRows(dtable: Arr, dY: Arr, dyOff: number, ids: Int32Array, N: number, w: number): void {
  for (let n = 0; n < N; n++) {
    const dst = ids[n]! * w, src = dyOff + n * w;
    for (let k = 0; k < w; k++) dtable[dst + k] += dY[src + k]!;
  }
}
