// Gradient-flow diagnostics: how the gradient of one prediction's loss fades (or grows)
// on its way back through time, and why. docs/gradients.md explains the measurements.
//
// Backpropagation through a recurrent layer multiplies by one Jacobian per step:
//   dL/dh_{t-k} = dL/dh_t · J_t J_{t-1} ... J_{t-k+1},   J_s = ∂h_s/∂h_{s-1}
// so ‖dL/dh_{t-k}‖ ≤ ‖dL/dh_t‖ ∏ ‖J_s‖, and for an Elman RNN J_s = diag(f'(a_s)) W_hh,
// ‖J_s‖ ≤ σ_max(W_hh) · max|f'|. This file measures all three quantities on real text:
// the gradient norms against the distance k (from the model's own backward), the largest
// singular values of W_hh, and the spectral norms of the per-step Jacobians (built row by
// row with the layer's own backward, a vector-Jacobian product machine).
//
// Windows are time-major like everything else: ids[t*B + b] is step t of window b.

import type { Arr } from '../core/params.js';
import { allocArray } from '../backend/registry.js';
import { CharLM, layerViews } from '../models/char-lm.js';
import { createRecurrentCache, recurrentForward, recurrentBackward, GATES, type CellType } from '../nn/recurrent.js';
import { largestSingularValue } from './lanczos.js';

/** B windows of T = K+1 inputs; only the last step of each has a target. */
export interface GradientWindows {
  ids: Int32Array;     // (T*B) time-major
  targets: Int32Array; // (T*B), -1 except at t = T-1
  T: number;
  B: number;
  starts: number[];    // where each window starts in the text
}

/**
 * B windows of K+1 characters (plus the character each last one predicts) at evenly
 * spaced positions of ids, the first at 0 and the last at the end.
 */
export function gradientWindows(ids: Int32Array, K: number, B: number): GradientWindows {
  if (!(Number.isInteger(K) && K >= 0 && Number.isInteger(B) && B >= 1)) throw new Error(`gradientWindows: need K >= 0 and B >= 1, got K=${K}, B=${B}`);
  const T = K + 1, span = ids.length - (T + 1); // last possible start
  if (span < 0) throw new Error(`gradientWindows: ${ids.length} tokens, need at least ${T + 1} for windows of ${T}`);
  const starts = Array.from({ length: B }, (_, b) => (B === 1 ? 0 : Math.floor((b * span) / (B - 1))));
  const w: GradientWindows = { ids: new Int32Array(T * B), targets: new Int32Array(T * B).fill(-1), T, B, starts };
  starts.forEach((s, b) => {
    for (let t = 0; t < T; t++) w.ids[t * B + b] = ids[s + t]!;
    w.targets[(T - 1) * B + b] = ids[s + T]!;
  });
  return w;
}

/** One layer's ‖dL_T/dh_{T-k}‖ for k = 0..K, per window and aggregated over windows. */
export interface DistanceProfile {
  layer: number;
  perWindow: Float64Array[]; // [k] -> B norms
  geoMean: Float64Array;     // [k] geometric mean over windows (0 if any norm is 0)
  median: Float64Array;      // [k]
  ratio: Float64Array;       // [k] geoMean[k] / geoMean[0]: independent of the head's scale
}

/**
 * Forwards every window from the zero state, backpropagates the loss of its last
 * prediction only, and reads dL/dh^l_{T-1-k} (total derivative, every path) from the
 * model's own backward. Norms are of the gradient of that one prediction's loss (the
 * model averages over windows; that 1/B is undone). Vanishing gradients underflow
 * float32 within a hundred steps: pass a float64 model (float64Copy) for small values.
 */
