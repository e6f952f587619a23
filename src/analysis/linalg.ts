// Small dense linear algebra for diagnostics (weight-matrix norms while training), in
// float64 whatever the input type. Matrices are row-major: entry (i, j) is A[i * cols + j].
import { Rng } from '../core/rng.js';

/** sqrt(sum of squares): the L2 norm of the matrix seen as one long vector. */
export function frobeniusNorm(A: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < A.length; i++) s += A[i]! * A[i]!;
  return Math.sqrt(s);
}

/**
 * The largest singular value of A (rows x cols), by power iteration on AᵀA.
 *
 * Stops when the estimate has settled to relative precision tol (default 1e-7), or after
 * iters iterations (default 500); without convergence it returns the last estimate, which
 * is a lower bound. The start vector is fixed by seed, so the result is deterministic.
 */
export function spectralNorm(A: ArrayLike<number>, rows: number, cols: number,
  opts: { iters?: number; tol?: number; seed?: number } = {}): number {
  if (A.length !== rows * cols) throw new Error(`spectralNorm: ${A.length} values for a ${rows} x ${cols} matrix`);
  const iters = opts.iters ?? 500, tol = opts.tol ?? 1e-7;
  if (rows === 0 || cols === 0) return 0;
  const a = Float64Array.from(A);
  let inf = false;
  for (const x of a) {
    if (Number.isNaN(x)) return NaN;
    if (!Number.isFinite(x)) inf = true;
  }
  if (inf) return Infinity;

  // Start at all ones plus a fixed random wobble: ones alone is orthogonal to common top
  // singular vectors such as the alternating (1, -1, 1, ...) one of a difference operator.
  const rng = new Rng(opts.seed ?? 1);
  let v = new Float64Array(cols);
  for (let j = 0; j < cols; j++) v[j] = 1 + (rng.uniform() - 0.5);
  normalize(v);

  const w = new Float64Array(rows);
  let sigma = 0, prevDelta = Infinity, calm = 0;
  for (let it = 0; it < iters; it++) {
    // w = A v; sigma = |A v| is the Rayleigh estimate sqrt(vᵀAᵀAv) for a unit v, which
    // only grows from one iteration to the next.
    for (let i = 0; i < rows; i++) {
      let s = 0;
      const r = i * cols;
      for (let j = 0; j < cols; j++) s += a[r + j]! * v[j]!;
      w[i] = s;
    }
    const next = Math.sqrt(dot(w, w));
    if (next === 0) return sigma; // A v = 0: A is zero (v has components everywhere in practice)
    // v = Aᵀ w / |Aᵀ w|, walking A row by row
    const u = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      const wi = w[i]!, r = i * cols;
      for (let j = 0; j < cols; j++) u[j] += a[r + j]! * wi;
    }
    normalize(u);
    v = u;

    const delta = Math.abs(next - sigma);
    sigma = next;
    // A small step is not enough when progress is slow (top two singular values close):
    // the steps shrink geometrically by rate = delta / prevDelta, so the distance still to
    // go is about delta * rate / (1 - rate). Stop when both are within tolerance three times
    // in a row (early on, the rate measured is that of faster modes dying out), or when the
    // steps are down to rounding noise (which need not shrink).
    const rate = delta / prevDelta;
    const settled = delta <= tol * sigma && rate < 1 && (delta * rate) / (1 - rate) <= tol * sigma;
    calm = settled ? calm + 1 : 0;
    if (calm >= 3 || delta <= 1e-13 * sigma) break;
    prevDelta = delta;
  }
  return sigma;
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

function normalize(x: Float64Array): void {
  const n = Math.sqrt(dot(x, x));
  if (n > 0) for (let i = 0; i < x.length; i++) x[i] = x[i]! / n;
}
