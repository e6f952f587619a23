// The cells' arithmetic, shared by the per-step kernels (cells.c) and the fused time
// loops (sequence.c): one fused pass per batch row over hidden units [j0, j1), so a
// time loop can give each thread its own units. Rows are (B, G*H) for gates and
// (B, H) for states.

#ifndef RNNKIT_CELL_LOOPS_H
#define RNNKIT_CELL_LOOPS_H

#include <stdbool.h>
#include <stdint.h>

#include "elementary.h"

static inline void lstm_forward(float *restrict g, float *restrict c, float *restrict tc, float *restrict h,
                                const float *restrict cp, int64_t B, int64_t H, int64_t j0, int64_t j1) {
  for (int64_t b = 0; b < B; b++) {
    float *restrict gi = g + b * 4 * H, *restrict gf = gi + H, *restrict gg = gi + 2 * H, *restrict go = gi + 3 * H;
    float *restrict cr = c + b * H, *restrict tr = tc + b * H, *restrict hr = h + b * H;
    const float *restrict pr = cp + b * H;
    for (int64_t j = j0; j < j1; j++) {
      float i = sigmoid_f(gi[j]), f = sigmoid_f(gf[j]), u = tanh_f(gg[j]), o = sigmoid_f(go[j]);
      gi[j] = i; gf[j] = f; gg[j] = u; go[j] = o;
      float ct = f * pr[j] + i * u, t = tanh_f(ct);
      cr[j] = ct; tr[j] = t; hr[j] = o * t;
    }
  }
}

static inline void lstm_backward(float *restrict dg, float *restrict dc, const float *restrict dh, const float *restrict g,
                                 const float *restrict tc, const float *restrict cp, int64_t B, int64_t H, int64_t j0, int64_t j1) {
  for (int64_t b = 0; b < B; b++) {
    const float *restrict gi = g + b * 4 * H, *restrict gf = gi + H, *restrict gg = gi + 2 * H, *restrict go = gi + 3 * H;
    float *restrict di = dg + b * 4 * H, *restrict df = di + H, *restrict du = di + 2 * H, *restrict dO = di + 3 * H;
    float *restrict dcr = dc + b * H;
    const float *restrict dhr = dh + b * H, *restrict tr = tc + b * H, *restrict pr = cp + b * H;
    for (int64_t j = j0; j < j1; j++) {
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

static inline void gru_forward(float *restrict gx, const float *restrict gh, float *restrict h, const float *restrict hp,
                               int64_t B, int64_t H, int64_t j0, int64_t j1) {
  for (int64_t b = 0; b < B; b++) {
    float *restrict xr = gx + b * 3 * H, *restrict xz = xr + H, *restrict xn = xr + 2 * H;
    const float *restrict hr = gh + b * 3 * H, *restrict hz = hr + H, *restrict hn = hr + 2 * H;
    float *restrict out = h + b * H;
    const float *restrict prev = hp + b * H;
    for (int64_t j = j0; j < j1; j++) {
      float r = sigmoid_f(xr[j] + hr[j]);
      float z = sigmoid_f(xz[j] + hz[j]);
      float n = tanh_f(xn[j] + r * hn[j]);
      xr[j] = r; xz[j] = z; xn[j] = n;
      out[j] = (1.0f - z) * n + z * prev[j];
    }
  }
}

static inline void gru_backward(float *restrict dgx, float *restrict dgh, float *restrict dh, const float *restrict a,
                                const float *restrict gh, const float *restrict hp, int64_t B, int64_t H, int64_t j0, int64_t j1) {
  for (int64_t b = 0; b < B; b++) {
    const float *restrict ar = a + b * 3 * H, *restrict az = ar + H, *restrict an = ar + 2 * H;
    const float *restrict ghn = gh + b * 3 * H + 2 * H;
    float *restrict xr = dgx + b * 3 * H, *restrict xz = xr + H, *restrict xn = xr + 2 * H;
    float *restrict hr = dgh + b * 3 * H, *restrict hz = hr + H, *restrict hn = hr + 2 * H;
    float *restrict d = dh + b * H;
    const float *restrict prev = hp + b * H;
    for (int64_t j = j0; j < j1; j++) {
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

// Elman: h = f(pre), dpre = dh f'(.) from h. In the fused loop pre and h are distinct rows.
static inline void rnn_forward(bool relu, float *restrict h, const float *restrict pre, int64_t B, int64_t H, int64_t j0, int64_t j1) {
  for (int64_t b = 0; b < B; b++) {
    float *restrict hr = h + b * H;
    const float *restrict pr = pre + b * H;
    if (relu) for (int64_t j = j0; j < j1; j++) { float v = pr[j]; hr[j] = v > 0 ? v : 0.0f; }
    else for (int64_t j = j0; j < j1; j++) hr[j] = tanh_f(pr[j]);
  }
}

static inline void rnn_backward(bool relu, float *restrict dpre, const float *restrict dh, const float *restrict h,
                                int64_t B, int64_t H, int64_t j0, int64_t j1) {
  for (int64_t b = 0; b < B; b++) {
    float *restrict dp = dpre + b * H;
    const float *restrict dr = dh + b * H, *restrict hr = h + b * H;
    if (relu) for (int64_t j = j0; j < j1; j++) dp[j] = hr[j] > 0 ? dr[j] : 0.0f;
    else for (int64_t j = j0; j < j1; j++) { float y = hr[j]; dp[j] = dr[j] * (1.0f - y * y); }
  }
}

#endif
