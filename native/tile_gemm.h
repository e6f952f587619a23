// The small products of the fused time loops: C (M, N) = [C +] A (M, K) · Bm (K, N),
// row-major with leading dimensions, for the shapes one time step has (M = the batch,
// often 1-64 rows; N = a thread's share of the gate columns; K = H or G*H).
//
// Register tiles of MR rows x NV vectors accumulate over K blocks of KC (the Bm panel
// of a tile, KC x NV vectors, stays in L1) with GCC vector extensions, which compile to
// AVX-512 or AVX2 FMAs under -march=native. A single row (batch-1 evaluation and
// sampling) uses a wider tile so enough independent FMAs are in flight.

#ifndef RNNKIT_TILE_GEMM_H
#define RNNKIT_TILE_GEMM_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__FMA__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define VW 16
#define TILE_NV 4
#define ROW_NV 8
#define TILE_MR 4
#else
// 6 x 2 vectors: 12 accumulators of the 16 AVX2 registers, two for the Bm row and one
// for the broadcast (the 4 x 2 tile left the FMA units waiting on loads)
#define VW 8
#define TILE_NV 2
#define ROW_NV 4
#define TILE_MR 6
#endif
#define KC 128

typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4)));
#define VLOAD(p) (*(const vfu *)(p))
#define VSTORE(p, v) (*(vfu *)(p) = (v))

// acc + a * b, fused, spelled out: GCC's tuning for some CPUs (AMD Zen 2-3) splits FMA
// chains that it contracts itself into a multiply and an add, so which tile computed a
// column would change its rounding (and a thread split would change results).
#if defined(__AVX512F__)
#define VFMA(acc, a, b) ((vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(acc)))
#define SFMA(acc, a, b) fmaf((a), (b), (acc))
#elif defined(__FMA__)
#define VFMA(acc, a, b) ((vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(acc)))
#define SFMA(acc, a, b) fmaf((a), (b), (acc))
#else
#define VFMA(acc, a, b) ((acc) + (a) * (b))
#define SFMA(acc, a, b) ((acc) + (a) * (b))
#endif

// The two-level macros expand TILE_NV and ROW_NV before pasting the names together.
#define TILE_FN_(MR, NV) tile_##MR##_##NV
#define TILE_FN(MR, NV) TILE_FN_(MR, NV)
#define DEFINE_TILE(MR, NV) DEFINE_TILE_(MR, NV, TILE_FN(MR, NV))
#define DEFINE_TILE_(MR, NV, NAME)                                                                       \
  static inline void NAME(int64_t K, const float *restrict A, int64_t lda, const float *restrict Bm, \
                                      int64_t ldb, float *restrict C, int64_t ldc, int load) {            \
    vf acc[MR][NV];                                                                                      \
    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)                                                \
      _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++)                                              \
        acc[i][v] = load ? VLOAD(C + i * ldc + v * VW) : (vf){0};                                       \
    for (int64_t k = 0; k < K; k++) {                                                                    \
      vf b[NV];                                                                                          \
      _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) b[v] = VLOAD(Bm + k * ldb + v * VW);         \
      _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++) {                                            \
        vf a = (vf){0} + A[i * lda + k];                                                                 \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) acc[i][v] = VFMA(acc[i][v], a, b[v]);                     \
      }                                                                                                  \
    }                                                                                                    \
    _Pragma("GCC unroll 8") for (int i = 0; i < MR; i++)                                                \
      _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) VSTORE(C + i * ldc + v * VW, acc[i][v]);     \
  }

DEFINE_TILE(TILE_MR, TILE_NV)
DEFINE_TILE(TILE_MR, 1)
#if TILE_MR > 4
DEFINE_TILE(4, TILE_NV)
DEFINE_TILE(4, 1)
#endif
DEFINE_TILE(2, TILE_NV)
DEFINE_TILE(2, 1)
DEFINE_TILE(1, TILE_NV)
DEFINE_TILE(1, ROW_NV)
DEFINE_TILE(1, 1)

// (M, K) x (K, n) for the last n < VW columns, scalar.
static inline void tile_tail(int64_t M, int64_t n, int64_t K, const float *restrict A, int64_t lda,
                             const float *restrict Bm, int64_t ldb, float *restrict C, int64_t ldc, int load) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < n; j++) {
      float s = load ? C[i * ldc + j] : 0.0f;
      for (int64_t k = 0; k < K; k++) s = SFMA(s, A[i * lda + k], Bm[k * ldb + j]);
      C[i * ldc + j] = s;
    }
}

