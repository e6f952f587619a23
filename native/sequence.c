// Fused time loops: every step of a recurrent layer's forward or backward sweep in one
// call, instead of a BLAS call and a cell call per step from JS.
//
// Each thread owns a slice of the hidden units [u0, u1) and, per step, computes the
// gate columns of its units (the recurrent product on cache-resident tiles,
// tile_gemm.h) and at once their cell update; one barrier per step then publishes h_t
// (forward) or dL/dgates (backward) to the other threads. Each thread first packs the
// part of W_hh its units read (forward: W_hh^T's columns of its units in every gate;
// backward: W_hh's columns of its units) into panels, blocks of a tile's width whose
// rows lie back to back (tile_gemm.h: panel_gemm), so every step streams them in order.
//
// The layout is the packed one of src/nn/layout.ts: step t runs on the first sizes[t]
// sequences at rows offsets[t]..; state rows (hs, cs) hold the initial state in rows
// [0, B) and the state after row r in row B + r. Semantics are those of the per-step
// loops in src/nn/{lstm,gru,rnn}.ts without recurrent dropout or layer norm (those
// keep the per-step path).

#include "bindings.h"
#include "napi_args.h"
#include "cell_loops.h"
#include "pool.h"
#include "tile_gemm.h"

#include <stdlib.h>
#include <string.h>

enum { CELL_RNN_TANH = 0, CELL_RNN_RELU = 1, CELL_LSTM = 2, CELL_GRU = 3 };

typedef struct {
  int cell;
  int64_t B, H, G, t0, t1;
  const int32_t *sizes, *offsets;
  const float *whh;   // W_hh (G, H) as given
  float *panels;      // G*H floats: each thread packs the part of W_hh its units read (pack_*)
  int64_t pw;         // panel width: columns per block
  float *g, *gh, *hs, *cs, *tc;  // forward activations (see src/nn/recurrent.ts RecurrentCache)
  float *dg, *dgh, *dh, *dc;     // backward
  const float *dy;
} Seq;

// Threads' unit slices: multiples of the vector width, so every product keeps full vectors.
static void unit_slice(int64_t H, int tid, int n, int64_t *u0, int64_t *u1) {
  int64_t per = ((H + n - 1) / n + VW - 1) / VW * VW;
  *u0 = tid * per < H ? tid * per : H;
  *u1 = (tid + 1) * per < H ? (tid + 1) * per : H;
}

static inline int64_t prev_row(const Seq *s, int64_t t) { return t == 0 ? 0 : s->B + s->offsets[t - 1]; }

static void forward_thread(void *ctx, int tid, int n) {
  const Seq *s = ctx;
  const int64_t H = s->H, G = s->G, q = G / H;
  int64_t u0, u1;
  unit_slice(H, tid, n, &u0, &u1);
  int sense = 0;
  const bool relu = s->cell == CELL_RNN_RELU;
  float *acc = s->cell == CELL_GRU ? s->gh : s->g;  // where W_hh h_{t-1} is added
  // this thread's panels: for gate k, the columns k*H + [u0, u1) of W_hh^T (H rows)
  const int64_t w = u1 - u0;
  float *panel = s->panels + q * u0 * H;
  for (int64_t k = 0; k < q; k++) pack_transposed(panel + k * w * H, s->whh + (k * H + u0) * H, H, w, s->pw);
  for (int64_t t = s->t0; t < s->t1; t++) {
    const int64_t b = s->sizes[t], r = s->offsets[t], prev = prev_row(s, t), cur = s->B + r;
    if (u1 > u0) {
      const float *hp = s->hs + prev * H;
      for (int64_t k = 0; k < q; k++)
        panel_gemm(b, w, H, hp, H, panel + k * w * H, s->pw, acc + r * G + k * H + u0, G, 1);
      switch (s->cell) {
        case CELL_LSTM:
          lstm_forward(s->g + r * G, s->cs + cur * H, s->tc + r * H, s->hs + cur * H, s->cs + prev * H, b, H, u0, u1);
          break;
        case CELL_GRU:
          gru_forward(s->g + r * G, s->gh + r * G, s->hs + cur * H, hp, b, H, u0, u1);
          break;
        default:
          rnn_forward(relu, s->hs + cur * H, s->g + r * G, b, H, u0, u1);
      }
    }
    pool_sync(&sense);
  }
}