export function gradientVsDistance(model: CharLM, w: GradientWindows): DistanceProfile[] {
  const { hidden_size: H, num_layers: L } = model.config, { T, B } = w, K = T - 1;
  const state = model.newState(B);
  state.h.fill(0); state.c.fill(0);
  model.zeroGrad();
  model.recordHiddenGrads(true);
  try {
    const { count } = model.forward(w.ids, w.targets, T, B, state);
    model.backward();
    const out: DistanceProfile[] = [];
    for (let l = 0; l < L; l++) {
      const g = model.hiddenGrads(l), perWindow: Float64Array[] = [];
      for (let k = 0; k <= K; k++) {
        const t = T - 1 - k, norms = new Float64Array(B);
        for (let b = 0; b < B; b++) {
          let s = 0;
          const o = (t * B + b) * H;
          for (let j = 0; j < H; j++) s += g[o + j]! * g[o + j]!;
          norms[b] = Math.sqrt(s) * count; // backward divided by the number of predictions
        }
        perWindow.push(norms);
      }
      const geoMean = Float64Array.from(perWindow, geometricMean);
      out.push({
        layer: l, perWindow, geoMean,
        median: Float64Array.from(perWindow, (v) => quantile(v, 0.5)),
        ratio: geoMean.map((v) => v / geoMean[0]!),
      });
    }
    return out;
  } finally {
    model.recordHiddenGrads(false);
  }
}

/** A float64 copy of model (same config and weights), for the reference backend. */
export function float64Copy(model: CharLM): CharLM {
  const m = new CharLM(model.config, 'float64');
  m.params.data.set(model.params.data);
  return m;
}

// ---- weights ----

/** Names of the gate blocks of W_hh, in PyTorch's order (none for an Elman RNN). */
export const GATE_BLOCKS: Record<CellType, string[]> = {
  rnn_tanh: [], rnn_relu: [], lstm: ['W_hi', 'W_hf', 'W_hg', 'W_ho'], gru: ['W_hr', 'W_hz', 'W_hn'],
};

export interface WeightSpectrum { layer: number; block: string; sigmaMax: number }

/** σ_max of each layer's whole W_hh (G*H, H), then of each gate block (H, H). */
export function weightSpectra(model: CharLM): WeightSpectrum[] {
  const { cell, hidden_size: H, num_layers: L } = model.config, out: WeightSpectrum[] = [];
  for (let l = 0; l < L; l++) {
    const w = model.params.get(`rnn.weight_hh_l${l}`);
    out.push({ layer: l, block: 'W_hh', sigmaMax: largestSingularValue(w, GATES[cell] * H, H) });
    GATE_BLOCKS[cell].forEach((name, g) => {
      out.push({ layer: l, block: name, sigmaMax: largestSingularValue(w.subarray(g * H * H, (g + 1) * H * H), H, H) });
    });
  }
  return out;
}

/**
 * Scales each layer's whole W_hh (every gate block by the same factor, so their
 * relative sizes stay PyTorch's) until its largest singular value is sigma.
 */
export function scaleRecurrentWeights(model: CharLM, sigma: number): void {
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new Error(`scaleRecurrentWeights: sigma must be positive, got ${sigma}`);
  const { cell, hidden_size: H, num_layers: L } = model.config;
  for (let l = 0; l < L; l++) {
    const w = model.params.get(`rnn.weight_hh_l${l}`), s = largestSingularValue(w, GATES[cell] * H, H);
    if (!(s > 0)) throw new Error(`scaleRecurrentWeights: W_hh of layer ${l} is zero`);
    for (let i = 0; i < w.length; i++) w[i] = w[i]! * (sigma / s);
  }
}

// ---- per-step Jacobians ----

/**
 * Jacobians of one step of layer l at n points: x (n, D) inputs, h (n, H) previous
 * hidden states, c (n, H) previous cell states (LSTM; else ignored).
 *
 * Returns n row-major matrices J with J[i][j] = ∂h_t[i]/∂h_{t-1}[j], c_{t-1} held fixed
 * for an LSTM. With fullState (LSTM only) they are the (2H, 2H) Jacobians of the whole
 * state (h_t, c_t) w.r.t. (h_{t-1}, c_{t-1}) instead.
 *
 * How: the step runs for H (or 2H) copies of each point; backward seeded with
 * dL/dh_t = e_i (dL/dc_t = 0), or dL/dc_t = e_i, leaves row i of J in dL/dh_{t-1} (and
 * dL/dc_{t-1}). Any cell the recurrent layer supports works the same way.
 */
