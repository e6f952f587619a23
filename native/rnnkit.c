// rnnkit native backend: an N-API addon implementing src/backend/backend.ts.
//
// Matrix products go to the system BLAS (cblas_sgemm). Everything else is a plain
// loop over float32 arrays, written so that GCC vectorises it at -O3 -march=native:
// no calls inside the loops (exp and tanh are inlined polynomials below), no
// branches (selects instead), and `restrict` where the outputs must not overlap the
// inputs (checked at the boundary, so restrict is never a lie).
//
// Every exported function takes exactly the arguments of the Backend method of the
// same name: typed arrays plus element offsets and sizes. Arguments are validated
// (element type, integer sizes, offset + extent <= length) before any memory is
// touched, so a wrong call throws a JS error instead of corrupting the heap.
//
// The reference backend (src/backend/ref) is the spec; test/backend-conformance.test.ts
// holds this file to it. Where the reference computes in double (optimizer updates,
// scale, loss and norm accumulation, layer-norm row sums) this file does too, so results
// agree to a few float32 ulps; the activations are computed in float.

#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

// ---------------------------------------------------------------------------------
// Argument handling
//
// A Call collects the arguments of one invocation. Accessors record the first error
// (and throw it) and return harmless placeholders afterwards, so each binding reads
// all its arguments in a straight line and checks `failed` once at the end.
// ---------------------------------------------------------------------------------

#define MAX_ARGS 16

typedef struct {
  napi_env env;
  const char *fn;
  napi_value argv[MAX_ARGS];
  bool failed;
} Call;

typedef struct {  // a validated float32 array argument
  float *data;    // element 0 of the typed array
  int64_t length; // elements
} F32;

/** Throws (once per call) a TypeError, or a RangeError when range is set. */
static void fail(Call *c, bool range, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(Call *c, bool range, const char *fmt, ...) {
  if (c->failed) return;
  c->failed = true;
  char msg[320];
  int n = snprintf(msg, sizeof msg, "rnnkit native %s: ", c->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  if (range) napi_throw_range_error(c->env, "ERR_RNNKIT_NATIVE_RANGE", msg);
  else napi_throw_type_error(c->env, "ERR_RNNKIT_NATIVE_ARG", msg);
}

static bool begin(Call *c, napi_env env, napi_callback_info info, const char *fn, size_t want) {
  c->env = env;
  c->fn = fn;
  c->failed = false;
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, c->argv, NULL, NULL) != napi_ok) {
    c->failed = true;  // an exception is already pending
    return false;
  }
  if (argc < want) {
    fail(c, false, "expected %zu arguments, got %zu", want, argc);
    return false;
  }
  return true;
}

// Sizes and offsets: JS numbers that must be non-negative safe integers. Extents are
// products of sizes, formed with mul() so that an overflow cannot wrap around into a
// small extent that would pass the bounds checks.
#define MAX_SIZE 9007199254740992.0  // 2^53

static int64_t mul(Call *c, int64_t a, int64_t b) {
  int64_t r;
  if (c->failed) return 0;
  if (__builtin_mul_overflow(a, b, &r) || r > (int64_t)MAX_SIZE) {
    fail(c, true, "array extent %lld x %lld is too large", (long long)a, (long long)b);
    return 0;
  }
  return r;
}

static int64_t size_arg(Call *c, int i, const char *name) {
  double d;
  if (c->failed) return 0;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) {
    fail(c, false, "%s must be a number", name);
    return 0;
  }
  if (!(d >= 0 && d <= MAX_SIZE && d == floor(d))) {
    fail(c, true, "%s must be a non-negative integer, got %g", name, d);
    return 0;
  }
  return (int64_t)d;
}

static double num_arg(Call *c, int i, const char *name) {
  double d = 0;
  if (c->failed) return 0;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok) fail(c, false, "%s must be a number", name);
  return d;
}

static bool bool_arg(Call *c, int i, const char *name) {
  bool b = false;
  if (c->failed) return false;
  if (napi_get_value_bool(c->env, c->argv[i], &b) != napi_ok) fail(c, false, "%s must be a boolean", name);
  return b;
}

