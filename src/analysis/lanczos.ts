// The largest singular value by Golub-Kahan-Lanczos bidiagonalization. Same answer as
// spectralNorm (linalg.ts), but power iteration crawls when the top two singular values
// are close, as they are for random matrices and RNN Jacobians (hundreds of iterations),
// while Lanczos gets there in a few dozen matrix-vector products. The Jacobian analysis
// needs thousands of these. Float64 throughout; A is row-major, A[i * cols + j].
import { Rng } from '../core/rng.js';

/**
 * σ_max(A) for A (rows x cols). Builds A V_k = U_k B_k with B_k upper bidiagonal
 * (diagonal α, superdiagonal β) and orthonormal U, V (fully reorthogonalized), whose
 * largest singular value approaches σ_max(A) from below as k grows. Stops when the
 * estimate has moved less than tol (relative, default 1e-10) three steps in a row, or at
 * an invariant subspace (then it is exact: at the latest after min(rows, cols) + 1 steps).
 */
export function largestSingularValue(A: ArrayLike<number>, rows: number, cols: number, opts: { tol?: number; seed?: number } = {}): number {
  if (A.length !== rows * cols) throw new Error(`largestSingularValue: ${A.length} values for a ${rows} x ${cols} matrix`);
  if (rows === 0 || cols === 0) return 0;
  const tol = opts.tol ?? 1e-10, kMax = Math.min(rows, cols) + 1; // +1: the start vector's part in A's null space
  for (let i = 0; i < A.length; i++) if (!Number.isFinite(A[i]!)) return Number.isNaN(A[i]!) ? NaN : Infinity;
  const rng = new Rng(opts.seed ?? 1);
  const U: Float64Array[] = [], V: Float64Array[] = [], alpha: number[] = [], beta: number[] = [];
  let v = new Float64Array(cols);
  for (let j = 0; j < cols; j++) v[j] = 1 + (rng.uniform() - 0.5); // as in spectralNorm: not only ones
  scale(v, 1 / norm(v));
  let prevBeta = 0, sigma = 0, calm = 0;
  for (let k = 0; k < kMax; k++) {
    V.push(v);
    // u = A v - β_{k-1} u_{k-1}, made orthogonal to every earlier u
    const u = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      const r = i * cols;
      for (let j = 0; j < cols; j++) s += A[r + j]! * v[j]!;
      u[i] = s;
    }
    if (k > 0) axpy(u, -prevBeta, U[k - 1]!);
    reorthogonalize(u, U);
    const a = norm(u);
    alpha.push(a);
    const est = Math.sqrt(largestTridiagonalEigenvalue(alpha, beta));
    calm = Math.abs(est - sigma) <= tol * est ? calm + 1 : 0;
    sigma = est;
    if (a <= 1e-12 * sigma || calm >= 3) break;
    scale(u, 1 / a);
    U.push(u);
    // v = Aᵀ u - α_k v_k, made orthogonal to every earlier v
    const w = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      const ui = u[i]!, r = i * cols;
      for (let j = 0; j < cols; j++) w[j] += A[r + j]! * ui;
    }
    axpy(w, -a, v);
    reorthogonalize(w, V);
    const b = norm(w);
    if (b <= 1e-12 * sigma || V.length === cols) break; // no room for another v
    beta.push(b);
    prevBeta = b;
    scale(w, 1 / b);
    v = w;
  }
  return sigma;
}

/**
 * The largest eigenvalue of BᵀB for the upper bidiagonal B (diagonal alpha, superdiagonal
 * beta, one shorter): BᵀB is tridiagonal with diagonal α_i² + β_{i-1}² and off-diagonal
 * α_i β_i. Bisection with Sturm sequence counts; BᵀB is positive semi-definite.
 */
function largestTridiagonalEigenvalue(alpha: number[], beta: number[]): number {
  const n = alpha.length, d = new Float64Array(n), e = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n; i++) d[i] = alpha[i]! ** 2 + (i > 0 ? beta[i - 1]! ** 2 : 0);
  for (let i = 0; i + 1 < n; i++) e[i] = alpha[i]! * beta[i]!;
  let hi = 0; // Gershgorin: every eigenvalue is below max(d_i + |e_{i-1}| + |e_i|)
  for (let i = 0; i < n; i++) hi = Math.max(hi, d[i]! + (i > 0 ? Math.abs(e[i - 1]!) : 0) + (i + 1 < n ? Math.abs(e[i]!) : 0));
  let lo = 0;
  // below(x) = how many eigenvalues are < x (signs of the LDLᵀ pivots of T - xI)
  const below = (x: number): number => {
    let count = 0, q = 1;
    for (let i = 0; i < n; i++) {
      q = d[i]! - x - (i > 0 ? e[i - 1]! ** 2 / q : 0);
      if (q === 0) q = -1e-300; // x is an eigenvalue: count it as below, step on
      if (q < 0) count++;
    }
    return count;
  };
  for (let it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
    const mid = 0.5 * (lo + hi);
    if (below(mid) === n) hi = mid; else lo = mid;
  }
  return hi;
}

function norm(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

function scale(x: Float64Array, a: number): void {
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * a;
}

/** y += a x */
function axpy(y: Float64Array, a: number, x: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] = y[i]! + a * x[i]!;
}

/** Removes from x its components along the orthonormal basis (twice: once is not enough in floating point). */
function reorthogonalize(x: Float64Array, basis: Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += x[i]! * q[i]!;
      axpy(x, -s, q);
    }
  }
}
