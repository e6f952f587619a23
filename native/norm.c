// Layer norm over rows: layerNormForward and layerNormBackward.
//
// Per row: the sums in double (8 independent lanes, so GCC vectorises them without
// reassociating), mean and rstd = 1/sqrt(var + eps) from them as in the reference,
// then the normalisation and the gain in float. The reference is in double; the float
// steps cost about an ulp each. x may be xhat (in place) and dx may be dout: those
// pairs are either the same pointer or disjoint (checked), and each case has a loop
// with restrict pointers of its own, so both vectorise without runtime alias checks.

#include "bindings.h"
#include "napi_args.h"

#include <math.h>

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

napi_value js_layerNormForward(napi_env env, napi_callback_info info) {
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

napi_value js_layerNormBackward(napi_env env, napi_callback_info info) {
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
