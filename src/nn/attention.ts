// Global attention (Luong et al. 2015) over packed batches: for decoder output s_t (H)
// of sequence b and its encoder outputs h̄_j (We), j < m_b,
//   general:  score_tj = s_tᵀ W_a h̄_j                       (Luong's "general")
//   additive: score_tj = vᵀ tanh(W_q s_t + W_k h̄_j)          (Bahdanau et al.'s score)
//   α_t = softmax_j(score_t)    c_t = Σ_j α_tj h̄_j    h̃_t = tanh(W_c [c_t | s_t])
// W_a = W_k (H, We), W_q (H, H), v (H), W_c (H, We + H). The projections h̄ W_kᵀ and
// s W_qᵀ and the combination run as one GEMM over all rows; scores and contexts per
// sequence on its own rows (gathered into contiguous scratch), so no padded position
// enters a softmax.
import type { Arr, DType } from '../core/params.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';

export type AttentionScore = 'general' | 'additive';

/** Which packed rows belong to each sequence: enc[b] (m_b rows, step order), dec[b] (n_b rows). */
export interface AttentionRows { enc: Int32Array[]; dec: Int32Array[] }

/** key: W_a or W_k (H, We); query, v: additive only; combine: W_c (H, We + H). */
export interface AttentionWeights { key: Arr; query: Arr | null; v: Arr | null; combine: Arr }

export class GlobalAttention {
  private K: Arr; private dK: Arr;          // (Ne, H) h̄ W_kᵀ
  private Q: Arr; private dQ: Arr;          // additive: (Nd, H) s W_qᵀ
  private ctx: Arr; private dctx: Arr;      // (Nd, We)
  private ht: Arr; private dpre: Arr;       // (Nd, H) h̃, the output
  private alpha: Arr;                       // Σ_b n_b m_b: sequence b's (n_b, m_b) at aOff[b]
  private th: Arr;                          // additive: Σ_b n_b m_b H, tanh(q_t + k_j)
  private aOff = new Int32Array(0);
  private eb: Arr; private kb: Arr; private sb: Arr; private cb: Arr; private sc: Arr; // per-sequence scratch
  private rows: AttentionRows | null = null;
  private enc: Arr; private encOff = 0; private dec: Arr; private decOff = 0;
  private Ne = 0; private Nd = 0;

  constructor(readonly score: AttentionScore, readonly H: number, readonly We: number, readonly dtype: DType) {
    const F = () => allocArray(0, dtype);
    this.K = F(); this.dK = F(); this.Q = F(); this.dQ = F(); this.ctx = F(); this.dctx = F(); this.ht = F(); this.dpre = F();
    this.alpha = F(); this.th = F(); this.eb = F(); this.kb = F(); this.sb = F(); this.cb = F(); this.sc = F(); this.enc = F(); this.dec = F();
  }

  /** Forward; returns h̃ (Nd, H), valid until the next forward. enc (Ne, We) and dec (Nd, H) at their offsets. */
  forward(enc: Arr, encOff: number, Ne: number, dec: Arr, decOff: number, Nd: number, rows: AttentionRows, w: AttentionWeights): Arr {
    const be = getBackend(), { H, We } = this, B = rows.enc.length, add = this.score === 'additive';
    this.ensure(Ne, Nd, rows);
    this.rows = rows; this.enc = enc; this.encOff = encOff; this.dec = dec; this.decOff = decOff; this.Ne = Ne; this.Nd = Nd;
    be.gemm(false, true, Ne, H, We, 1, enc, encOff, We, w.key, 0, We, 0, this.K, 0, H);
    if (add) be.gemm(false, true, Nd, H, H, 1, dec, decOff, H, w.query!, 0, H, 0, this.Q, 0, H);
    for (let b = 0; b < B; b++) {
      const er = rows.enc[b]!, dr = rows.dec[b]!, m = er.length, n = dr.length, a = this.aOff[b]!;
      gather(this.eb, enc, encOff, er, We); gather(this.kb, this.K, 0, er, H);
      if (add) {
        gather(this.sb, this.Q, 0, dr, H);
        const th = this.th, v = w.v!, al = this.alpha;
        for (let t = 0; t < n; t++) for (let j = 0; j < m; j++) {
          const o = (a + t * m + j) * H;
          let e = 0;
          for (let k = 0; k < H; k++) { const x = Math.tanh(this.sb[t * H + k]! + this.kb[j * H + k]!); th[o + k] = x; e += v[k]! * x; }
          al[a + t * m + j] = e;
        }
      } else {
        gather(this.sb, dec, decOff, dr, H);
        be.gemm(false, true, n, m, H, 1, this.sb, 0, H, this.kb, 0, H, 0, this.alpha, a, m);
      }
      softmaxRows(this.alpha, a, n, m);
      be.gemm(false, false, n, We, m, 1, this.alpha, a, m, this.eb, 0, We, 0, this.cb, 0, We);
      scatter(this.ctx, this.cb, dr, We);
    }
    const WH = We + H, ht = this.ht;
    be.gemm(false, true, Nd, H, We, 1, this.ctx, 0, We, w.combine, 0, WH, 0, ht, 0, H);
    be.gemm(false, true, Nd, H, H, 1, dec, decOff, H, w.combine, We, WH, 1, ht, 0, H);
    be.rnnStepForward(false, ht, 0, ht, 0, Nd * H); // tanh in place
    return ht;
  }