static bool typed_array(Call *c, int i, const char *name, napi_typedarray_type want, const char *want_name,
                        void **data, int64_t *length) {
  bool is = false;
  napi_typedarray_type type;
  size_t len = 0;
  if (napi_is_typedarray(c->env, c->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(c->env, c->argv[i], &type, &len, data, NULL, NULL) != napi_ok) {
    fail(c, false, "%s must be a %s", name, want_name);
    return false;
  }
  if (type != want) {
    // The usual mistake: a Float64Array from a gradient check (reference backend only).
    fail(c, false, "%s must be a %s (this backend computes in float32)", name, want_name);
    return false;
  }
  *length = (int64_t)len;
  return true;
}

/** A float32 array argument whose elements [off, off + extent) must exist. */
static float *f32_arg(Call *c, int i, const char *name, int64_t off, int64_t extent, F32 *out) {
  void *data = NULL;
  int64_t len = 0;
  if (c->failed || !typed_array(c, i, name, napi_float32_array, "Float32Array", &data, &len)) return NULL;
  if (off + extent > len) {
    fail(c, true, "%s needs elements [%lld, %lld) but has length %lld", name, (long long)off,
         (long long)(off + extent), (long long)len);
    return NULL;
  }
  if (out) { out->data = data; out->length = len; }
  // An empty typed array may report a NULL data pointer; nothing is read then.
  return data ? (float *)data + off : NULL;
}

static const int32_t *i32_arg(Call *c, int i, const char *name, int64_t n) {
  void *data = NULL;
  int64_t len = 0;
  if (c->failed || !typed_array(c, i, name, napi_int32_array, "Int32Array", &data, &len)) return NULL;
  if (n > len) {
    fail(c, true, "%s needs %lld entries but has length %lld", name, (long long)n, (long long)len);
    return NULL;
  }
  return data;
}

/** Elements spanned by a row-major (rows, cols) matrix with leading dimension ld. */
static int64_t mat_extent(Call *c, int64_t rows, int64_t cols, int64_t ld) {
  return rows == 0 || cols == 0 ? 0 : mul(c, rows - 1, ld) + cols;
}

// The cell kernels declare their arrays restrict so that GCC vectorises without
// runtime alias checks. That promise is kept here: an output region may not overlap
// any other region of the call (reading the same input twice is fine, and an
// in/out argument is a single region).
typedef struct {
  const char *name;
  const float *p;
  int64_t n;
  bool written;
} Region;

static bool disjoint(Call *c, const Region *r, int count) {
  if (c->failed) return false;
  for (int a = 0; a < count; a++) {
    if (!r[a].written || r[a].n == 0) continue;
    for (int b = 0; b < count; b++) {
      if (b == a || r[b].n == 0) continue;
      if (r[a].p < r[b].p + r[b].n && r[b].p < r[a].p + r[a].n) {
        fail(c, true, "%s overlaps %s (outputs must not share memory with other arguments)", r[a].name, r[b].name);
        return false;
      }
    }
  }
  return true;
}

static napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

// ---------------------------------------------------------------------------------
// Elementary functions
//
// glibc's expf/tanhf are scalar calls, which would keep every gate loop scalar (and
// libmvec is only used under -ffast-math, which we avoid because it breaks NaN
// propagation and the non-finite loss checks). These are the Cephes single-precision
// approximations: range reduction plus a short polynomial, branch-free so they inline
// into vectorised loops. Against double-precision exp/tanh on every 7th float with
// |x| <= 30 (3e8 inputs), the largest relative errors after rounding to float are
// 8.4e-8 (exp), 1.5e-7 (sigmoid) and 1.4e-7 (tanh): about 1 ulp, far inside the 2e-6
// conformance tolerance. NaN propagates: the clamps are comparisons that keep a NaN.
// ---------------------------------------------------------------------------------

static inline float exp_f(float x) {
  const float hi = 88.3762626647949f;   // above this expf overflows
  const float lo = -87.3365447505531f;  // below this the result is denormal or 0
  // Clamped so that n below stays in [-126, 127]; a NaN becomes hi here (its integer
  // conversion would be undefined) and is restored by the first select at the end.
  float xc = x < hi ? x : hi;
  xc = xc > lo ? xc : lo;
  // x = n ln2 + r with |r| <= ln2 / 2; ln2 split in two so n * C1 is exact. n is
  // rounded to nearest by adding and removing 1.5 * 2^23, which relies on the default
  // rounding mode and on no -ffast-math (floorf would not vectorise under the default
  // -ftrapping-math).
  const float round = 12582912.0f;
  float n = (xc * 1.44269504088896341f + round) - round;
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // 2^n by building the exponent field.
  union { int32_t i; float f; } scale = {((int32_t)n + 127) << 23};  // a union, not memcpy: vectorises
  float y = p * scale.f;
  y = x <= hi ? y : x + INFINITY;  // overflow: +inf; NaN: NaN
  return x < lo ? 0.0f : y;
}

static inline float sigmoid_f(float x) {
  return 1.0f / (1.0f + exp_f(-x));
}

static inline float tanh_f(float x) {
  float ax = fabsf(x);
  // Large |x|: 1 - 2 / (e^{2|x|} + 1), no cancellation since tanh > 0.55 there.
  float big = 1.0f - 2.0f / (exp_f(2.0f * ax) + 1.0f);
  big = x < 0 ? -big : big;
  // Small |x|: odd polynomial, accurate where the formula above would cancel.
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  return ax > 0.625f ? big : small;
}

// ---------------------------------------------------------------------------------
// GEMM
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
// ---------------------------------------------------------------------------------

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

static napi_value js_gemm(napi_env env, napi_callback_info info) {
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
  cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans,
              (int)M, (int)N, (int)K, (float)alpha, A, (int)lda, B, (int)ldb, (float)beta, C, (int)ldc);
  return NULL;
}

/**
 * setThreads(n, minWork, minOutput): n threads for products with M*N*K >= minWork and
 * M*N >= minOutput, one thread for the others. Returns OpenBLAS's thread count.
 */
static napi_value js_setThreads(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "setThreads", 3)) return NULL;
  int64_t n = size_arg(&c, 0, "threads");
  double minWork = num_arg(&c, 1, "minWork"), minOut = num_arg(&c, 2, "minOutput");
  if (c.failed) return NULL;
  max_threads = n < 1 ? 1 : n > 256 ? 256 : (int)n;
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
static napi_value js_info(napi_env env, napi_callback_info info) {
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

// ---------------------------------------------------------------------------------
// Rows: bias broadcast, bias gradient, embedding gather / scatter
// ---------------------------------------------------------------------------------

static napi_value js_fillRows(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "fillRows", 5)) return NULL;
  int64_t yOff = size_arg(&c, 1, "yOff"), rows = size_arg(&c, 3, "rows"), n = size_arg(&c, 4, "n");
  int64_t total = mul(&c, rows, n);
  float *Y = f32_arg(&c, 0, "Y", yOff, total, NULL);
  const float *bias = f32_arg(&c, 2, "bias", 0, n, NULL);
  if (c.failed) return NULL;
  // memmove: a caller may legitimately broadcast a row of Y into Y.
  for (int64_t r = 0; r < rows; r++) memmove(Y + r * n, bias, (size_t)n * sizeof(float));
  return NULL;
}

