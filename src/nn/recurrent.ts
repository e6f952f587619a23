// Shared plumbing of the recurrent layers (rnn.ts, lstm.ts, gru.ts).
// T = time, B = batch, D = input size, H = hidden size, G = gates (1, 4 or 3), N = rows.
// Activations are time-major and packed (layout.ts): step t of sequence b is row
// offsets[t] + b of an (N, ·) buffer, and step t runs on its first sizes[t] sequences.
// With equal lengths that is row t*B + b of a (T*B, ·) buffer.
//
// Only the recurrent product h_{t-1} W_hh^T runs per step. The input projection of
// the whole sequence is one GEMM before the loop (or, for token inputs, a row lookup
// into a per-token table), and the weight gradients one GEMM each after the sweep.
// Layer-normalised cells (p.ln, ln-cells.ts) keep that shape: the input side's LN runs
// over the whole range (or the V table rows) with its projection.

import type { Arr, DType } from '../core/params.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';
import type { Backend } from '../backend/backend.js';
import { uniformLayout, type StepLayout } from './layout.js';
import { lstmForward, lstmBackward } from './lstm.js';
import { gruForward, gruBackward, gruRecurrentBias } from './gru.js';
import { rnnForward, rnnBackward } from './rnn.js';
import { layerNormForward, layerNormBackward } from './layer-norm.js';
import { lnLstmForward, lnLstmBackward, lnGruForward, lnGruBackward, lnRnnForward, lnRnnBackward } from './ln-cells.js';

export type CellType = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';
export const CELL_TYPES: readonly CellType[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'];
export const GATES: Record<CellType, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 };

/** One layer's weights (PyTorch layout: weight_ih (G*H, D), weight_hh (G*H, H)). */
export interface RecurrentParams {
  wih: Arr; // (G*H, D)
  whh: Arr; // (G*H, H)
  bih: Arr; // (G*H)
  bhh: Arr; // (G*H)
  ln?: LayerNormParams; // layer-normalised cell (Ba et al. 2016)
}

/** Gains and biases of a layer-normalised cell. */
export interface LayerNormParams {
  ihWeight: Arr; ihBias: Arr; // (G*H) LN of W_ih x
  hhWeight: Arr; hhBias: Arr; // (G*H) LN of W_hh h
  cWeight?: Arr; cBias?: Arr; // (H) LSTM: LN of c before its tanh
}

/**
 * Everything forward keeps for backward, allocated once for up to capN rows and capB
 * sequences and reused for any layout that fits (setLayout). The state rows of hs,
 * cs and hd: rows [0, B) hold the initial state, row B + r the state after row r.
 */
export interface RecurrentCache {
  cell: CellType;
  D: number; H: number;
  capN: number; capB: number;
  lay: StepLayout; T: number; B: number; N: number; // the current layout and its sizes
  x: Arr; xOff: number; // input (N, D), owned by the caller; set by forward
  hs: Arr;  // (B+N, H): h0, then h_t of every row
  g: Arr;   // (N, G*H) input projection, then gate activations (lstm, gru) or pre-activations (rnn)
  cs: Arr;  // lstm: (B+N, H) c0, then the cell states; else empty
  tc: Arr;  // lstm: (N, H) tanh(c_t) (with layer norm tanh(LN(c_t))); else empty
  gh: Arr;  // gru: (N, 3H) W_hh h_{t-1} + b_hh, needed because r gates its n part
  dg: Arr;  // (N, G*H) gradient w.r.t. the input-side pre-activations (layer norm: w.r.t. W_ih x_t once recurrentBackward is done)
  dgh: Arr; // gru: (N, 3H) gradient w.r.t. gh; else empty
  dh: Arr;  // (B, H) running dL/dh; dL/dh0 after backward
  dc: Arr;  // (B, H) running dL/dc (lstm); dL/dc0 after backward
  hp: Arr;  // (N, H) h_{t-1} (or h̃) at every row, for dW_hh of packed layouts (allocated on first use)
  bias: Arr; // (G*H) scratch for the bias of the input projection
  dbias: Arr; // (G*H) Σ_rows dL/d(pre-activation): the gradient of b_ih and of b_hh alike (lstm, rnn)
  // variational recurrent dropout (Gal & Ghahramani 2016): one mask for every step
  masked: boolean; // the mask is on for the current forward/backward
  mask: Arr;   // (B, H) 0 or 1/(1-p); allocated the first time it is turned on
  hd: Arr;     // (B+N, H) h_t ⊙ mask, what W_hh sees when the mask is on
  tmp: Arr;    // (B, H) scratch for the masked recurrent gradient
  recording: boolean; // backward stores dL/dh_t (total, all paths) at the row of step t in dhs
  dhs: Arr;    // (N, H), allocated the first time recording is turned on
  ln: LayerNormCache | null; // layer-normalised cell, else null
}