  /** h̃ (Nd, H) of the last forward. */
  output(): Arr {
    return this.ht;
  }

  /**
   * From dht = dL/dh̃ (Nd, H): the weights' gradients accumulate into dw; dEnc (Ne, We)
   * and dDec (Nd, H) accumulate dL/d(encoder outputs) and dL/d(decoder outputs).
   */
  backward(dht: Arr, w: AttentionWeights, dw: AttentionWeights, dEnc: Arr, dDec: Arr): void {
    const be = getBackend(), { H, We } = this, WH = We + H, rows = this.rows!, Ne = this.Ne, Nd = this.Nd, B = rows.enc.length;
    const add = this.score === 'additive';
    be.rnnStepBackward(false, this.dpre, 0, dht, this.ht, 0, Nd * H);
    be.gemm(true, false, H, We, Nd, 1, this.dpre, 0, H, this.ctx, 0, We, 1, dw.combine, 0, WH);
    be.gemm(true, false, H, H, Nd, 1, this.dpre, 0, H, this.dec, this.decOff, H, 1, dw.combine, We, WH);
    be.gemm(false, false, Nd, We, H, 1, this.dpre, 0, H, w.combine, 0, WH, 0, this.dctx, 0, We);
    be.gemm(false, false, Nd, H, H, 1, this.dpre, 0, H, w.combine, We, WH, 1, dDec, 0, H);
    for (let b = 0; b < B; b++) {
      const er = rows.enc[b]!, dr = rows.dec[b]!, m = er.length, n = dr.length, a = this.aOff[b]!;
      gather(this.eb, this.enc, this.encOff, er, We); gather(this.kb, this.K, 0, er, H); gather(this.cb, this.dctx, 0, dr, We);
      // dα = dc h̄ᵀ (n, m) into sc; dh̄ += αᵀ dc
      be.gemm(false, true, n, m, We, 1, this.cb, 0, We, this.eb, 0, We, 0, this.sc, 0, m);
      be.gemm(true, false, m, We, n, 1, this.alpha, a, m, this.cb, 0, We, 0, this.eb, 0, We);
      scatterAdd(dEnc, this.eb, er, We);
      // softmax backward: dscore = α ⊙ (dα - Σ_j α dα)
      const al = this.alpha, sc = this.sc;
      for (let t = 0; t < n; t++) {
        let dot = 0;
        for (let j = 0; j < m; j++) dot += al[a + t * m + j]! * sc[t * m + j]!;
        for (let j = 0; j < m; j++) sc[t * m + j] = al[a + t * m + j]! * (sc[t * m + j]! - dot);
      }
      if (add) {
        // through vᵀ tanh(q_t + k_j): dv, and dq_t, dk_j summed over the pairs
        const th = this.th, v = w.v!, dv = dw.v!, dq = this.sb, dk = this.kb;
        dq.fill(0, 0, n * H); dk.fill(0, 0, m * H);
        for (let t = 0; t < n; t++) for (let j = 0; j < m; j++) {
          const d = sc[t * m + j]!, o = (a + t * m + j) * H;
          for (let k = 0; k < H; k++) {
            const x = th[o + k]!, g = d * v[k]! * (1 - x * x);
            dv[k] += d * x; dq[t * H + k] += g; dk[j * H + k] += g;
          }
        }
        scatter(this.dQ, dq, dr, H);
        scatter(this.dK, dk, er, H);
      } else {
        // ds += dscore K, dK = dscoreᵀ s
        be.gemm(false, false, n, H, m, 1, sc, 0, m, this.kb, 0, H, 0, this.sb, 0, H);
        scatterAdd(dDec, this.sb, dr, H);
        gather(this.sb, this.dec, this.decOff, dr, H);
        be.gemm(true, false, m, H, n, 1, sc, 0, m, this.sb, 0, H, 0, this.kb, 0, H);
        scatter(this.dK, this.kb, er, H);
      }
    }
    be.gemm(true, false, H, We, Ne, 1, this.dK, 0, H, this.enc, this.encOff, We, 1, dw.key, 0, We);
    be.gemm(false, false, Ne, We, H, 1, this.dK, 0, H, w.key, 0, We, 1, dEnc, 0, We);
    if (add) {
      be.gemm(true, false, H, H, Nd, 1, this.dQ, 0, H, this.dec, this.decOff, H, 1, dw.query!, 0, H);
      be.gemm(false, false, Nd, H, H, 1, this.dQ, 0, H, w.query!, 0, H, 1, dDec, 0, H);
    }
  }

