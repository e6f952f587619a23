// Pooling a packed batch of sequence outputs into one vector per sequence (many-to-one).
//   last: each direction's final state of the top layer: the forward direction after
//         the sequence's last step, the backward one after step 0 (PyTorch's
//         cat(h_n[-2], h_n[-1]))
//   mean: (1/n) Σ_{t<n} out_t        max: max_{t<n} out_t, element-wise
// Shapes: B sequences (sorted, layout.ts), W = dirs*H, out (N, W) packed rows, hN
// (U, B, H) final states with U = L*dirs units, f (B, W).
import type { Arr } from '../core/params.js';
import type { StepLayout } from './layout.js';

export type Pool = 'last' | 'mean' | 'max';
export const POOLS: readonly Pool[] = ['last', 'mean', 'max'];

/** f = pool(out or hN); arg (B*W) records, for max, the row each entry came from. */
export function poolForward(pool: Pool, f: Arr, arg: Int32Array, out: Arr, off: number, hN: Arr, lay: StepLayout, U: number, dirs: number, H: number): void {
  const { B, T, sizes, offsets, lengths } = lay, W = dirs * H;
  if (pool === 'last') {
    const top = U - dirs;
    for (let i = 0; i < B; i++) for (let d = 0; d < dirs; d++) {
      const src = ((top + d) * B + i) * H;
      for (let j = 0; j < H; j++) f[i * W + d * H + j] = hN[src + j]!;
    }
    return;
  }
  f.fill(pool === 'max' ? -Infinity : 0, 0, B * W);
  for (let t = 0; t < T; t++) for (let i = 0; i < sizes[t]!; i++) {
    const r = offsets[t]! + i, o = off + r * W, fi = i * W;
    if (pool === 'mean') for (let j = 0; j < W; j++) f[fi + j] += out[o + j]!;
    else for (let j = 0; j < W; j++) if (out[o + j]! > f[fi + j]!) { f[fi + j] = out[o + j]!; arg[fi + j] = r; }
  }
  if (pool === 'mean') for (let i = 0; i < B; i++) { const s = 1 / lengths[i]!; for (let j = 0; j < W; j++) f[i * W + j] *= s; }
}

/**
 * From df = dL/df: last fills dhN (U, B, H) (lower units 0), mean and max fill dOut
 * (N, W) = dL/d(out) (max: only the rows the maxima came from).
 */
export function poolBackward(pool: Pool, dOut: Arr, dhN: Arr, df: Arr, arg: Int32Array, lay: StepLayout, U: number, dirs: number, H: number): void {
  const { B, T, N, sizes, offsets, lengths } = lay, W = dirs * H;
  if (pool === 'last') {
    const top = U - dirs;
    dhN.fill(0, 0, U * B * H);
    for (let i = 0; i < B; i++) for (let d = 0; d < dirs; d++) {
      const dst = ((top + d) * B + i) * H;
      for (let j = 0; j < H; j++) dhN[dst + j] = df[i * W + d * H + j]!;
    }
    return;
  }
  if (pool === 'max') {
    dOut.fill(0, 0, N * W);
    for (let q = 0; q < B * W; q++) dOut[arg[q]! * W + (q % W)] += df[q]!;
    return;
  }
  for (let t = 0; t < T; t++) for (let i = 0; i < sizes[t]!; i++) {
    const o = (offsets[t]! + i) * W, s = 1 / lengths[i]!;
    for (let j = 0; j < W; j++) dOut[o + j] = df[i * W + j]! * s;
  }
}