/**
 * What a layer-normalised cell keeps besides the plain cache. x̂ is the normalised
 * vector before its gain, rstd = 1/sqrt(var + eps) per row (layer-norm.ts).
 */
export interface LayerNormCache {
  xhat: Arr;    // (N, G*H) x̂ of W_ih x_t (direct input path, allocated on first use)
  xRstd: Arr;   // (N)
  tabHat: Arr;  // (V, G*H) token path: x̂ of the rows of emb W_ih^T (allocated by tokenTable)
  tabRstd: Arr; // (V)
  hhat: Arr;    // (N, G*H) x̂ of W_hh h̃_{t-1}, h̃ = recurrentInput(c)
  hRstd: Arr;   // (N)
  dhh: Arr;     // (N, G*H) dL/d(W_hh h̃_{t-1}), for dW_hh after the sweep
  chat: Arr;    // lstm: (N, H) x̂ of c_t
  cRstd: Arr;   // lstm: (N)
  dcn: Arr;     // lstm: (B, H) scratch, dL/d LN(c_t)
  hbias: Arr;   // gru: (G*H) β_hh + b_hh, the bias of gh
  dtype: DType;
}

/**
 * A cache for T steps of B sequences, which also holds any packed layout of at most
 * T*B rows and B sequences; its layout starts as the T x B one.
 */
export function createRecurrentCache(cell: CellType, T: number, B: number, D: number, H: number, dtype: DType, layerNorm = false): RecurrentCache {
  const F = (n: number) => allocArray(n, dtype);
  const G = GATES[cell], lstm = cell === 'lstm', gru = cell === 'gru', lay = uniformLayout(T, B), N = T * B;
  const ln: LayerNormCache | null = !layerNorm ? null : {
    xhat: F(0), xRstd: F(N), tabHat: F(0), tabRstd: F(0),
    hhat: F(N * G * H), hRstd: F(N), dhh: F(N * G * H),
    chat: F(lstm ? N * H : 0), cRstd: F(lstm ? N : 0), dcn: F(lstm ? B * H : 0),
    hbias: F(gru ? G * H : 0), dtype,
  };
  return {
    cell, D, H, capN: N, capB: B, lay, T: lay.T, B, N: lay.N, x: F(0), xOff: 0,
    hs: F((N + B) * H),
    g: F(N * G * H),
    cs: F(lstm ? (N + B) * H : 0),
    tc: F(lstm ? N * H : 0),
    gh: F(gru ? N * 3 * H : 0),
    dg: F(N * G * H),
    dgh: F(gru ? N * 3 * H : 0),
    dh: F(B * H),
    dc: F(B * H),
    hp: F(0),
    bias: F(G * H), dbias: F(G * H),
    masked: false, mask: F(0), hd: F(0), tmp: F(0), recording: false, dhs: F(0), ln,
  };
}

/** Sets the layout the next forward (and its backward) runs on. */
export function setLayout(c: RecurrentCache, lay: StepLayout): void {
  if (lay.N > c.capN || lay.B > c.capB) throw new Error(`recurrent cache holds ${c.capN} rows of ${c.capB} sequences, layout needs ${lay.N} of ${lay.B}`);
  c.lay = lay; c.T = lay.T; c.B = lay.B; c.N = lay.N;
}

/** State row (of hs, cs, hd) of h_{t-1}, the state step t starts from, for sequence 0. */
export function prevRow(c: RecurrentCache, t: number): number {
  return t === 0 ? 0 : c.B + c.lay.offsets[t - 1]!;
}

/** State row of h_t for sequence 0. */
export function stateRow(c: RecurrentCache, t: number): number {
  return c.B + c.lay.offsets[t]!;
}

/**
 * Turns variational recurrent dropout on (returns the mask for the caller to fill) or
 * off. Buffers are allocated once and kept, so switching between training and
 * evaluation allocates nothing.
 */