export function layerJacobians(model: CharLM, l: number, x: Arr, h: Arr, c: Arr | null, n: number, fullState = false): Float64Array[] {
  const { cell, hidden_size: H, embedding_size: E, layer_norm: ln } = model.config, dtype = model.dtype;
  const D = l === 0 ? E : H, lstm = cell === 'lstm', full = fullState && lstm, S = full ? 2 * H : H, rows = n * S;
  if (lstm && !c) throw new Error('layerJacobians: an LSTM needs the previous cell states');
  const cache = createRecurrentCache(cell, 1, rows, D, H, dtype, ln);
  const xs = allocArray(rows * D, dtype), h0 = allocArray(rows * H, dtype), c0 = allocArray(lstm ? rows * H : 0, dtype);
  for (let j = 0; j < n; j++) {
    for (let r = 0; r < S; r++) {
      const row = j * S + r;
      xs.set(x.subarray(j * D, (j + 1) * D), row * D);
      h0.set(h.subarray(j * H, (j + 1) * H), row * H);
      if (lstm) c0.set(c!.subarray(j * H, (j + 1) * H), row * H);
    }
  }
  const p = layerViews(model.params, l, model.config);
  recurrentForward(cache, p, xs, 0, h0, 0, c0, 0);
  cache.dh.fill(0); cache.dc.fill(0);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < H; i++) {
      cache.dh[(j * S + i) * H + i] = 1;
      if (full) cache.dc[(j * S + H + i) * H + i] = 1;
    }
  }
  // the weight gradients backward also accumulates go to a throwaway copy
  const dp = layerViews(model.params.like(), l, model.config);
  recurrentBackward(dp, null, 0, allocArray(rows * H, dtype), 0, cache, p);
  const out: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const J = new Float64Array(S * S);
    for (let r = 0; r < S; r++) {
      const o = (j * S + r) * H;
      for (let k = 0; k < H; k++) J[r * S + k] = cache.dh[o + k]!;
      if (full) for (let k = 0; k < H; k++) J[r * S + H + k] = cache.dc[o + k]!;
    }
    out.push(J);
  }
  return out;
}

/** Spectral norms of layer l's per-step Jacobians along the windows. */
export interface JacobianProfile {
  layer: number;
  kind: 'h' | 'state';   // ∂h_t/∂h_{t-1} (LSTM: c_{t-1} fixed), or the LSTM's whole (h, c) state
  distances: number[];   // k: the Jacobian that takes dL/dh from distance k-1 to distance k
  norms: Float64Array[]; // [i] -> B spectral norms at distances[i]
}