static napi_value js_sumRows(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "sumRows", 5)) return NULL;
  int64_t dyOff = size_arg(&c, 2, "dyOff"), rows = size_arg(&c, 3, "rows"), n = size_arg(&c, 4, "n");
  float *db = f32_arg(&c, 0, "db", 0, n, NULL);
  int64_t total = mul(&c, rows, n);
  const float *dY = f32_arg(&c, 1, "dY", dyOff, total, NULL);
  Region reg[] = {{"db", db, n, true}, {"dY", dY, total, false}};
  if (!disjoint(&c, reg, 2)) return NULL;
  // Row by row into db, the reference's order: same float roundings, same result.
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict row = dY + r * n;
    float *restrict d = db;
    for (int64_t j = 0; j < n; j++) d[j] += row[j];
  }
  return NULL;
}

static napi_value js_gatherRows(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "gatherRows", 6)) return NULL;
  int64_t yOff = size_arg(&c, 1, "yOff"), N = size_arg(&c, 4, "N"), w = size_arg(&c, 5, "width");
  F32 tab = {0};
  float *Y = f32_arg(&c, 0, "Y", yOff, mul(&c, N, w), NULL);
  const float *table = f32_arg(&c, 2, "table", 0, 0, &tab);
  const int32_t *ids = i32_arg(&c, 3, "ids", N);
  if (c.failed) return NULL;
  int64_t rowsInTable = w ? tab.length / w : INT64_MAX;
  for (int64_t n = 0; n < N; n++) {
    if (ids[n] < 0 || ids[n] >= rowsInTable) {
      fail(&c, true, "ids[%lld] = %d outside the table's %lld rows", (long long)n, ids[n], (long long)rowsInTable);
      return NULL;
    }
  }
  for (int64_t n = 0; n < N; n++) memmove(Y + n * w, table + (int64_t)ids[n] * w, (size_t)w * sizeof(float));
  return NULL;
}

static napi_value js_scatterAddRows(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "scatterAddRows", 6)) return NULL;
  int64_t dyOff = size_arg(&c, 2, "dyOff"), N = size_arg(&c, 4, "N"), w = size_arg(&c, 5, "width");
  F32 tab = {0};
  float *dtable = f32_arg(&c, 0, "dtable", 0, 0, &tab);
  int64_t total = mul(&c, N, w);
  const float *dY = f32_arg(&c, 1, "dY", dyOff, total, NULL);
  const int32_t *ids = i32_arg(&c, 3, "ids", N);
  if (c.failed) return NULL;
  Region reg[] = {{"dtable", tab.data, tab.length, true}, {"dY", dY, total, false}};
  if (!disjoint(&c, reg, 2)) return NULL;
  int64_t rowsInTable = w ? tab.length / w : INT64_MAX;
  for (int64_t n = 0; n < N; n++) {
    if (ids[n] < 0 || ids[n] >= rowsInTable) {
      fail(&c, true, "ids[%lld] = %d outside the table's %lld rows", (long long)n, ids[n], (long long)rowsInTable);
      return NULL;
    }
  }
  // In id order, so a repeated id accumulates exactly as in the reference.
  for (int64_t n = 0; n < N; n++) {
    float *restrict d = dtable + (int64_t)ids[n] * w;
    const float *restrict s = dY + n * w;
    for (int64_t k = 0; k < w; k++) d[k] += s[k];
  }
  return NULL;
}

// ---------------------------------------------------------------------------------
// Recurrent cells
//
// One fused pass per batch row: gate activations, state update and output together,
// so each gate value is loaded once. Float arithmetic throughout; the reference works
// in double and rounds on store, which the tolerance covers with room to spare.
// ---------------------------------------------------------------------------------

static void lstm_forward(float *restrict g, float *restrict c, float *restrict tc, float *restrict h,
                         const float *restrict cp, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; b++) {
    float *restrict gi = g + b * 4 * H, *restrict gf = gi + H, *restrict gg = gi + 2 * H, *restrict go = gi + 3 * H;
    float *restrict cr = c + b * H, *restrict tr = tc + b * H, *restrict hr = h + b * H;
    const float *restrict pr = cp + b * H;
    for (int64_t j = 0; j < H; j++) {
      float i = sigmoid_f(gi[j]), f = sigmoid_f(gf[j]), u = tanh_f(gg[j]), o = sigmoid_f(go[j]);
      gi[j] = i; gf[j] = f; gg[j] = u; go[j] = o;
      float ct = f * pr[j] + i * u, t = tanh_f(ct);
      cr[j] = ct; tr[j] = t; hr[j] = o * t;
    }
  }
}

static napi_value js_lstmStepForward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "lstmStepForward", 12)) return NULL;
  int64_t gOff = size_arg(&c, 1, "gOff"), cOff = size_arg(&c, 3, "cOff"), tcOff = size_arg(&c, 5, "tcOff");
  int64_t hOff = size_arg(&c, 7, "hOff"), cpOff = size_arg(&c, 9, "cpOff");
  int64_t B = size_arg(&c, 10, "B"), H = size_arg(&c, 11, "H"), BH = mul(&c, B, H), BG = mul(&c, 4, BH);
  float *g = f32_arg(&c, 0, "gates", gOff, BG, NULL);
  float *cs = f32_arg(&c, 2, "c", cOff, BH, NULL);
  float *tc = f32_arg(&c, 4, "tc", tcOff, BH, NULL);
  float *h = f32_arg(&c, 6, "h", hOff, BH, NULL);
  const float *cp = f32_arg(&c, 8, "cPrev", cpOff, BH, NULL);
  Region reg[] = {{"gates", g, BG, true}, {"c", cs, BH, true}, {"tc", tc, BH, true}, {"h", h, BH, true},
                  {"cPrev", cp, BH, false}};
  if (!disjoint(&c, reg, 5)) return NULL;
  lstm_forward(g, cs, tc, h, cp, B, H);
  return NULL;
}