export function setRecurrentMask(c: RecurrentCache, on: boolean, dtype: DType): Arr {
  if (on && !c.mask.length) {
    c.mask = allocArray(c.capB * c.H, dtype);
    c.hd = allocArray((c.capN + c.capB) * c.H, dtype);
    c.tmp = allocArray(c.capB * c.H, dtype);
  }
  c.masked = on;
  return c.mask;
}

/** Makes backward store dL/dh_t for every step in c.dhs (diagnostics, Pascanu's regularizer). */
export function recordHiddenGrads(c: RecurrentCache, on: boolean, dtype: DType): void {
  if (on && !c.dhs.length) c.dhs = allocArray(c.capN * c.H, dtype);
  c.recording = on;
}

// Below this many steps a fused loop's packing of W_hh costs more than it saves (sampling runs one step at a time).
const FUSED_MIN_STEPS = 4;

/**
 * The backend's fused time loops (Backend.recurrentSequenceForward/Backward) when this
 * cache can use them for `steps` steps: a backend that has them, a plain cell (no layer
 * norm), no recurrent dropout mask and (backward) no recording of dL/dh_t.
 */
function fusedBackend(c: RecurrentCache, steps: number, backward: boolean): Backend | null {
  const be = getBackend();
  if (!be.recurrentSequenceForward || c.ln || c.masked || steps < FUSED_MIN_STEPS || (backward && c.recording)) return null;
  return be;
}

/** The h_{t-1} rows W_hh multiplies: hs itself, or hs ⊙ mask. */
export function recurrentInput(c: RecurrentCache): Arr {
  return c.masked ? c.hd : c.hs;
}

/** hd rows [row, row+n) = hs rows ⊙ mask rows [0, n) (no-op without a mask). */
export function maskState(c: RecurrentCache, row: number, n: number): void {
  if (!c.masked) return;
  const m = c.mask, H = c.H, o = row * H, nH = n * H;
  for (let i = 0; i < nH; i++) c.hd[o + i] = c.hs[o + i]! * m[i]!;
}

/**
 * Backward of h_{t-1} -> W_hh for the first b sequences: dh (+)= (dpre W_hh) ⊙ mask,
 * dpre (b, G*H) at dOff. accumulate = false overwrites dh.
 */
export function recurrentGradIn(c: RecurrentCache, whh: Arr, dpre: Arr, dOff: number, G: number, accumulate: boolean, b: number): void {
  const be = getBackend(), H = c.H, m = c.mask;
  if (!c.masked) { be.gemm(false, false, b, H, G, 1, dpre, dOff, G, whh, 0, H, accumulate ? 1 : 0, c.dh, 0, H); return; }
  be.gemm(false, false, b, H, G, 1, dpre, dOff, G, whh, 0, H, 0, c.tmp, 0, H);
  const bH = b * H;
  if (accumulate) for (let i = 0; i < bH; i++) c.dh[i] += c.tmp[i]! * m[i]!;
  else for (let i = 0; i < bH; i++) c.dh[i] = c.tmp[i]! * m[i]!;
}

/** At the start of backward step t: dh += dy of step t, and record dL/dh_t when asked. */
export function addOutputGrad(c: RecurrentCache, dy: Arr, dyOff: number, t: number): void {
  const H = c.H, r = c.lay.offsets[t]!, bH = c.lay.sizes[t]! * H, o = dyOff + r * H;
  for (let k = 0; k < bH; k++) c.dh[k] += dy[o + k]!;
  if (c.recording) c.dhs.set(c.dh.subarray(0, bH), r * H);
}

/**
 * h_{t-1} (or h̃_{t-1}) of every row, as the batched dW_hh product needs them: the state
 * rows themselves when every step has all B sequences (row r's predecessor is state
 * row r), else gathered into c.hp.
 */
function previousStates(c: RecurrentCache): Arr {
  const hin = recurrentInput(c);
  if (c.lay.uniform) return hin;
  const { T, sizes, offsets } = c.lay, H = c.H;
  if (c.hp.length < c.capN * H) c.hp = allocArray(c.capN * H, c.hs instanceof Float64Array ? 'float64' : 'float32');
  for (let t = 0; t < T; t++) {
    const from = prevRow(c, t) * H;
    c.hp.set(hin.subarray(from, from + sizes[t]! * H), offsets[t]! * H);
  }
  return c.hp;
}

