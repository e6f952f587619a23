// spectralNorm and frobeniusNorm against matrices with known singular values, and against
// an independent route: the largest eigenvalue of AᵀA by the Jacobi eigenvalue method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spectralNorm, frobeniusNorm } from '../src/analysis/linalg.js';
import { Rng } from '../src/core/rng.js';

const relErr = (a: number, e: number): number => Math.abs(a - e) / Math.abs(e);

function matmul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) c[i * m + j] += a[i * k + p]! * b[p * m + j]!;
  return c;
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

/** A random n x n orthogonal matrix: a product of three Householder reflections. */
function orthogonal(n: number, rng: Rng): Float64Array {
  let q: Float64Array = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let r = 0; r < 3; r++) {
    const v = Array.from({ length: n }, () => rng.uniform() - 0.5);
    const vv = v.reduce((s, x) => s + x * x, 0);
    const h = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] = (i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / vv;
    q = matmul(q, h, n, n, n);
  }
  return q;
}

/** U[:, :cols] diag(s) Vᵀ for random orthogonal U, V: a rows x cols matrix with singular values s. */
function withSingularValues(s: number[], rows: number, rng: Rng): Float64Array {
  const cols = s.length;
  const u = orthogonal(rows, rng), v = orthogonal(cols, rng);
  const us = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) us[i * cols + j] = u[i * rows + j]! * s[j]!;
  return matmul(us, transpose(v, cols, cols), rows, cols, cols);
}

/** Eigenvalues of a symmetric n x n matrix by cyclic Jacobi rotations. */
function jacobiEigenvalues(m: Float64Array, n: number): number[] {
  const a = Float64Array.from(m);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        // the rotation angle that zeroes a[p][q]
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) { // columns p, q
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) { // rows p, q
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]!);
}

test('diagonal matrices: the largest |diagonal entry|', () => {
  // the default tolerance is 1e-7 relative; a tighter one is honoured too
  assert.ok(relErr(spectralNorm([3, 0, 0, 0, -5, 0, 0, 0, 2], 3, 3), 5) < 1e-7);
  assert.ok(relErr(spectralNorm([3, 0, 0, 0, -5, 0, 0, 0, 2], 3, 3, { tol: 1e-12 }), 5) < 1e-11);
  assert.ok(relErr(spectralNorm(new Float32Array([0.5, 0, 0, 0.25]), 2, 2), 0.5) < 1e-7);
  assert.ok(relErr(spectralNorm([7], 1, 1), 7) < 1e-12);
});

test('a rotation times a diagonal has the diagonal as singular values', () => {
  const th = 0.7, c = Math.cos(th), s = Math.sin(th);
  const R = new Float64Array([c, -s, s, c]);
  const A = matmul(R, new Float64Array([4, 0, 0, 1.5]), 2, 2, 2);
  assert.ok(relErr(spectralNorm(A, 2, 2), 4) < 1e-7);
  assert.ok(relErr(frobeniusNorm(A), Math.hypot(4, 1.5)) < 1e-12);
});

test('the alternating top singular vector of a difference operator is found', () => {
  // D x = x[i+1] - x[i]: its top right singular vector is close to (1, -1, 1, ...), which
  // an all-ones start vector would be nearly orthogonal to. sigma_max = 2 cos(pi / (2n)).
  const n = 12, D = new Float64Array((n - 1) * n);
  for (let i = 0; i < n - 1; i++) { D[i * n + i] = -1; D[i * n + i + 1] = 1; }
  assert.ok(relErr(spectralNorm(D, n - 1, n), 2 * Math.cos(Math.PI / (2 * n))) < 1e-6);
});

test('a 4H x H random matrix matches sqrt of the largest eigenvalue of AᵀA (Jacobi)', () => {
  const rng = new Rng(7), H = 24;
  const A = new Float32Array(4 * H * H);
  for (let i = 0; i < A.length; i++) A[i] = rng.normal() * 0.1;
  const A64 = Float64Array.from(A);
  const ata = matmul(transpose(A64, 4 * H, H), A64, H, 4 * H, H);
  const eig = jacobiEigenvalues(ata, H);
  const expected = Math.sqrt(Math.max(...eig));
  const got = spectralNorm(A, 4 * H, H);
  assert.ok(relErr(got, expected) < 1e-6, `${got} vs ${expected}`);
  // and the Frobenius norm is sqrt(trace AᵀA) = sqrt(sum of eigenvalues)
  assert.ok(relErr(frobeniusNorm(A), Math.sqrt(eig.reduce((s, x) => s + x, 0))) < 1e-9);
  assert.equal(spectralNorm(A, 4 * H, H), got, 'deterministic');
});

test('close top singular values still converge to the tolerance', () => {
  const rng = new Rng(3);
  const s = [1, 0.995, 0.99, 0.5, 0.3, 0.1, 0.05, 0.01];
  const A = withSingularValues(s, 32, rng);
  assert.ok(relErr(spectralNorm(A, 32, 8), 1) < 1e-6);
  assert.ok(relErr(frobeniusNorm(A), Math.hypot(...s)) < 1e-12);
  const jac = Math.sqrt(Math.max(...jacobiEigenvalues(matmul(transpose(A, 32, 8), A, 8, 32, 8), 8)));
  assert.ok(relErr(jac, 1) < 1e-10, 'the test matrix has the singular values it was built with');
  // 1 vs 0.9999: the estimate creeps up by ~1e-8 a step for thousands of steps; early on
  // that looks converged, and must not stop the iteration
  const D = new Float64Array(36);
  [1, 0.9999, 0.5, 0.4, 0.3, 0.2].forEach((x, i) => { D[i * 6 + i] = x; });
  assert.ok(relErr(spectralNorm(D, 6, 6, { iters: 100000 }), 1) < 2e-7);
});

test('zero, empty and non-finite matrices', () => {
  assert.equal(spectralNorm(new Float32Array(12), 4, 3), 0);
  assert.equal(frobeniusNorm(new Float32Array(12)), 0);
  assert.equal(spectralNorm([], 0, 5), 0);
  assert.ok(Number.isNaN(spectralNorm([1, NaN, 0, 1], 2, 2)));
  assert.equal(spectralNorm([1, Infinity, 0, 1], 2, 2), Infinity);
  assert.throws(() => spectralNorm([1, 2, 3], 2, 2), /3 values for a 2 x 2 matrix/);
});