static void lstm_backward(float *restrict dg, float *restrict dc, const float *restrict dh, const float *restrict g,
                          const float *restrict tc, const float *restrict cp, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; b++) {
    const float *restrict gi = g + b * 4 * H, *restrict gf = gi + H, *restrict gg = gi + 2 * H, *restrict go = gi + 3 * H;
    float *restrict di = dg + b * 4 * H, *restrict df = di + H, *restrict du = di + 2 * H, *restrict dO = di + 3 * H;
    float *restrict dcr = dc + b * H;
    const float *restrict dhr = dh + b * H, *restrict tr = tc + b * H, *restrict pr = cp + b * H;
    for (int64_t j = 0; j < H; j++) {
      float i = gi[j], f = gf[j], u = gg[j], o = go[j], t = tr[j], d = dhr[j];
      float dct = dcr[j] + d * o * (1.0f - t * t);
      di[j] = dct * u * i * (1.0f - i);
      df[j] = dct * pr[j] * f * (1.0f - f);
      du[j] = dct * i * (1.0f - u * u);
      dO[j] = d * t * o * (1.0f - o);
      dcr[j] = dct * f;
    }
  }
}

static napi_value js_lstmStepBackward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "lstmStepBackward", 12)) return NULL;
  int64_t dgOff = size_arg(&c, 1, "dgOff"), gOff = size_arg(&c, 5, "gOff"), tcOff = size_arg(&c, 7, "tcOff");
  int64_t cpOff = size_arg(&c, 9, "cpOff"), B = size_arg(&c, 10, "B"), H = size_arg(&c, 11, "H");
  int64_t BH = mul(&c, B, H), BG = mul(&c, 4, BH);
  float *dg = f32_arg(&c, 0, "dgates", dgOff, BG, NULL);
  float *dc = f32_arg(&c, 2, "dc", 0, BH, NULL);
  const float *dh = f32_arg(&c, 3, "dh", 0, BH, NULL);
  const float *g = f32_arg(&c, 4, "gates", gOff, BG, NULL);
  const float *tc = f32_arg(&c, 6, "tc", tcOff, BH, NULL);
  const float *cp = f32_arg(&c, 8, "cPrev", cpOff, BH, NULL);
  Region reg[] = {{"dgates", dg, BG, true}, {"dc", dc, BH, true}, {"dh", dh, BH, false},
                  {"gates", g, BG, false}, {"tc", tc, BH, false}, {"cPrev", cp, BH, false}};
  if (!disjoint(&c, reg, 6)) return NULL;
  lstm_backward(dg, dc, dh, g, tc, cp, B, H);
  return NULL;
}

static void gru_forward(float *restrict gx, const float *restrict gh, float *restrict h, const float *restrict hp,
                        int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; b++) {
    float *restrict xr = gx + b * 3 * H, *restrict xz = xr + H, *restrict xn = xr + 2 * H;
    const float *restrict hr = gh + b * 3 * H, *restrict hz = hr + H, *restrict hn = hr + 2 * H;
    float *restrict out = h + b * H;
    const float *restrict prev = hp + b * H;
    for (int64_t j = 0; j < H; j++) {
      float r = sigmoid_f(xr[j] + hr[j]);
      float z = sigmoid_f(xz[j] + hz[j]);
      float n = tanh_f(xn[j] + r * hn[j]);
      xr[j] = r; xz[j] = z; xn[j] = n;
      out[j] = (1.0f - z) * n + z * prev[j];
    }
  }
}

static napi_value js_gruStepForward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "gruStepForward", 10)) return NULL;
  int64_t gxOff = size_arg(&c, 1, "gxOff"), ghOff = size_arg(&c, 3, "ghOff"), hOff = size_arg(&c, 5, "hOff");
  int64_t hpOff = size_arg(&c, 7, "hpOff"), B = size_arg(&c, 8, "B"), H = size_arg(&c, 9, "H");
  int64_t BH = mul(&c, B, H), BG = mul(&c, 3, BH);
  float *gx = f32_arg(&c, 0, "gx", gxOff, BG, NULL);
  const float *gh = f32_arg(&c, 2, "gh", ghOff, BG, NULL);
  float *h = f32_arg(&c, 4, "h", hOff, BH, NULL);
  const float *hp = f32_arg(&c, 6, "hPrev", hpOff, BH, NULL);
  Region reg[] = {{"gx", gx, BG, true}, {"gh", gh, BG, false}, {"h", h, BH, true}, {"hPrev", hp, BH, false}};
  if (!disjoint(&c, reg, 4)) return NULL;
  gru_forward(gx, gh, h, hp, B, H);
  return NULL;
}

static void gru_backward(float *restrict dgx, float *restrict dgh, float *restrict dh, const float *restrict a,
                         const float *restrict gh, const float *restrict hp, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; b++) {
    const float *restrict ar = a + b * 3 * H, *restrict az = ar + H, *restrict an = ar + 2 * H;
    const float *restrict ghn = gh + b * 3 * H + 2 * H;
    float *restrict xr = dgx + b * 3 * H, *restrict xz = xr + H, *restrict xn = xr + 2 * H;
    float *restrict hr = dgh + b * 3 * H, *restrict hz = hr + H, *restrict hn = hr + 2 * H;
    float *restrict d = dh + b * H;
    const float *restrict prev = hp + b * H;
    for (int64_t j = 0; j < H; j++) {
      float r = ar[j], z = az[j], n = an[j], dj = d[j];
      float dn = dj * (1.0f - z) * (1.0f - n * n);
      float dz = dj * (prev[j] - n) * z * (1.0f - z);
      float dr = dn * ghn[j] * r * (1.0f - r);
      xr[j] = dr; xz[j] = dz; xn[j] = dn;
      hr[j] = dr; hz[j] = dz; hn[j] = dn * r;
      d[j] = dj * z;
    }
  }
}