/**
 * The bias that joins the input projection: b_ih + b_hh where both enter the same sum
 * (LSTM, Elman), only b_ih for GRU (its b_hh sits inside r ⊙ (W_hn h + b_hn)).
 */
function projectionBias(c: RecurrentCache, p: RecurrentParams): Arr {
  const GH = GATES[c.cell] * c.H;
  if (c.cell === 'gru') c.bias.set(p.bih);
  else for (let j = 0; j < GH; j++) c.bias[j] = p.bih[j]! + p.bhh[j]!;
  return c.bias;
}

/** out rows [r0, r1) (of G*H) = x W_ih^T + projection bias, x at xOff being row 0. */
function project(out: Arr, x: Arr, xOff: number, r0: number, r1: number, c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), GH = GATES[c.cell] * c.H;
  be.fillRows(out, r0 * GH, projectionBias(c, p), r1 - r0, GH);
  be.gemm(false, true, r1 - r0, GH, c.D, 1, x, xOff + r0 * c.D, c.D, p.wih, 0, c.D, 1, out, r0 * GH, GH);
}

/**
 * project() of a layer-normalised cell: out = γ_ih ⊙ x̂ + β_ih + projection bias with
 * x̂ = LN(x W_ih^T) before its gain, kept in xhat (the product lands there and is
 * normalised in place) and 1/sqrt(var + eps) in rstd, both at the same rows.
 */
function projectLN(out: Arr, x: Arr, xOff: number, r0: number, r1: number, c: RecurrentCache, p: RecurrentParams,
  xhat: Arr, rstd: Arr): void {
  const be = getBackend(), GH = GATES[c.cell] * c.H, n = r1 - r0, ln = p.ln!, bias = projectionBias(c, p);
  be.gemm(false, true, n, GH, c.D, 1, x, xOff + r0 * c.D, c.D, p.wih, 0, c.D, 0, xhat, r0 * GH, GH);
  for (let j = 0; j < GH; j++) bias[j] += ln.ihBias[j]!; // LN(v) + b = γ ⊙ v̂ + (β + b)
  layerNormForward(out, r0 * GH, xhat, r0 * GH, rstd, r0, xhat, r0 * GH, ln.ihWeight, bias, n, GH);
}

/** The layer-norm cache, checking that cache and parameters agree on having one. */
function lnCache(c: RecurrentCache, p: RecurrentParams): LayerNormCache | null {
  if (!p.ln !== !c.ln) throw new Error(`recurrent layer: the parameters ${p.ln ? 'have' : 'lack'} layer norm, the cache ${c.ln ? 'has' : 'does not'}`);
  return c.ln;
}

function runCell(c: RecurrentCache, p: RecurrentParams, h0: Arr, h0Off: number, c0: Arr, c0Off: number, t0: number, t1: number): void {
  const BH = c.B * c.H;
  if (t0 === 0) {
    c.hs.set(h0.subarray(h0Off, h0Off + BH), 0);
    if (c.cell === 'lstm') c.cs.set(c0.subarray(c0Off, c0Off + BH), 0);
    maskState(c, 0, c.B);
  }
  const ln = lnCache(c, p), fused = fusedBackend(c, t1 - t0, false);
  if (fused) {
    if (c.cell === 'gru') gruRecurrentBias(c, p, t0, t1);
    fused.recurrentSequenceForward!(c.cell, c.g, c.gh, c.hs, c.cs, c.tc, p.whh, c.lay.sizes, c.lay.offsets, c.T, c.B, c.H, t0, t1);
  } else if (ln) {
    if (c.cell === 'lstm') lnLstmForward(c, p, t0, t1);
    else if (c.cell === 'gru') lnGruForward(c, p, t0, t1);
    else lnRnnForward(c, p, t0, t1);
  } else if (c.cell === 'lstm') lstmForward(c, p, t0, t1);
  else if (c.cell === 'gru') gruForward(c, p, t0, t1);
  else rnnForward(c, p, t0, t1);
}

/**
 * Runs steps [t0, t1) (default all T) of the cache's layout over inputs x (N, D) at
 * xOff. At t0 = 0 the state starts from (h0, c0) (each (B, H) at its offset; c0 is
 * ignored unless LSTM). h_t lands in the state rows of c.hs, c_t in c.cs. Running 0..T
 * in pieces gives the same result as one call, so inputs can depend on earlier outputs
 * (free running).
 */
