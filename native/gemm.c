// GEMM: gemm over cblas_sgemm, and the OpenBLAS thread policy (setThreads, info).
//
// Row-major cblas_sgemm with the caller's leading dimensions. BLAS semantics match the
// interface: beta = 0 overwrites C (NaNs included) and alpha = 0 or K = 0 only scales C.
//
// Threading: OpenBLAS splits any product above M*N*K = 262144 over all its threads.
// The per-step recurrent products (M = B = 32 rows) sit near the size where that
// stops paying: measured alone on 2 cores, 32x1024x256 runs 1.6x faster on 2 threads
// but 32x256x64 runs 1.5x slower. So each call picks its thread count from the
// product's shape: all threads when both the work M*N*K and the output M*N reach
// thresholds, else one. The thresholds come from index.ts (measured defaults,
// overridable by environment variables).

#include "bindings.h"
#include "napi_args.h"
#include "pool.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

#ifdef OPENBLAS_VERSION
#define HAVE_OPENBLAS_THREADS 1
#endif

static int max_threads = 1;     // threads for large products
static int cur_threads = -1;    // what OpenBLAS is set to now
static double mt_min_work = 0;  // products use max_threads from this M*N*K ...
static double mt_min_out = 0;   // ... and this M*N on

static void use_threads(int n) {
#ifdef HAVE_OPENBLAS_THREADS
  if (n != cur_threads) {
    openblas_set_num_threads(n);
    cur_threads = n;
  }
#else
  (void)n;
#endif
}

napi_value js_gemm(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "gemm", 16)) return NULL;
  bool tA = bool_arg(&c, 0, "transA"), tB = bool_arg(&c, 1, "transB");
  int64_t M = size_arg(&c, 2, "M"), N = size_arg(&c, 3, "N"), K = size_arg(&c, 4, "K");
  double alpha = num_arg(&c, 5, "alpha");
  int64_t aOff = size_arg(&c, 7, "aOff"), lda = size_arg(&c, 8, "lda");
  int64_t bOff = size_arg(&c, 10, "bOff"), ldb = size_arg(&c, 11, "ldb");
  double beta = num_arg(&c, 12, "beta");
  int64_t cOff = size_arg(&c, 14, "cOff"), ldc = size_arg(&c, 15, "ldc");
  // Stored shapes: A is (K, M) when transposed, B is (N, K) when transposed.
  int64_t aRows = tA ? K : M, aCols = tA ? M : K, bRows = tB ? N : K, bCols = tB ? K : N;
  if (!c.failed && M > INT32_MAX / 2) fail(&c, true, "M too large");
  if (!c.failed && (N > INT32_MAX / 2 || K > INT32_MAX / 2)) fail(&c, true, "N or K too large");
  if (!c.failed && lda < (aCols > 1 ? aCols : 1)) fail(&c, true, "lda %lld < %lld", (long long)lda, (long long)aCols);
  if (!c.failed && ldb < (bCols > 1 ? bCols : 1)) fail(&c, true, "ldb %lld < %lld", (long long)ldb, (long long)bCols);
  if (!c.failed && ldc < (N > 1 ? N : 1)) fail(&c, true, "ldc %lld < %lld", (long long)ldc, (long long)N);
  if (!c.failed && (lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX)) fail(&c, true, "leading dimension too large");
  // A and B are only read when the product term is computed at all.
  bool reads = K > 0 && M > 0 && N > 0;
  int64_t aExt = reads ? mat_extent(&c, aRows, aCols, lda) : 0, bExt = reads ? mat_extent(&c, bRows, bCols, ldb) : 0;
  int64_t cExt = mat_extent(&c, M, N, ldc);
  const float *A = f32_arg(&c, 6, "A", aOff, aExt, NULL);
  const float *B = f32_arg(&c, 9, "B", bOff, bExt, NULL);
  float *C = f32_arg(&c, 13, "C", cOff, cExt, NULL);
  // BLAS leaves C overlapping an operand undefined; say so rather than return garbage.
  Region reg[] = {{"C", C, cExt, true}, {"A", A, aExt, false}, {"B", B, bExt, false}};
  if (!disjoint(&c, reg, 3)) return NULL;
  if (M == 0 || N == 0) return NULL;
  if (K == 0 || alpha == 0) {
    // Some BLAS builds still touch A/B here; scaling C ourselves is trivial.
    for (int64_t i = 0; i < M; i++) {
      float *row = C + i * ldc;
      if (beta == 0) memset(row, 0, (size_t)N * sizeof(float));
      else if (beta != 1) for (int64_t j = 0; j < N; j++) row[j] = (float)(row[j] * beta);
    }
    return NULL;
  }
  double out = (double)M * (double)N;
  use_threads(out >= mt_min_out && out * (double)K >= mt_min_work ? max_threads : 1);
  if (M == 1) {
    // One row (batch-1 sampling and evaluation): a matrix-vector product. sgemm would
    // pack all of B on every call, as much memory traffic as the product itself.
    // beta = 0 is done here so that NaNs in C are overwritten, as sgemm does.
    if (beta == 0) memset(C, 0, (size_t)N * sizeof(float));
    const int incx = tA ? (int)lda : 1;
    if (tB) cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)K, (float)alpha, B, (int)ldb, A, incx, beta == 0 ? 1.0f : (float)beta, C, 1);
    else cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, (float)alpha, B, (int)ldb, A, incx, beta == 0 ? 1.0f : (float)beta, C, 1);
    return NULL;
  }
  cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans,
              (int)M, (int)N, (int)K, (float)alpha, A, (int)lda, B, (int)ldb, (float)beta, C, (int)ldc);
  return NULL;
}

/**
 * setThreads(n, minWork, minOutput): n threads for products with M*N*K >= minWork and
 * M*N >= minOutput, one thread for the others. Returns OpenBLAS's thread count.
 */
napi_value js_setThreads(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "setThreads", 3)) return NULL;
  int64_t n = size_arg(&c, 0, "threads");
  double minWork = num_arg(&c, 1, "minWork"), minOut = num_arg(&c, 2, "minOutput");
  if (c.failed) return NULL;
  max_threads = n < 1 ? 1 : n > 256 ? 256 : (int)n;
  pool_set_max(max_threads);  // the fused time loops' threads (sequence.c)
  mt_min_work = minWork;
  mt_min_out = minOut;
  cur_threads = -1;
  use_threads(max_threads);  // lets OpenBLAS start its workers now, not inside a timed step
#ifdef HAVE_OPENBLAS_THREADS
  return number(env, openblas_get_num_threads());
#else
  return number(env, 1);
#endif
}

/** info(): what was linked, for diagnostics. */
napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  char buf[256];
#ifdef HAVE_OPENBLAS_THREADS
  snprintf(buf, sizeof buf, "%s; core %s", openblas_get_config(), openblas_get_corename());
#else
  snprintf(buf, sizeof buf, "cblas");
#endif
  napi_value out;
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &out);
  return out;
}