static napi_value js_gruStepBackward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "gruStepBackward", 13)) return NULL;
  int64_t dgxOff = size_arg(&c, 1, "dgxOff"), dghOff = size_arg(&c, 3, "dghOff"), aOff = size_arg(&c, 6, "aOff");
  int64_t ghOff = size_arg(&c, 8, "ghOff"), hpOff = size_arg(&c, 10, "hpOff");
  int64_t B = size_arg(&c, 11, "B"), H = size_arg(&c, 12, "H"), BH = mul(&c, B, H), BG = mul(&c, 3, BH);
  float *dgx = f32_arg(&c, 0, "dgx", dgxOff, BG, NULL);
  float *dgh = f32_arg(&c, 2, "dgh", dghOff, BG, NULL);
  float *dh = f32_arg(&c, 4, "dh", 0, BH, NULL);
  const float *a = f32_arg(&c, 5, "act", aOff, BG, NULL);
  const float *gh = f32_arg(&c, 7, "gh", ghOff, BG, NULL);
  const float *hp = f32_arg(&c, 9, "hPrev", hpOff, BH, NULL);
  Region reg[] = {{"dgx", dgx, BG, true}, {"dgh", dgh, BG, true}, {"dh", dh, BH, true},
                  {"act", a, BG, false}, {"gh", gh, BG, false}, {"hPrev", hp, BH, false}};
  if (!disjoint(&c, reg, 6)) return NULL;
  gru_backward(dgx, dgh, dh, a, gh, hp, B, H);
  return NULL;
}

// Elman cells are single-stream elementwise maps; out == in (in place) is allowed,
// so no restrict here and GCC versions the loop on a runtime overlap check.
static napi_value js_rnnStepForward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "rnnStepForward", 6)) return NULL;
  bool relu = bool_arg(&c, 0, "relu");
  int64_t hOff = size_arg(&c, 2, "hOff"), pOff = size_arg(&c, 4, "pOff"), n = size_arg(&c, 5, "n");
  float *h = f32_arg(&c, 1, "h", hOff, n, NULL);
  const float *pre = f32_arg(&c, 3, "pre", pOff, n, NULL);
  if (c.failed) return NULL;
  if (relu) for (int64_t k = 0; k < n; k++) { float v = pre[k]; h[k] = v > 0 ? v : 0.0f; }
  else for (int64_t k = 0; k < n; k++) h[k] = tanh_f(pre[k]);
  return NULL;
}

static napi_value js_rnnStepBackward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "rnnStepBackward", 7)) return NULL;
  bool relu = bool_arg(&c, 0, "relu");
  int64_t dpOff = size_arg(&c, 2, "dpOff"), hOff = size_arg(&c, 5, "hOff"), n = size_arg(&c, 6, "n");
  float *dp = f32_arg(&c, 1, "dpre", dpOff, n, NULL);
  const float *dh = f32_arg(&c, 3, "dh", 0, n, NULL);
  const float *h = f32_arg(&c, 4, "h", hOff, n, NULL);
  if (c.failed) return NULL;
  if (relu) for (int64_t k = 0; k < n; k++) dp[k] = h[k] > 0 ? dh[k] : 0.0f;
  else for (int64_t k = 0; k < n; k++) { float y = h[k]; dp[k] = dh[k] * (1.0f - y * y); }
  return NULL;
}

// ---------------------------------------------------------------------------------
// Layer norm over rows
//
// Per row: the sums in double (8 independent lanes, so GCC vectorises them without
// reassociating), mean and rstd = 1/sqrt(var + eps) from them as in the reference,
// then the normalisation and the gain in float. The reference is in double; the float
// steps cost about an ulp each. x may be xhat (in place) and dx may be dout: those
// pairs are either the same pointer or disjoint (checked), and each case has a loop
// with restrict pointers of its own, so both vectorise without runtime alias checks.
// ---------------------------------------------------------------------------------

/** An optional float32 array: null or undefined gives NULL (no error). */
static float *f32_opt_arg(Call *c, int i, const char *name, int64_t off, int64_t extent) {
  napi_valuetype t;
  if (c->failed) return NULL;
  if (napi_typeof(c->env, c->argv[i], &t) != napi_ok) {
    fail(c, false, "%s must be a Float32Array or null", name);
    return NULL;
  }
  if (t == napi_null || t == napi_undefined) return NULL;
  return f32_arg(c, i, name, off, extent, NULL);
}

/** Σ x and Σ x² over n floats, in double. */
static void row_moments(const float *restrict x, int64_t n, double *sum, double *sumsq) {
  double s[8] = {0}, q[8] = {0};
  int64_t i = 0;
  // two loops: GCC 12 leaves the lanes scalar when one loop updates both
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) s[k] += x[i + k];
  for (i = 0; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) q[k] += (double)x[i + k] * (double)x[i + k];
  double ts = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  double tq = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
  for (; i < n; i++) {
    double v = x[i];
    ts += v;
    tq += v * v;
  }
  *sum = ts;
  *sumsq = tq;
}

/** xhat = (x - m) q, out (+)= gamma xhat + beta over one row, x distinct from xhat. */
static void ln_apply(float *restrict out, float *restrict h, const float *restrict x, const float *restrict gamma,
                     const float *restrict beta, int64_t n, float m, float q, bool acc) {
  if (acc)
    for (int64_t j = 0; j < n; j++) { float v = (x[j] - m) * q; h[j] = v; out[j] += gamma[j] * v + beta[j]; }
  else
    for (int64_t j = 0; j < n; j++) { float v = (x[j] - m) * q; h[j] = v; out[j] = gamma[j] * v + beta[j]; }
}

/** ln_apply with x = xhat (in place). */
static void ln_apply_inplace(float *restrict out, float *restrict h, const float *restrict gamma,
                             const float *restrict beta, int64_t n, float m, float q, bool acc) {
  if (acc)
    for (int64_t j = 0; j < n; j++) { float v = (h[j] - m) * q; h[j] = v; out[j] += gamma[j] * v + beta[j]; }
  else
    for (int64_t j = 0; j < n; j++) { float v = (h[j] - m) * q; h[j] = v; out[j] = gamma[j] * v + beta[j]; }
}