static void backward_thread(void *ctx, int tid, int n) {
  const Seq *s = ctx;
  const int64_t H = s->H, G = s->G;
  int64_t u0, u1;
  unit_slice(H, tid, n, &u0, &u1);
  int sense = 0;
  const bool relu = s->cell == CELL_RNN_RELU;
  // this thread's panel: the columns [u0, u1) of W_hh (G rows)
  const int64_t w = u1 - u0;
  float *panel = s->panels + G * u0;
  pack_columns(panel, s->whh + u0, H, G, w, s->pw);
  for (int64_t t = s->t1 - 1; t >= s->t0; t--) {
    const int64_t b = s->sizes[t], r = s->offsets[t], prev = prev_row(s, t), cur = s->B + r;
    for (int64_t i = 0; i < b; i++)  // dh += dL/dh_t from above, own units
      for (int64_t j = u0; j < u1; j++) s->dh[i * H + j] += s->dy[(r + i) * H + j];
    switch (s->cell) {
      case CELL_LSTM:
        lstm_backward(s->dg + r * G, s->dc, s->dh, s->g + r * G, s->tc + r * H, s->cs + prev * H, b, H, u0, u1);
        break;
      case CELL_GRU:  // leaves z dh in dh; the path through W_hh is added below
        gru_backward(s->dg + r * G, s->dgh + r * G, s->dh, s->g + r * G, s->gh + r * G, s->hs + prev * H, b, H, u0, u1);
        break;
      default:
        rnn_backward(relu, s->dg + r * G, s->dh, s->hs + cur * H, b, H, u0, u1);
    }
    pool_sync(&sense);  // every unit's dL/dgates of step t is in place
    // dL/dh_{t-1} (own units) = dgates_t W_hh, added to z dh for the GRU
    const float *d = s->cell == CELL_GRU ? s->dgh : s->dg;
    if (u1 > u0) panel_gemm(b, w, G, d + r * G, G, panel, s->pw, s->dh + u0, H, s->cell == CELL_GRU);
  }
  // the next barrier-free reader is JS, after pool_run returns
}

// Steps of less work than this (multiply-adds) run on one thread: the barrier costs more.
static int64_t mt_min_macs = 32768;

static int threads_for(const Seq *s) {
  int64_t b = s->sizes[s->t0];
  return (double)b * (double)s->G * (double)s->H >= (double)mt_min_macs && s->H >= 2 * VW ? pool_max() : 1;
}

// The packed weights: grown, never shrunk, allocated from the JS thread only.
static float *packed = NULL;
static int64_t packed_cap = 0;

static float *packed_buffer(Call *c, int64_t need) {
  if (need > packed_cap) {
    free(packed);
    packed = aligned_alloc(64, (size_t)((need * 4 + 63) / 64 * 64));
    packed_cap = packed ? need : 0;
    if (!packed) { fail(c, true, "out of memory packing W_hh (%lld floats)", (long long)need); return NULL; }
  }
  return packed;
}

// W_hh for the threads to pack, and the buffer they pack it into. Panel blocks are the
// widest tile's width, so each tile reads one block's rows back to back (batch 1 uses
// the wider one-row tile).
static bool take_weights(Call *c, Seq *s, const float *whh) {
  s->whh = whh;
  s->pw = s->B == 1 ? ROW_NV * VW : TILE_NV * VW;
  s->panels = packed_buffer(c, s->G * s->H);
  return s->panels != NULL;
}