export function recurrentForward(c: RecurrentCache, p: RecurrentParams, x: Arr, xOff: number,
  h0: Arr, h0Off: number, c0: Arr, c0Off: number, t0 = 0, t1 = c.T): void {
  c.x = x; c.xOff = xOff;
  const ln = lnCache(c, p), r0 = c.lay.offsets[t0]!, r1 = c.lay.offsets[t1]!;
  if (!ln) project(c.g, x, xOff, r0, r1, c, p);
  else {
    if (!ln.xhat.length) ln.xhat = allocArray(c.capN * GATES[c.cell] * c.H, ln.dtype);
    projectLN(c.g, x, xOff, r0, r1, c, p, ln.xhat, ln.xRstd);
  }
  runCell(c, p, h0, h0Off, c0, c0Off, t0, t1);
}

/**
 * Token inputs: x_t = emb[id_t], so W_ih x_t + bias is row id_t of the table
 * emb W_ih^T + bias (V, G*H), computed once instead of once per position. LN of a row
 * depends on that row alone, so a layer-normalised cell's table holds
 * γ_ih ⊙ LN(emb W_ih^T) + β_ih + bias, its x̂ and rstd kept in c.ln.
 */
export function tokenTable(table: Arr, emb: Arr, V: number, c: RecurrentCache, p: RecurrentParams): void {
  const ln = lnCache(c, p), GH = GATES[c.cell] * c.H;
  if (!ln) { project(table, emb, 0, 0, V, c, p); return; }
  if (ln.tabHat.length !== V * GH) { ln.tabHat = allocArray(V * GH, ln.dtype); ln.tabRstd = allocArray(V, ln.dtype); }
  projectLN(table, emb, 0, 0, V, c, p, ln.tabHat, ln.tabRstd);
}

/** recurrentForward for token inputs ids (N), with the table from tokenTable. */
export function recurrentForwardTokens(c: RecurrentCache, p: RecurrentParams, table: Arr, ids: Int32Array,
  h0: Arr, h0Off: number, c0: Arr, c0Off: number, t0 = 0, t1 = c.T): void {
  const GH = GATES[c.cell] * c.H, r0 = c.lay.offsets[t0]!, r1 = c.lay.offsets[t1]!;
  getBackend().gatherRows(c.g, r0 * GH, table, ids.subarray(r0, r1), r1 - r0, GH);
  runCell(c, p, h0, h0Off, c0, c0Off, t0, t1);
}

/**
 * Backpropagation through time. Before the call row b of c.dh / c.dc holds dL/d(final
 * h, c) of sequence b (zero when the final state feeds nothing); dy (N, H) at dyOff is
 * dL/dh_t from above.
 * Fills c.dg (and c.dgh), adds dW_hh and db_hh to dp, and leaves dL/dh0, dL/dc0 in c.dh, c.dc.
 * Layer norm: also fills c.ln.dhh and adds dp.ln's recurrent-side (and LSTM c) gains and biases.
 */
function sweep(dp: RecurrentParams, dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  const ln = lnCache(c, p), fused = fusedBackend(c, c.T, true);
  if (fused) {
    fused.recurrentSequenceBackward!(c.cell, c.dg, c.dgh, c.dh, c.dc, dy, dyOff, c.g, c.gh, c.hs, c.cs, c.tc, p.whh, c.lay.sizes, c.lay.offsets, c.T, c.B, c.H);
  } else if (ln) {
    // also adds the LN gains and biases of the recurrent side (and of c) to dp.ln
    if (c.cell === 'lstm') lnLstmBackward(dy, dyOff, c, p, dp);
    else if (c.cell === 'gru') lnGruBackward(dy, dyOff, c, p, dp);
    else lnRnnBackward(dy, dyOff, c, p, dp);
  } else if (c.cell === 'lstm') lstmBackward(dy, dyOff, c, p);
  else if (c.cell === 'gru') gruBackward(dy, dyOff, c, p);
  else rnnBackward(dy, dyOff, c, p);
  const be = getBackend(), rows = c.N, GH = GATES[c.cell] * c.H;
  const dgh = c.cell === 'gru' ? c.dgh : c.dg; // the gradient w.r.t. W_hh h + b_hh (or LN(W_hh h) + b_hh)
  const dwh = ln ? ln.dhh : dgh; // the gradient w.r.t. W_hh h
  be.gemm(true, false, GH, c.H, rows, 1, dwh, 0, GH, previousStates(c), 0, c.H, 1, dp.whh, 0, c.H);
  if (c.cell === 'gru') { be.sumRows(dp.bhh, dgh, 0, rows, GH); return; }
  // b_ih and b_hh enter the same sum: one pass over the rows serves both (recurrentBackward adds it to b_ih)
  c.dbias.fill(0);
  be.sumRows(c.dbias, dgh, 0, rows, GH);
  for (let j = 0; j < GH; j++) dp.bhh[j] += c.dbias[j]!;
}