static napi_value js_layerNormForward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "layerNormForward", 14)) return NULL;
  int64_t outOff = size_arg(&c, 1, "outOff"), xhatOff = size_arg(&c, 3, "xhatOff"), rOff = size_arg(&c, 5, "rOff");
  int64_t xOff = size_arg(&c, 7, "xOff"), rows = size_arg(&c, 10, "rows"), n = size_arg(&c, 11, "n");
  double eps = num_arg(&c, 12, "eps");
  bool acc = bool_arg(&c, 13, "accumulate");
  int64_t total = mul(&c, rows, n);
  float *out = f32_arg(&c, 0, "out", outOff, total, NULL);
  float *xhat = f32_arg(&c, 2, "xhat", xhatOff, total, NULL);
  float *rstd = f32_arg(&c, 4, "rstd", rOff, rows, NULL);
  const float *x = f32_arg(&c, 6, "x", xOff, total, NULL);
  const float *gamma = f32_arg(&c, 8, "gamma", 0, n, NULL);
  const float *beta = f32_arg(&c, 9, "beta", 0, n, NULL);
  bool inplace = x == xhat;  // x read where xhat is written: one region
  Region reg[] = {{"out", out, total, true}, {"xhat", xhat, total, true}, {"rstd", rstd, rows, true},
                  {"gamma", gamma, n, false}, {"beta", beta, n, false}, {"x", x, inplace ? 0 : total, false}};
  if (!disjoint(&c, reg, 6)) return NULL;
  for (int64_t r = 0; r < rows; r++) {
    float *h = xhat + r * n;
    const float *xr = inplace ? h : x + r * n;
    double sum, ss;
    row_moments(xr, n, &sum, &ss);
    double mean = sum / (double)n, var = ss / (double)n - mean * mean;
    double rs = 1.0 / sqrt((var < 0 ? 0 : var) + eps);  // a NaN stays NaN, as Math.max(NaN, 0)
    rstd[r] = (float)rs;
    if (inplace) ln_apply_inplace(out + r * n, h, gamma, beta, n, (float)mean, (float)rs, acc);
    else ln_apply(out + r * n, h, xr, gamma, beta, n, (float)mean, (float)rs, acc);
  }
  return NULL;
}

/** Σ g and Σ g xhat over one row, g = dout gamma, in double. */
static void ln_grad_sums(const float *restrict d, const float *restrict h, const float *restrict gamma, int64_t n,
                         double *sg, double *sgx) {
  double s[8] = {0}, q[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)  // two loops, as in row_moments
    for (int k = 0; k < 8; k++) s[k] += (double)d[i + k] * (double)gamma[i + k];
  for (i = 0; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) q[k] += (double)d[i + k] * (double)gamma[i + k] * (double)h[i + k];
  double ts = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  double tq = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
  for (; i < n; i++) {
    double g = (double)d[i] * (double)gamma[i];
    ts += g;
    tq += g * (double)h[i];
  }
  *sg = ts;
  *sgx = tq;
}

/** dgamma += d xhat, dbeta += d (when dbeta) over one row. */
static void ln_param_grads(float *restrict dgamma, float *restrict dbeta, const float *restrict d,
                           const float *restrict h, int64_t n) {
  for (int64_t j = 0; j < n; j++) dgamma[j] += d[j] * h[j];
  if (dbeta) for (int64_t j = 0; j < n; j++) dbeta[j] += d[j];
}

/** dx (+)= rs (d gamma - a - xhat b) over one row, dx distinct from d. */
static void ln_dx(float *restrict dx, const float *restrict d, const float *restrict h, const float *restrict gamma,
                  int64_t n, float rs, float a, float b, bool acc) {
  if (acc) for (int64_t j = 0; j < n; j++) dx[j] += rs * (d[j] * gamma[j] - a - h[j] * b);
  else for (int64_t j = 0; j < n; j++) dx[j] = rs * (d[j] * gamma[j] - a - h[j] * b);
}

/** ln_dx with dx = d (in place). */
static void ln_dx_inplace(float *restrict dx, const float *restrict h, const float *restrict gamma, int64_t n,
                          float rs, float a, float b, bool acc) {
  if (acc) for (int64_t j = 0; j < n; j++) { float d = dx[j]; dx[j] = d + rs * (d * gamma[j] - a - h[j] * b); }
  else for (int64_t j = 0; j < n; j++) dx[j] = rs * (dx[j] * gamma[j] - a - h[j] * b);
}

static napi_value js_layerNormBackward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "layerNormBackward", 14)) return NULL;
  int64_t dxOff = size_arg(&c, 1, "dxOff"), doutOff = size_arg(&c, 5, "doutOff"), xhatOff = size_arg(&c, 7, "xhatOff");
  int64_t rOff = size_arg(&c, 9, "rOff"), rows = size_arg(&c, 11, "rows"), n = size_arg(&c, 12, "n");
  bool acc = bool_arg(&c, 13, "accumulate");
  int64_t total = mul(&c, rows, n);
  float *dx = f32_arg(&c, 0, "dx", dxOff, total, NULL);
  float *dgamma = f32_arg(&c, 2, "dgamma", 0, n, NULL);
  float *dbeta = f32_opt_arg(&c, 3, "dbeta", 0, n);
  const float *dout = f32_arg(&c, 4, "dout", doutOff, total, NULL);
  const float *xhat = f32_arg(&c, 6, "xhat", xhatOff, total, NULL);
  const float *rstd = f32_arg(&c, 8, "rstd", rOff, rows, NULL);
  const float *gamma = f32_arg(&c, 10, "gamma", 0, n, NULL);
  bool inplace = dout == dx;  // dout read where dx is written: one region
  Region reg[] = {{"dx", dx, total, true}, {"dgamma", dgamma, n, true}, {"dbeta", dbeta, dbeta ? n : 0, true},
                  {"dout", dout, inplace ? 0 : total, false}, {"xhat", xhat, total, false},
                  {"rstd", rstd, rows, false}, {"gamma", gamma, n, false}};
  if (!disjoint(&c, reg, 7)) return NULL;
  for (int64_t r = 0; r < rows; r++) {
    const float *d = dout + r * n, *h = xhat + r * n;
    double sg, sgx;
    ln_grad_sums(d, h, gamma, n, &sg, &sgx);
    ln_param_grads(dgamma, dbeta, d, h, n);
    float a = (float)(sg / (double)n), b = (float)(sgx / (double)n);
    if (inplace) ln_dx_inplace(dx + r * n, h, gamma, n, rstd[r], a, b, acc);
    else ln_dx(dx + r * n, d, h, gamma, n, rstd[r], a, b, acc);
  }
  return NULL;
}

