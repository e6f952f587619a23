// Reference GEMM: plain loops ordered so the innermost loop walks contiguous memory.
import type { Arr } from '../../core/params.js';

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
  if (K === 0 || alpha === 0) return;
  if (!transA && transB) {
    // C[i,j] += A[i,:] . B[j,:], four output columns at a time to reuse each A load
    for (let i = 0; i < M; i++) {
      const a0 = aOff + i * lda, c0 = cOff + i * ldc;
      let j = 0;
      for (; j + 3 < N; j += 4) {
        const b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = 0; k < K; k++) {
          const a = A[a0 + k];
          s0 += a * B[b0 + k]; s1 += a * B[b1 + k]; s2 += a * B[b2 + k]; s3 += a * B[b3 + k];
        }
        C[c0 + j] += alpha * s0; C[c0 + j + 1] += alpha * s1; C[c0 + j + 2] += alpha * s2; C[c0 + j + 3] += alpha * s3;
      }
      for (; j < N; j++) {
        const b0 = bOff + j * ldb;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[a0 + k] * B[b0 + k];
        C[c0 + j] += alpha * s;
      }
    }
  } else if (!transA && !transB) {
    // C[i,:] += A[i,k] * B[k,:]
    for (let i = 0; i < M; i++) {
      const a0 = aOff + i * lda, c0 = cOff + i * ldc;
      for (let k = 0; k < K; k++) {
        const a = alpha * A[a0 + k];
        if (a === 0) continue;
        const b0 = bOff + k * ldb;
        for (let j = 0; j < N; j++) C[c0 + j] += a * B[b0 + j];
      }
    }
  } else if (transA && !transB) {
    // C[i,:] += A[k,i] * B[k,:], k outermost so both A and B rows stream
    for (let k = 0; k < K; k++) {
      const a0 = aOff + k * lda, b0 = bOff + k * ldb;
      for (let i = 0; i < M; i++) {
        const a = alpha * A[a0 + i];
        if (a === 0) continue;
        const c0 = cOff + i * ldc;
        for (let j = 0; j < N; j++) C[c0 + j] += a * B[b0 + j];
      }
    }
  } else {
    for (let i = 0; i < M; i++) {
      const c0 = cOff + i * ldc;
      for (let j = 0; j < N; j++) {
        const b0 = bOff + j * ldb;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[aOff + k * lda + i] * B[b0 + k];
        C[c0 + j] += alpha * s;
      }
    }
  }
}