/**
 * Backward of projectLN over rows: d holds dL/d(γ_ih ⊙ x̂ + β_ih + bias); adds to dγ_ih
 * and dβ_ih and turns d, in place, into dL/d(x W_ih^T) for the W_ih and x gradients.
 */
function projectLNBackward(d: Arr, rows: number, xhat: Arr, rstd: Arr, c: RecurrentCache, p: RecurrentParams, dp: RecurrentParams): void {
  layerNormBackward(d, 0, dp.ln!.ihWeight, dp.ln!.ihBias, d, 0, xhat, 0, rstd, 0, p.ln!.ihWeight, rows, GATES[c.cell] * c.H);
}

/**
 * Backward of recurrentForward: accumulates into dp (dp.ln too for a layer-normalised
 * cell) and writes dx = dL/dx (skipped when null) at dxOff.
 */
export function recurrentBackward(dp: RecurrentParams, dx: Arr | null, dxOff: number, dy: Arr, dyOff: number,
  c: RecurrentCache, p: RecurrentParams): void {
  sweep(dp, dy, dyOff, c, p);
  const be = getBackend(), rows = c.N, GH = GATES[c.cell] * c.H;
  if (c.cell === 'gru') be.sumRows(dp.bih, c.dg, 0, rows, GH);
  else for (let j = 0; j < GH; j++) dp.bih[j] += c.dbias[j]!;
  if (c.ln) projectLNBackward(c.dg, rows, c.ln.xhat, c.ln.xRstd, c, p, dp); // c.dg becomes dL/d(x W_ih^T)
  be.gemm(true, false, GH, c.D, rows, 1, c.dg, 0, GH, c.x, c.xOff, c.D, 1, dp.wih, 0, c.D);
  if (dx) be.gemm(false, false, rows, c.D, GH, 1, c.dg, 0, GH, p.wih, 0, c.D, 0, dx, dxOff, c.D);
}

/**
 * Backward of recurrentForwardTokens. dtable (V, G*H) receives Σ over the positions of
 * each token of dL/d(projection) (zeroed here); then tokenTableBackward turns it into
 * gradients of W_ih, b_ih and the embedding: V rows instead of T*B.
 */
export function recurrentBackwardTokens(dp: RecurrentParams, dtable: Arr, ids: Int32Array, dy: Arr, dyOff: number,
  c: RecurrentCache, p: RecurrentParams): void {
  sweep(dp, dy, dyOff, c, p);
  dtable.fill(0);
  getBackend().scatterAddRows(dtable, c.dg, 0, ids, c.N, GATES[c.cell] * c.H);
}

/**
 * dW_ih += dtable^T emb, db_ih += Σ dtable, demb += dtable W_ih (unless null). Layer norm: first the
 * LN gains and biases, then dtable is turned in place into dL/d(emb W_ih^T) (through
 * the table's LN), which the two GEMMs use.
 */
export function tokenTableBackward(dp: RecurrentParams, demb: Arr | null, dtable: Arr, emb: Arr, V: number,
  c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), GH = GATES[c.cell] * c.H, ln = lnCache(c, p);
  be.sumRows(dp.bih, dtable, 0, V, GH);
  if (ln) projectLNBackward(dtable, V, ln.tabHat, ln.tabRstd, c, p, dp);
  be.gemm(true, false, GH, c.D, V, 1, dtable, 0, GH, emb, 0, c.D, 1, dp.wih, 0, c.D);
  if (demb) be.gemm(false, false, V, c.D, GH, 1, dtable, 0, GH, p.wih, 0, c.D, 1, demb, 0, c.D);
}
