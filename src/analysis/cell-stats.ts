// Statistics of the cell search, accumulated chunk by chunk: Pearson correlations of
// every cell's activation with every signal (one GEMM per chunk and layer: the cells'
// activations transposed times the signals), and gate saturation fractions (Karpathy et
// al. 2015, Fig. 3: left-saturated < 0.1, right-saturated > 0.9).
import type { Arr } from '../core/params.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';

export const SATURATION = { left: 0.1, right: 0.9 } as const;

/**
 * Pearson's r from sums over n pairs. A constant series (no variance, up to rounding)
 * correlates 0 with anything, never NaN.
 */
export function correlationFromSums(n: number, sx: number, sxx: number, sy: number, syy: number, sxy: number): number {
  const vx = n * sxx - sx * sx, vy = n * syy - sy * sy;
  if (!(n > 1) || vx <= 1e-9 * Math.max(n * sxx, 1e-30) || vy <= 1e-9 * Math.max(n * syy, 1e-30)) return 0;
  const r = (n * sxy - sx * sy) / Math.sqrt(vx * vy);
  return Math.max(-1, Math.min(1, r));
}

/** Pearson's r of two equally long series (0 when either is constant). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`pearson: series of ${x.length} and ${y.length} values`);
  let sx = 0, sxx = 0, sy = 0, syy = 0, sxy = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!, b = y[i]!;
    sx += a; sxx += a * a; sy += b; syy += b * b; sxy += a * b;
  }
  return correlationFromSums(x.length, sx, sxx, sy, syy, sxy);
}

/**
 * Running sums for the correlations of K series (cells) with S signals over a text
 * read in chunks: call setChunk with the chunk's signal values, then addSeries for each
 * block of cells' activations over the same chunk.
 */
export class CorrelationSums {
  n = 0;
  readonly sx: Float64Array; readonly sxx: Float64Array; readonly sxy: Float64Array; // K, K, K*S
  readonly sy: Float64Array; readonly syy: Float64Array; // S
  private sig: Arr; private prod: Arr; private T = 0;

  constructor(readonly K: number, private signals: readonly Float32Array[], maxChunk: number, maxBlock: number) {
    const S = signals.length;
    this.sx = new Float64Array(K); this.sxx = new Float64Array(K); this.sxy = new Float64Array(K * S);
    this.sy = new Float64Array(S); this.syy = new Float64Array(S);
    this.sig = allocArray(maxChunk * Math.max(S, 1)); this.prod = allocArray(maxBlock * Math.max(S, 1));
  }

  /** The signals of text positions [t0, t0 + T) become the current chunk. */
  setChunk(t0: number, T: number): void {
    const S = this.signals.length;
    this.T = T; this.n += T;
    this.signals.forEach((v, s) => {
      let a = 0, b = 0;
      for (let t = 0; t < T; t++) { const y = v[t0 + t]!; this.sig[t * S + s] = y; a += y; b += y * y; }
      this.sy[s] += a; this.syy[s] += b;
    });
  }

  /** Series k0 .. k0+H-1 over the current chunk: rows t of a at off + t*H. */
  addSeries(k0: number, a: Arr, off: number, H: number): void {
    const S = this.signals.length, T = this.T;
    for (let t = 0; t < T; t++) {
      const r = off + t * H;
      for (let j = 0; j < H; j++) { const x = a[r + j]!; this.sx[k0 + j] += x; this.sxx[k0 + j] += x * x; }
    }
    if (!S) return;
    // prod (H, S) = a^T (H, T) sig (T, S)
    getBackend().gemm(true, false, H, S, T, 1, a, off, H, this.sig, 0, S, 0, this.prod, 0, S);
    for (let q = 0; q < H * S; q++) this.sxy[k0 * S + q] += this.prod[q]!;
  }

  /** r of series k with signal s. */
  r(k: number, s: number): number {
    const S = this.signals.length;
    return correlationFromSums(this.n, this.sx[k]!, this.sxx[k]!, this.sy[s]!, this.syy[s]!, this.sxy[k * S + s]!);
  }
}

/** Per gate and cell of one layer: how often the gate was below 0.1 and above 0.9. */
export class SaturationCounts {
  n = 0;
  readonly left: Float64Array; readonly right: Float64Array; // (gates, H)

  constructor(private gateIndex: readonly number[], private H: number) {
    this.left = new Float64Array(gateIndex.length * H); this.right = new Float64Array(gateIndex.length * H);
  }

  /** T rows of gate activations (row width G*H) at off. */
  add(g: Arr, off: number, T: number, G: number): void {
    const H = this.H, W = G * H;
    this.n += T;
    this.gateIndex.forEach((k, q) => {
      for (let t = 0; t < T; t++) {
        const r = off + t * W + k * H;
        for (let j = 0; j < H; j++) {
          const v = g[r + j]!;
          if (v < SATURATION.left) this.left[q * H + j]++;
          else if (v > SATURATION.right) this.right[q * H + j]++;
        }
      }
    });
  }

  /** The fractions (gates, H). */
  fractions(): { left: Float32Array; right: Float32Array } {
    const f = (a: Float64Array) => Float32Array.from(a, (x) => (this.n ? x / this.n : 0));
    return { left: f(this.left), right: f(this.right) };
  }
}

export interface CellRef {
  layer: number;    // 0-based
  quantity: string; // 'h' or 'tanh_c'
  cell: number;     // 0-based unit index within the layer
  r: number;        // Pearson correlation with the signal
}

/**
 * The k cells with the largest |r| in corr, laid out (layer, quantity, cell): entry
 * (l*Q + q)*H + j. Ties go to the lower index; cells with r = 0 are not listed.
 */
export function bestCells(corr: ArrayLike<number>, quantities: readonly string[], H: number, k: number): CellRef[] {
  const Q = quantities.length, order = Array.from({ length: corr.length }, (_, i) => i).filter((i) => corr[i] !== 0);
  order.sort((a, b) => Math.abs(corr[b]!) - Math.abs(corr[a]!) || a - b);
  return order.slice(0, k).map((i) => {
    const lq = Math.floor(i / H);
    return { layer: Math.floor(lq / Q), quantity: quantities[lq % Q]!, cell: i % H, r: corr[i]! };
  });
}
