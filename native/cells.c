// Recurrent cells: LSTM, GRU and Elman (tanh / ReLU) step forward and backward, one
// step per call (the arithmetic is in cell_loops.h, shared with sequence.c's fused time
// loops). Float arithmetic throughout; the reference works in double and rounds on
// store, which the tolerance covers with room to spare.

#include "bindings.h"
#include "napi_args.h"
#include "cell_loops.h"

napi_value js_lstmStepForward(napi_env env, napi_callback_info info) {
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
  lstm_forward(g, cs, tc, h, cp, B, H, 0, H);
  return NULL;
}


napi_value js_lstmStepBackward(napi_env env, napi_callback_info info) {
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
  lstm_backward(dg, dc, dh, g, tc, cp, B, H, 0, H);
  return NULL;
}


napi_value js_gruStepForward(napi_env env, napi_callback_info info) {
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
  gru_forward(gx, gh, h, hp, B, H, 0, H);
  return NULL;
}


napi_value js_gruStepBackward(napi_env env, napi_callback_info info) {
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
  gru_backward(dgx, dgh, dh, a, gh, hp, B, H, 0, H);
  return NULL;
}

// Elman cells are single-stream elementwise maps; out == in (in place) is allowed,
// so no restrict here and GCC versions the loop on a runtime overlap check.
napi_value js_rnnStepForward(napi_env env, napi_callback_info info) {
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

napi_value js_rnnStepBackward(napi_env env, napi_callback_info info) {
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