  /** Sequence b's weights α (n_b, m_b), row t over source positions, of the last forward. */
  weights(b: number): Float32Array {
    const rows = this.rows!, n = rows.dec[b]!.length, m = rows.enc[b]!.length, a = this.aOff[b]!;
    return Float32Array.from(this.alpha.subarray(a, a + n * m));
  }

  private ensure(Ne: number, Nd: number, rows: AttentionRows): void {
    const { H, We } = this, F = (n: number) => allocArray(n, this.dtype), B = rows.enc.length;
    if (this.aOff.length < B + 1) this.aOff = new Int32Array(B + 1);
    let total = 0, maxM = 0, maxN = 0;
    for (let b = 0; b < B; b++) {
      this.aOff[b] = total;
      const m = rows.enc[b]!.length, n = rows.dec[b]!.length;
      total += m * n; maxM = Math.max(maxM, m); maxN = Math.max(maxN, n);
    }
    if (this.alpha.length < total) this.alpha = F(2 * total);
    if (this.score === 'additive' && this.th.length < total * H) this.th = F(2 * total * H);
    if (this.K.length < Ne * H) { this.K = F(2 * Ne * H); this.dK = F(2 * Ne * H); }
    if (this.ctx.length < Nd * We) {
      this.ctx = F(2 * Nd * We); this.dctx = F(2 * Nd * We); this.ht = F(2 * Nd * H); this.dpre = F(2 * Nd * H);
      if (this.score === 'additive') { this.Q = F(2 * Nd * H); this.dQ = F(2 * Nd * H); }
    }
    const R = Math.max(maxM, maxN);
    if (this.eb.length < R * Math.max(We, H)) { this.eb = F(2 * R * Math.max(We, H)); this.kb = F(2 * R * H); this.sb = F(2 * R * H); this.cb = F(2 * R * We); }
    if (this.sc.length < maxN * maxM) this.sc = F(2 * maxN * maxM);
  }
}

/** dst rows 0.. = src rows idx (width w). */
function gather(dst: Arr, src: Arr, off: number, idx: Int32Array, w: number): void {
  for (let k = 0; k < idx.length; k++) { const o = off + idx[k]! * w; for (let j = 0; j < w; j++) dst[k * w + j] = src[o + j]!; }
}

/** dst rows idx = src rows 0.. (width w). */
function scatter(dst: Arr, src: Arr, idx: Int32Array, w: number): void {
  for (let k = 0; k < idx.length; k++) { const o = idx[k]! * w; for (let j = 0; j < w; j++) dst[o + j] = src[k * w + j]!; }
}

function scatterAdd(dst: Arr, src: Arr, idx: Int32Array, w: number): void {
  for (let k = 0; k < idx.length; k++) { const o = idx[k]! * w; for (let j = 0; j < w; j++) dst[o + j] += src[k * w + j]!; }
}

function softmaxRows(a: Arr, off: number, n: number, m: number): void {
  for (let t = 0; t < n; t++) {
    const o = off + t * m;
    let max = -Infinity, s = 0;
    for (let j = 0; j < m; j++) max = Math.max(max, a[o + j]!);
    for (let j = 0; j < m; j++) { const e = Math.exp(a[o + j]! - max); a[o + j] = e; s += e; }
    for (let j = 0; j < m; j++) a[o + j] = a[o + j]! / s;
  }
}
