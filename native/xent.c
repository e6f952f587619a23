// Softmax cross-entropy: softmaxXent (probabilities and loss) and its backward.
//
// Per row: max, exponentials into probs, normalise. The row max and sum use several
// independent lanes so GCC can vectorise the reductions without -ffast-math's licence
// to reassociate; the loss itself is accumulated in double, as in the reference.

#include "bindings.h"
#include "napi_args.h"
#include "elementary.h"

#include <math.h>
#include <string.h>

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

napi_value js_softmaxXent(napi_env env, napi_callback_info info) {
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

napi_value js_softmaxXentBackward(napi_env env, napi_callback_info info) {
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