// ---------------------------------------------------------------------------------
// Softmax cross-entropy
//
// Per row: max, exponentials into probs, normalise. The row max and sum use several
// independent lanes so GCC can vectorise the reductions without -ffast-math's licence
// to reassociate; the loss itself is accumulated in double, as in the reference.
// ---------------------------------------------------------------------------------

#define LANES 16

static float row_max(const float *x, int64_t n) {
  float m[LANES];
  for (int k = 0; k < LANES; k++) m[k] = -INFINITY;
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int k = 0; k < LANES; k++) m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
  float best = -INFINITY;
  for (int k = 0; k < LANES; k++) best = m[k] > best ? m[k] : best;
  for (; i < n; i++) best = x[i] > best ? x[i] : best;
  return best;
}

/** e[v] = exp(x[v] - max), returns Σ e in double (partial sums in float lanes). */
static double exp_shifted(float *e, const float *x, int64_t n, float max) {
  float s[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int k = 0; k < LANES; k++) {
      float v = exp_f(x[i + k] - max);
      e[i + k] = v;
      s[k] += v;
    }
  double sum = 0;
  for (int k = 0; k < LANES; k++) sum += s[k];
  for (; i < n; i++) {
    float v = exp_f(x[i] - max);
    e[i] = v;
    sum += v;
  }
  return sum;
}

static napi_value js_softmaxXent(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "softmaxXent", 5)) return NULL;
  int64_t N = size_arg(&c, 3, "N"), V = size_arg(&c, 4, "V");
  int64_t NV = mul(&c, N, V);
  float *probs = f32_arg(&c, 0, "probs", 0, NV, NULL);
  const float *logits = f32_arg(&c, 1, "logits", 0, NV, NULL);
  const int32_t *targets = i32_arg(&c, 2, "targets", N);
  Region reg[] = {{"probs", probs, NV, true}, {"logits", logits, NV, false}};
  if (!disjoint(&c, reg, 2)) return NULL;
  for (int64_t r = 0; r < N; r++)
    if (targets[r] >= V) {
      fail(&c, true, "targets[%lld] = %d outside the vocabulary (size %lld)", (long long)r, targets[r], (long long)V);
      return NULL;
    }
  double loss = 0;
  for (int64_t r = 0; r < N; r++) {
    const float *x = logits + r * V;
    float *p = probs + r * V;
    float max = row_max(x, V);
    double sum = exp_shifted(p, x, V, max);
    float inv = (float)(1.0 / sum);
    for (int64_t v = 0; v < V; v++) p[v] *= inv;
    int32_t t = targets[r];
    if (t >= 0) loss += log(sum) + (double)max - (double)x[t];
  }
  return number(env, loss);
}

static napi_value js_softmaxXentBackward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "softmaxXentBackward", 6)) return NULL;
  int64_t N = size_arg(&c, 3, "N"), V = size_arg(&c, 4, "V");
  double scale = num_arg(&c, 5, "scale");
  int64_t NV = mul(&c, N, V);
  float *dl = f32_arg(&c, 0, "dlogits", 0, NV, NULL);
  const float *probs = f32_arg(&c, 1, "probs", 0, NV, NULL);
  const int32_t *targets = i32_arg(&c, 2, "targets", N);
  if (c.failed) return NULL;
  for (int64_t r = 0; r < N; r++)
    if (targets[r] >= V) {
      fail(&c, true, "targets[%lld] = %d outside the vocabulary (size %lld)", (long long)r, targets[r], (long long)V);
      return NULL;
    }
  // In double like the reference (scale is 1/count, not a float32 value). The loop
  // is elementwise, so dlogits may be probs itself (in place).
  for (int64_t r = 0; r < N; r++) {
    float *d = dl + r * V;
    const float *p = probs + r * V;
    int32_t t = targets[r];
    if (t < 0) { memset(d, 0, (size_t)V * sizeof(float)); continue; }
    for (int64_t v = 0; v < V; v++) d[v] = (float)(p[v] * scale);
    d[t] = (float)(d[t] - scale);
  }
  return NULL;
}

// ---------------------------------------------------------------------------------
// Flat-array ops: norms, scaling, optimizer updates
//
// Memory-bound loops over every parameter. They compute in double like the reference
// (each slot rounded to float32 when stored, then re-read), which costs nothing
// measurable next to the memory traffic and keeps the results within an ulp or two.
// ---------------------------------------------------------------------------------

static napi_value js_sumSquares(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "sumSquares", 2)) return NULL;
  int64_t n = size_arg(&c, 1, "n");
  const float *a = f32_arg(&c, 0, "a", 0, n, NULL);
  if (c.failed) return NULL;
  double s[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) s[k] += (double)a[i + k] * (double)a[i + k];
  double total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) total += (double)a[i] * (double)a[i];
  return number(env, total);
}

static napi_value js_scale(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "scale", 3)) return NULL;
  int64_t n = size_arg(&c, 1, "n");
  double s = num_arg(&c, 2, "s");
  float *a = f32_arg(&c, 0, "a", 0, n, NULL);
  if (c.failed) return NULL;
  for (int64_t i = 0; i < n; i++) a[i] = (float)(a[i] * s);
  return NULL;
}

