// Reference GEMM in plain TypeScript. All four transpose cases reduce to one
// register-blocked kernel for C += A B^T (rows of both operands contiguous along k):
// op(A) or op(B) that is not already in that form is first transposed into scratch,
// which costs O(MK + NK) against the product's O(MNK).
import type { Arr } from '../../core/params.js';

let scratchA: Arr = new Float64Array(0);
let scratchB: Arr = new Float64Array(0);

/** A grow-only scratch buffer of A's element type, so the hot path allocates nothing. */
function scratch(which: 0 | 1, like: Arr, n: number): Arr {
  let s = which === 0 ? scratchA : scratchB;
  if (s.length < n || s.constructor !== like.constructor) {
    s = like instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
    if (which === 0) scratchA = s; else scratchB = s;
  }
  return s;
}

/** dst (cols, rows) = src (rows, cols) with leading dimension ld. */
function transpose(dst: Arr, src: Arr, off: number, ld: number, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const s0 = off + r * ld;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[s0 + c]!;
  }
}

export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Arr, aOff: number, lda: number,
  B: Arr, bOff: number, ldb: number,
  beta: number, C: Arr, cOff: number, ldc: number,
): void {
  if (beta !== 1) {
    for (let i = 0; i < M; i++) {
      const c0 = cOff + i * ldc;
      if (beta === 0) C.fill(0, c0, c0 + N);
      else for (let j = 0; j < N; j++) C[c0 + j] *= beta;
    }
  }
  if (K === 0 || alpha === 0 || M === 0 || N === 0) return;
  if (transA) {
    const t = scratch(0, A, M * K);
    transpose(t, A, aOff, lda, K, M);
    A = t; aOff = 0; lda = K;
  }
  if (!transB) {
    const t = scratch(1, B, N * K);
    transpose(t, B, bOff, ldb, K, N);
    B = t; bOff = 0; ldb = K;
  }
  gemmNT(M, N, K, alpha, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
}

/** C (M,N) += alpha * A (M,K) * B(N,K)^T, 4x4 blocks of C held in registers. */
function gemmNT(M: number, N: number, K: number, alpha: number, A: Arr, aOff: number, lda: number,
  B: Arr, bOff: number, ldb: number, C: Arr, cOff: number, ldc: number): void {
  const M4 = M - (M % 4), N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = aOff + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
    for (let j = 0; j < N4; j += 4) {
      const b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
        const y0 = B[b0 + k]!, y1 = B[b1 + k]!, y2 = B[b2 + k]!, y3 = B[b3 + k]!;
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      let c = cOff + i * ldc + j;
      C[c] += alpha * c00; C[c + 1] += alpha * c01; C[c + 2] += alpha * c02; C[c + 3] += alpha * c03; c += ldc;
      C[c] += alpha * c10; C[c + 1] += alpha * c11; C[c + 2] += alpha * c12; C[c + 3] += alpha * c13; c += ldc;
      C[c] += alpha * c20; C[c + 1] += alpha * c21; C[c + 2] += alpha * c22; C[c + 3] += alpha * c23; c += ldc;
      C[c] += alpha * c30; C[c + 1] += alpha * c31; C[c + 2] += alpha * c32; C[c + 3] += alpha * c33;
    }
    for (let j = N4; j < N; j++) dotRows(4, K, alpha, A, a0, lda, B, bOff + j * ldb, C, cOff + i * ldc + j, ldc);
  }
  for (let i = M4; i < M; i++) {
    const a0 = aOff + i * lda;
    for (let j = 0; j < N; j++) dotRows(1, K, alpha, A, a0, lda, B, bOff + j * ldb, C, cOff + i * ldc + j, ldc);
  }
}

/** Edge of gemmNT: `rows` rows of A against one row of B. */
function dotRows(rows: number, K: number, alpha: number, A: Arr, a0: number, lda: number, B: Arr, b0: number, C: Arr, c0: number, ldc: number): void {
  for (let r = 0; r < rows; r++) {
    const ar = a0 + r * lda;
    let s = 0;
    for (let k = 0; k < K; k++) s += A[ar + k]! * B[b0 + k]!;
    C[c0 + r * ldc] += alpha * s;
  }
}
