// Recurrent cells: LSTM, GRU and Elman (tanh / ReLU) step forward and backward.
//
// One fused pass per batch row: gate activations, state update and output together,
// so each gate value is loaded once. Float arithmetic throughout; the reference works
// in double and rounds on store, which the tolerance covers with room to spare.

#include "bindings.h"
#include "napi_args.h"
#include "elementary.h"

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
  gru_backward(dgx, dgh, dh, a, gh, hp, B, H);
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