// Optimizer arrays: p and the slots are updated, g is read; all must be distinct.
static void sgd(float *restrict p, const float *restrict g, float *restrict v, int64_t n, double lr, double mu) {
  for (int64_t i = 0; i < n; i++) {
    float vi = (float)(mu * v[i] + g[i]);
    v[i] = vi;
    p[i] = (float)(p[i] - lr * vi);
  }
}

static napi_value js_sgdStep(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "sgdStep", 6)) return NULL;
  int64_t n = size_arg(&c, 3, "n");
  double lr = num_arg(&c, 4, "lr"), mu = num_arg(&c, 5, "momentum");
  float *p = f32_arg(&c, 0, "p", 0, n, NULL);
  const float *g = f32_arg(&c, 1, "g", 0, n, NULL);
  float *v = f32_arg(&c, 2, "v", 0, n, NULL);
  Region reg[] = {{"p", p, n, true}, {"g", g, n, false}, {"v", v, n, true}};
  if (!disjoint(&c, reg, 3)) return NULL;
  sgd(p, g, v, n, lr, mu);
  return NULL;
}

static void adagrad(float *restrict p, const float *restrict g, float *restrict s, int64_t n, double lr, double eps) {
  for (int64_t i = 0; i < n; i++) {
    double gi = g[i];
    float si = (float)(s[i] + gi * gi);
    s[i] = si;
    p[i] = (float)(p[i] - lr * gi / (sqrt((double)si) + eps));
  }
}

static napi_value js_adagradStep(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "adagradStep", 6)) return NULL;
  int64_t n = size_arg(&c, 3, "n");
  double lr = num_arg(&c, 4, "lr"), eps = num_arg(&c, 5, "eps");
  float *p = f32_arg(&c, 0, "p", 0, n, NULL);
  const float *g = f32_arg(&c, 1, "g", 0, n, NULL);
  float *s = f32_arg(&c, 2, "s", 0, n, NULL);
  Region reg[] = {{"p", p, n, true}, {"g", g, n, false}, {"s", s, n, true}};
  if (!disjoint(&c, reg, 3)) return NULL;
  adagrad(p, g, s, n, lr, eps);
  return NULL;
}

static void rmsprop(float *restrict p, const float *restrict g, float *restrict s, int64_t n, double lr, double a,
                    double eps) {
  for (int64_t i = 0; i < n; i++) {
    double gi = g[i];
    float si = (float)(a * s[i] + (1 - a) * gi * gi);
    s[i] = si;
    p[i] = (float)(p[i] - lr * gi / (sqrt((double)si) + eps));
  }
}

static napi_value js_rmspropStep(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "rmspropStep", 7)) return NULL;
  int64_t n = size_arg(&c, 3, "n");
  double lr = num_arg(&c, 4, "lr"), a = num_arg(&c, 5, "alpha"), eps = num_arg(&c, 6, "eps");
  float *p = f32_arg(&c, 0, "p", 0, n, NULL);
  const float *g = f32_arg(&c, 1, "g", 0, n, NULL);
  float *s = f32_arg(&c, 2, "s", 0, n, NULL);
  Region reg[] = {{"p", p, n, true}, {"g", g, n, false}, {"s", s, n, true}};
  if (!disjoint(&c, reg, 3)) return NULL;
  rmsprop(p, g, s, n, lr, a, eps);
  return NULL;
}

static void adam(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                 double step, double b1, double b2, double sq, double eps) {
  for (int64_t i = 0; i < n; i++) {
    double gi = g[i];
    float mi = (float)(b1 * m[i] + (1 - b1) * gi);
    float vi = (float)(b2 * v[i] + (1 - b2) * gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = (float)(p[i] - step * mi / (sqrt((double)vi) / sq + eps));
  }
}

static napi_value js_adamStep(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "adamStep", 10)) return NULL;
  int64_t n = size_arg(&c, 4, "n");
  double lr = num_arg(&c, 5, "lr"), b1 = num_arg(&c, 6, "beta1"), b2 = num_arg(&c, 7, "beta2");
  double eps = num_arg(&c, 8, "eps"), t = num_arg(&c, 9, "t");
  float *p = f32_arg(&c, 0, "p", 0, n, NULL);
  const float *g = f32_arg(&c, 1, "g", 0, n, NULL);
  float *m = f32_arg(&c, 2, "m", 0, n, NULL);
  float *v = f32_arg(&c, 3, "v", 0, n, NULL);
  Region reg[] = {{"p", p, n, true}, {"g", g, n, false}, {"m", m, n, true}, {"v", v, n, true}};
  if (!disjoint(&c, reg, 4)) return NULL;
  // Bias corrections exactly as the reference: step size lr / bc1, denominator √v / √bc2 + eps.
  double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
  adam(p, g, m, v, n, lr / bc1, b1, b2, sqrt(bc2), eps);
  return NULL;
}

// ---------------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------------

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"gemm", js_gemm},
      {"fillRows", js_fillRows},
      {"sumRows", js_sumRows},
      {"lstmStepForward", js_lstmStepForward},
      {"lstmStepBackward", js_lstmStepBackward},
      {"gruStepForward", js_gruStepForward},
      {"gruStepBackward", js_gruStepBackward},
      {"rnnStepForward", js_rnnStepForward},
      {"rnnStepBackward", js_rnnStepBackward},
      {"layerNormForward", js_layerNormForward},
      {"layerNormBackward", js_layerNormBackward},
      {"softmaxXent", js_softmaxXent},
      {"softmaxXentBackward", js_softmaxXentBackward},
      {"gatherRows", js_gatherRows},
      {"scatterAddRows", js_scatterAddRows},
      {"sumSquares", js_sumSquares},
      {"scale", js_scale},
      {"sgdStep", js_sgdStep},
      {"adagradStep", js_adagradStep},
      {"rmspropStep", js_rmspropStep},
      {"adamStep", js_adamStep},
      {"setThreads", js_setThreads},
      {"info", js_info},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