export interface JacobianOptions {
  /** Every this many distances (1 = all of 1..K). */
  every?: number;
  /** LSTM: also the Jacobian of the whole state (h, c). */
  fullState?: boolean;
  /** Rows of one batched step (memory bound). */
  maxRows?: number;
  /** Relative precision of each spectral norm (Lanczos, lanczos.ts). */
  tol?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * For each layer and each distance k = 1..K (T = K+1 steps): the spectral norm of the
 * Jacobian of step K-k+1, J = ∂h_{K-k+1}/∂h_{K-k}, at the states the windows actually
 * pass through. The gradient at distance k is the one at k-1 times this J (one layer).
 */
export function jacobianNorms(model: CharLM, w: GradientWindows, opts: JacobianOptions = {}): JacobianProfile[] {
  const { cell, hidden_size: H, embedding_size: E, num_layers: L } = model.config, { T, B } = w, K = T - 1;
  const every = opts.every ?? 1, maxRows = opts.maxRows ?? 4096, tol = opts.tol ?? 1e-8, lstm = cell === 'lstm';
  const distances: number[] = [];
  for (let k = 1; k <= K; k += every) distances.push(k);
  const state = model.newState(B);
  state.h.fill(0); state.c.fill(0);
  model.forward(w.ids, null, T, B, state);
  // the state each sampled step starts from, every layer: stateAt(s) is h_{s-1}, c_{s-1}
  const starts = distances.map((k) => {
    const st = model.newState(B);
    model.stateAt(K - k + 1, st);
    return st;
  });
  const emb = model.params.get('embedding.weight');
  const kinds: ('h' | 'state')[] = lstm && opts.fullState ? ['h', 'state'] : ['h'];
  const total = L * kinds.length * distances.length * B;
  let done = 0;
  const out: JacobianProfile[] = [];
  for (let l = 0; l < L; l++) {
    const D = l === 0 ? E : H, below = l > 0 ? model.hiddenStates(l - 1) : null;
    for (const kind of kinds) {
      const S = kind === 'state' ? 2 * H : H, per = Math.max(1, Math.floor(maxRows / S));
      const norms = distances.map(() => new Float64Array(B));
      // (distance, window) pairs, a batch of `per` at a time
      for (let p0 = 0; p0 < distances.length * B; p0 += per) {
        const n = Math.min(per, distances.length * B - p0);
        const x = allocArray(n * D, model.dtype), h = allocArray(n * H, model.dtype), c = allocArray(lstm ? n * H : 0, model.dtype);
        for (let j = 0; j < n; j++) {
          const i = Math.floor((p0 + j) / B), b = (p0 + j) % B, s = K - distances[i]! + 1, st = starts[i]!;
          const o = (l * B + b) * H;
          h.set(st.h.subarray(o, o + H), j * H);
          if (lstm) c.set(st.c.subarray(o, o + H), j * H);
          // step s reads token s (layer 0) or the layer below's h_s (hs block s+1)
          if (below) x.set(below.subarray(((s + 1) * B + b) * H, ((s + 1) * B + b + 1) * H), j * D);
          else { const id = w.ids[s * B + b]!; x.set(emb.subarray(id * E, (id + 1) * E), j * D); }
        }
        const Js = layerJacobians(model, l, x, h, lstm ? c : null, n, kind === 'state');
        Js.forEach((J, j) => {
          norms[Math.floor((p0 + j) / B)]![(p0 + j) % B] = largestSingularValue(J, S, S, { tol });
        });
        done += n;
        opts.onProgress?.(done, total);
      }
      out.push({ layer: l, kind, distances, norms });
    }
  }
  return out;
}

// ---- statistics ----

/** exp(mean(log v)): the right average for quantities that multiply; 0 if any v is 0. */
export function geometricMean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.log(v[i]!);
  return Math.exp(s / v.length);
}

/** The q-quantile of v (linear interpolation between order statistics). */
export function quantile(v: ArrayLike<number>, q: number): number {
  const s = Array.from(v).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = q * (s.length - 1), i = Math.floor(pos), f = pos - i;
  return i + 1 < s.length ? s[i]! * (1 - f) + s[i + 1]! * f : s[i]!;
}

export function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

/**
 * The per-step growth factor of y[k] ~ a·r^k: exp(slope) of the least-squares line
 * through (k, log y[k]), over the finite positive values (NaN with fewer than two).
 */
export function perStepFactor(y: ArrayLike<number>): number {
  let n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let k = 0; k < y.length; k++) {
    if (!(y[k]! > 0 && Number.isFinite(y[k]!))) continue;
    const ly = Math.log(y[k]!);
    n++; sx += k; sy += ly; sxx += k * k; sxy += k * ly;
  }
  if (n < 2) return NaN;
  return Math.exp((n * sxy - sx * sy) / (n * sxx - sx * sx));
}