// The columns [j, j + NV*VW) of every row: TILE_MR rows at a time, then the rest in
// tiles of 4, 2 and 1 rows. Every tile adds over k in the same order with FMAs, so a
// result does not depend on which tile computed it.
#define TILE_AT(MR, NV) TILE_FN(MR, NV)(kc, A + i * lda + k0, lda, Bk + j, ldb, C + i * ldc + j, ldc, load)
#if TILE_MR > 4
#define ROWS_OF_4(NV) if (i + 4 <= M) { TILE_AT(4, NV); i += 4; }
#else
#define ROWS_OF_4(NV)
#endif
#define ROWS_OF(NV)                                                    \
  do {                                                                 \
    int64_t i = 0;                                                     \
    for (; i + TILE_MR <= M; i += TILE_MR) TILE_AT(TILE_MR, NV);       \
    ROWS_OF_4(NV)                                                      \
    if (i + 2 <= M) { TILE_AT(2, NV); i += 2; }                        \
    for (; i < M; i++) TILE_AT(1, NV);                                 \
  } while (0)

/** C = (beta1 ? C : 0) + A Bm over all M rows and N columns. */
static inline void tile_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *Bm, int64_t ldb,
                             float *C, int64_t ldc, int beta1) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!beta1) for (int64_t i = 0; i < M; i++) for (int64_t j = 0; j < N; j++) C[i * ldc + j] = 0.0f;
    return;
  }
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    const int64_t kc = K - k0 < KC ? K - k0 : KC;
    const int load = beta1 || k0 > 0;
    const float *Bk = Bm + k0 * ldb;
    int64_t j = 0;
    if (M == 1)
      for (; j + ROW_NV * VW <= N; j += ROW_NV * VW) TILE_FN(1, ROW_NV)(kc, A + k0, lda, Bk + j, ldb, C + j, ldc, load);
    for (; j + TILE_NV * VW <= N; j += TILE_NV * VW) ROWS_OF(TILE_NV);
    for (; j + VW <= N; j += VW) ROWS_OF(1);
    if (j < N) tile_tail(M, N - j, kc, A + k0, lda, Bk + j, ldb, C + j, ldc, load);
  }
}

// Panels: a (K, N) matrix stored as column blocks of pw (the last one narrower), each
// block's K rows back to back, so a tile streams its operand in order (strided rows
// defeat the prefetchers and, at power-of-two strides, the L1 sets).

/** Packs src (K, n) with rows ld apart into panels of width pw at dst (K * n floats). */
static inline void pack_columns(float *restrict dst, const float *restrict src, int64_t ld, int64_t K, int64_t n, int64_t pw) {
  for (int64_t j0 = 0; j0 < n; j0 += pw) {
    const int64_t w = n - j0 < pw ? n - j0 : pw;
    float *restrict d = dst + j0 * K;
    for (int64_t k = 0; k < K; k++) memcpy(d + k * w, src + k * ld + j0, (size_t)w * 4);
  }
}

/** Packs the transpose of src (n, K) with rows K apart: panels of (K, n), width pw. */
static inline void pack_transposed(float *restrict dst, const float *restrict src, int64_t K, int64_t n, int64_t pw) {
  for (int64_t j0 = 0; j0 < n; j0 += pw) {
    const int64_t w = n - j0 < pw ? n - j0 : pw;
    float *restrict d = dst + j0 * K;
    for (int64_t j = 0; j < w; j++)
      for (int64_t k = 0; k < K; k++) d[k * w + j] = src[(j0 + j) * K + k];
  }
}

/** C = (beta1 ? C : 0) + A P, P (K, N) in panels of width pw. */
static inline void panel_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *P, int64_t pw,
                              float *C, int64_t ldc, int beta1) {
  for (int64_t j0 = 0; j0 < N; j0 += pw) {
    const int64_t w = N - j0 < pw ? N - j0 : pw;
    tile_gemm(M, w, K, A, lda, P + j0 * K, w, C + j0, ldc, beta1);
  }
}

#endif