// The layout arrays: sizes (T) non-increasing in [1, B], offsets (T+1) their prefix sums.
static int64_t check_layout(Call *c, const int32_t *sizes, const int32_t *offsets, int64_t T, int64_t B) {
  if (c->failed) return 0;
  if (offsets[0] != 0) { fail(c, true, "offsets[0] must be 0"); return 0; }
  for (int64_t t = 0; t < T; t++) {
    int32_t b = sizes[t];
    if (b < 1 || b > B || (t > 0 && b > sizes[t - 1])) { fail(c, true, "sizes[%lld] = %d is not in [1, %lld] or grows", (long long)t, b, (long long)B); return 0; }
    if ((int64_t)offsets[t + 1] != (int64_t)offsets[t] + b) { fail(c, true, "offsets[%lld] is not offsets[%lld] + sizes[%lld]", (long long)t + 1, (long long)t, (long long)t); return 0; }
  }
  return offsets[T];
}

static int cell_arg(Call *c, int i) {
  int64_t cell = size_arg(c, i, "cell");
  if (!c->failed && cell > CELL_GRU) fail(c, true, "cell must be 0-3, got %lld", (long long)cell);
  return (int)cell;
}

/**
 * recurrentSequenceForward(cell, g, gh, hs, cs, tc, whh, sizes, offsets, T, B, H, t0, t1):
 * steps [t0, t1) of the layout. cell: 0 rnn_tanh, 1 rnn_relu, 2 lstm, 3 gru. g holds the
 * input projections (and biases, gh = b_hh for the GRU), the state rows before t0 the state.
 */
napi_value js_recurrentSequenceForward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "recurrentSequenceForward", 14)) return NULL;
  Seq s = {0};
  s.cell = cell_arg(&c, 0);
  int64_t T = size_arg(&c, 9, "T"), B = size_arg(&c, 10, "B"), H = size_arg(&c, 11, "H");
  s.t0 = size_arg(&c, 12, "t0"), s.t1 = size_arg(&c, 13, "t1");
  if (!c.failed && (s.t1 > T || s.t0 > s.t1)) fail(&c, true, "steps [%lld, %lld) outside [0, %lld]", (long long)s.t0, (long long)s.t1, (long long)T);
  if (!c.failed && (B < 1 || H < 1)) fail(&c, true, "B and H must be positive");
  s.sizes = i32_arg(&c, 7, "sizes", T);
  s.offsets = i32_arg(&c, 8, "offsets", T + 1);
  int64_t N = check_layout(&c, s.sizes, s.offsets, T, B);
  bool lstm = s.cell == CELL_LSTM, gru = s.cell == CELL_GRU;
  s.B = B; s.H = H;
  s.G = mul(&c, lstm ? 4 : gru ? 3 : 1, H);
  int64_t NG = mul(&c, N, s.G), SH = mul(&c, B + N, H), NH = mul(&c, N, H);
  s.g = f32_arg(&c, 1, "g", 0, NG, NULL);
  s.gh = f32_arg(&c, 2, "gh", 0, gru ? NG : 0, NULL);
  s.hs = f32_arg(&c, 3, "hs", 0, SH, NULL);
  s.cs = f32_arg(&c, 4, "cs", 0, lstm ? SH : 0, NULL);
  s.tc = f32_arg(&c, 5, "tc", 0, lstm ? NH : 0, NULL);
  const float *whh = f32_arg(&c, 6, "whh", 0, mul(&c, s.G, H), NULL);
  Region reg[] = {{"g", s.g, NG, true}, {"gh", s.gh, gru ? NG : 0, true}, {"hs", s.hs, SH, true},
                  {"cs", s.cs, lstm ? SH : 0, true}, {"tc", s.tc, lstm ? NH : 0, true}, {"whh", whh, s.G * H, false}};
  if (!disjoint(&c, reg, 6) || s.t0 == s.t1) return NULL;
  if (!take_weights(&c, &s, whh)) return NULL;
  pool_run(threads_for(&s), forward_thread, &s);
  return NULL;
}

