// Flat-array ops: norms (sumSquares), scaling, optimizer updates (SGD, Adagrad,
// RMSprop, Adam).
//
// Memory-bound loops over every parameter. They compute in double like the reference
// (each slot rounded to float32 when stored, then re-read), which costs nothing
// measurable next to the memory traffic and keeps the results within an ulp or two.

#include "bindings.h"
#include "napi_args.h"

#include <math.h>

napi_value js_sumSquares(napi_env env, napi_callback_info info) {
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

napi_value js_scale(napi_env env, napi_callback_info info) {
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

napi_value js_sgdStep(napi_env env, napi_callback_info info) {
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

napi_value js_adagradStep(napi_env env, napi_callback_info info) {
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

napi_value js_rmspropStep(napi_env env, napi_callback_info info) {
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

napi_value js_adamStep(napi_env env, napi_callback_info info) {
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