/**
 * recurrentSequenceBackward(cell, dg, dgh, dh, dc, dy, dyOff, g, gh, hs, cs, tc, whh, sizes, offsets, T, B, H):
 * the sweep t = T-1 .. 0 of lstmBackward / gruBackward / rnnBackward (src/nn/*.ts): dh, dc
 * (B, H) come in as dL/d(final state) and leave as dL/d(initial state); dy (N, H) at dyOff.
 */
napi_value js_recurrentSequenceBackward(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "recurrentSequenceBackward", 18)) return NULL;
  Seq s = {0};
  s.cell = cell_arg(&c, 0);
  int64_t dyOff = size_arg(&c, 6, "dyOff");
  int64_t T = size_arg(&c, 15, "T"), B = size_arg(&c, 16, "B"), H = size_arg(&c, 17, "H");
  if (!c.failed && (B < 1 || H < 1)) fail(&c, true, "B and H must be positive");
  s.sizes = i32_arg(&c, 13, "sizes", T);
  s.offsets = i32_arg(&c, 14, "offsets", T + 1);
  int64_t N = check_layout(&c, s.sizes, s.offsets, T, B);
  bool lstm = s.cell == CELL_LSTM, gru = s.cell == CELL_GRU;
  s.B = B; s.H = H; s.t0 = 0; s.t1 = T;
  s.G = mul(&c, lstm ? 4 : gru ? 3 : 1, H);
  int64_t NG = mul(&c, N, s.G), SH = mul(&c, B + N, H), NH = mul(&c, N, H), BH = mul(&c, B, H);
  s.dg = f32_arg(&c, 1, "dg", 0, NG, NULL);
  s.dgh = f32_arg(&c, 2, "dgh", 0, gru ? NG : 0, NULL);
  s.dh = f32_arg(&c, 3, "dh", 0, BH, NULL);
  s.dc = f32_arg(&c, 4, "dc", 0, lstm ? BH : 0, NULL);
  s.dy = f32_arg(&c, 5, "dy", dyOff, NH, NULL);
  s.g = f32_arg(&c, 7, "g", 0, NG, NULL);
  s.gh = f32_arg(&c, 8, "gh", 0, gru ? NG : 0, NULL);
  s.hs = f32_arg(&c, 9, "hs", 0, SH, NULL);
  s.cs = f32_arg(&c, 10, "cs", 0, lstm ? SH : 0, NULL);
  s.tc = f32_arg(&c, 11, "tc", 0, lstm ? NH : 0, NULL);
  const float *whh = f32_arg(&c, 12, "whh", 0, mul(&c, s.G, H), NULL);
  Region reg[] = {{"dg", s.dg, NG, true}, {"dgh", s.dgh, gru ? NG : 0, true}, {"dh", s.dh, BH, true},
                  {"dc", s.dc, lstm ? BH : 0, true}, {"dy", s.dy, NH, false}, {"g", s.g, NG, false},
                  {"gh", s.gh, gru ? NG : 0, false}, {"hs", s.hs, SH, false}, {"cs", s.cs, lstm ? SH : 0, false},
                  {"tc", s.tc, lstm ? NH : 0, false}, {"whh", whh, s.G * H, false}};
  if (!disjoint(&c, reg, 11) || T == 0) return NULL;
  if (!take_weights(&c, &s, whh)) return NULL;
  pool_run(threads_for(&s), backward_thread, &s);
  return NULL;
}

/** setSequenceThreshold(macs): steps below this many multiply-adds run on one thread. */
napi_value js_setSequenceThreshold(napi_env env, napi_callback_info info) {
  Call c;
  if (!begin(&c, env, info, "setSequenceThreshold", 1)) return NULL;
  int64_t m = size_arg(&c, 0, "macs");
  if (!c.failed) mt_min_macs = m;
  return NULL;
}
