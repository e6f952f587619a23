// Shared plumbing of the recurrent layers (rnn.ts, lstm.ts, gru.ts).
// T = time, B = batch, D = input size, H = hidden size, G = gates (1, 4 or 3).
// Activations are time-major: row t*B + b of a (T*B, ·) buffer is step t of stream b.
//
// Only the recurrent product h_{t-1} W_hh^T runs per step. The input projection of
// the whole sequence is one GEMM before the loop (or, for token inputs, a row lookup
// into a per-token table), and the weight gradients one GEMM each after the sweep.

import type { Arr, DType } from '../core/params.js';
import { allocArray, getBackend } from '../backend/registry.js';
import { lstmForward, lstmBackward } from './lstm.js';
import { gruForward, gruBackward } from './gru.js';
import { rnnForward, rnnBackward } from './rnn.js';

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

/** Everything forward keeps for backward, sized once per (T, B). */
export interface RecurrentCache {
  cell: CellType;
  T: number; B: number; D: number; H: number;
  x: Arr; xOff: number; // input (T*B, D), owned by the caller; set by forward
  hs: Arr;  // ((T+1)*B, H): row block 0 is h0, block t+1 is h_t
  g: Arr;   // (T*B, G*H) input projection, then gate activations (lstm, gru) or pre-activations (rnn)
  cs: Arr;  // lstm: ((T+1)*B, H) cell states, block 0 is c0; else empty
  tc: Arr;  // lstm: (T*B, H) tanh(c_t); else empty
  gh: Arr;  // gru: (T*B, 3H) W_hh h_{t-1} + b_hh, needed because r gates its n part
  dg: Arr;  // (T*B, G*H) gradient w.r.t. the input-side pre-activations
  dgh: Arr; // gru: (T*B, 3H) gradient w.r.t. gh; else empty
  dh: Arr;  // (B, H) running dL/dh; dL/dh0 after backward
  dc: Arr;  // (B, H) running dL/dc (lstm); dL/dc0 after backward
  bias: Arr; // (G*H) scratch for the bias of the input projection
  // variational recurrent dropout (Gal & Ghahramani 2016): one mask for every step
  mask: Arr;   // (B, H) 0 or 1/(1-p); empty = off
  hd: Arr;     // ((T+1)*B, H) h_t ⊙ mask, what W_hh sees when the mask is on
  tmp: Arr;    // (B, H) scratch for the masked recurrent gradient
  // when non-empty, backward stores dL/dh_t (total, all paths) at row block t
  dhs: Arr;    // (T*B, H)
}

export function createRecurrentCache(cell: CellType, T: number, B: number, D: number, H: number, dtype: DType, layerNorm = false): RecurrentCache {
  if (layerNorm) throw new Error('layer-normalised cells are not implemented yet');
  const F = (n: number) => allocArray(n, dtype);
  const G = GATES[cell], lstm = cell === 'lstm', gru = cell === 'gru';
  return {
    cell, T, B, D, H, x: F(0), xOff: 0,
    hs: F((T + 1) * B * H),
    g: F(T * B * G * H),
    cs: F(lstm ? (T + 1) * B * H : 0),
    tc: F(lstm ? T * B * H : 0),
    gh: F(gru ? T * B * 3 * H : 0),
    dg: F(T * B * G * H),
    dgh: F(gru ? T * B * 3 * H : 0),
    dh: F(B * H),
    dc: F(B * H),
    bias: F(G * H),
    mask: F(0), hd: F(0), tmp: F(0), dhs: F(0),
  };
}

/** Turns variational recurrent dropout on for this cache (mask filled by the caller), or off with p = 0. */
export function setRecurrentMask(c: RecurrentCache, on: boolean, dtype: DType): Arr {
  if (!on) { if (c.mask.length) c.mask = allocArray(0, dtype); return c.mask; }
  if (!c.hd.length) { c.hd = allocArray((c.T + 1) * c.B * c.H, dtype); c.tmp = allocArray(c.B * c.H, dtype); }
  if (!c.mask.length) c.mask = allocArray(c.B * c.H, dtype);
  return c.mask;
}

/** Makes backward store dL/dh_t for every step in c.dhs (diagnostics, Pascanu's regularizer). */
export function recordHiddenGrads(c: RecurrentCache, on: boolean, dtype: DType): void {
  if (on && !c.dhs.length) c.dhs = allocArray(c.T * c.B * c.H, dtype);
  if (!on && c.dhs.length) c.dhs = allocArray(0, dtype);
}

/** The h_{t-1} rows W_hh multiplies: hs itself, or hs ⊙ mask. */
export function recurrentInput(c: RecurrentCache): Arr {
  return c.mask.length ? c.hd : c.hs;
}

/** hd block k = hs block k ⊙ mask (no-op without a mask). */
export function maskState(c: RecurrentCache, k: number): void {
  const m = c.mask, BH = c.B * c.H;
  if (!m.length) return;
  const o = k * BH;
  for (let i = 0; i < BH; i++) c.hd[o + i] = c.hs[o + i]! * m[i]!;
}

/**
 * Backward of h_{t-1} -> W_hh: dh (+)= (dpre W_hh) ⊙ mask, dpre (B, G*H) at dOff.
 * accumulate = false overwrites dh.
 */
export function recurrentGradIn(c: RecurrentCache, whh: Arr, dpre: Arr, dOff: number, G: number, accumulate: boolean): void {
  const be = getBackend(), { B, H } = c, m = c.mask;
  if (!m.length) { be.gemm(false, false, B, H, G, 1, dpre, dOff, G, whh, 0, H, accumulate ? 1 : 0, c.dh, 0, H); return; }
  be.gemm(false, false, B, H, G, 1, dpre, dOff, G, whh, 0, H, 0, c.tmp, 0, H);
  const BH = B * H;
  if (accumulate) for (let i = 0; i < BH; i++) c.dh[i] += c.tmp[i]! * m[i]!;
  else for (let i = 0; i < BH; i++) c.dh[i] = c.tmp[i]! * m[i]!;
}

/** At the start of backward step t: dh += dy_t, and record dL/dh_t when asked. */
export function addOutputGrad(c: RecurrentCache, dy: Arr, dyOff: number, t: number): void {
  const BH = c.B * c.H, o = dyOff + t * BH;
  for (let k = 0; k < BH; k++) c.dh[k] += dy[o + k]!;
  if (c.dhs.length) c.dhs.set(c.dh.subarray(0, BH), t * BH);
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

function runCell(c: RecurrentCache, p: RecurrentParams, h0: Arr, h0Off: number, c0: Arr, c0Off: number, t0: number, t1: number): void {
  const BH = c.B * c.H;
  if (t0 === 0) {
    c.hs.set(h0.subarray(h0Off, h0Off + BH), 0);
    if (c.cell === 'lstm') c.cs.set(c0.subarray(c0Off, c0Off + BH), 0);
    maskState(c, 0);
  }
  if (c.cell === 'lstm') lstmForward(c, p, t0, t1);
  else if (c.cell === 'gru') gruForward(c, p, t0, t1);
  else rnnForward(c, p, t0, t1);
}

/**
 * Runs steps [t0, t1) (default all T) over inputs x (T*B, D) at xOff. At t0 = 0 the
 * state starts from (h0, c0) (each (B, H) at its offset; c0 is ignored unless LSTM).
 * h_t lands in c.hs block t+1, c_t in c.cs. Running 0..T in pieces gives the same
 * result as one call, so inputs can depend on earlier outputs (free running).
 */
export function recurrentForward(c: RecurrentCache, p: RecurrentParams, x: Arr, xOff: number,
  h0: Arr, h0Off: number, c0: Arr, c0Off: number, t0 = 0, t1 = c.T): void {
  c.x = x; c.xOff = xOff;
  project(c.g, x, xOff, t0 * c.B, t1 * c.B, c, p);
  runCell(c, p, h0, h0Off, c0, c0Off, t0, t1);
}

/**
 * Token inputs: x_t = emb[id_t], so W_ih x_t + bias is row id_t of the table
 * emb W_ih^T + bias (V, G*H), computed once instead of once per position.
 */
export function tokenTable(table: Arr, emb: Arr, V: number, c: RecurrentCache, p: RecurrentParams): void {
  project(table, emb, 0, 0, V, c, p);
}

/** recurrentForward for token inputs ids (T*B), with the table from tokenTable. */
export function recurrentForwardTokens(c: RecurrentCache, p: RecurrentParams, table: Arr, ids: Int32Array,
  h0: Arr, h0Off: number, c0: Arr, c0Off: number, t0 = 0, t1 = c.T): void {
  const GH = GATES[c.cell] * c.H, B = c.B;
  getBackend().gatherRows(c.g, t0 * B * GH, table, ids.subarray(t0 * B, t1 * B), (t1 - t0) * B, GH);
  runCell(c, p, h0, h0Off, c0, c0Off, t0, t1);
}

/**
 * Backpropagation through time. Before the call c.dh / c.dc hold dL/dh_T and dL/dc_T
 * (zero when the final state feeds nothing); dy (T*B, H) at dyOff is dL/dh_t from above.
 * Fills c.dg (and c.dgh), adds dW_hh and db_hh to dp, and leaves dL/dh0, dL/dc0 in c.dh, c.dc.
 */
function sweep(dp: RecurrentParams, dy: Arr, dyOff: number, c: RecurrentCache, p: RecurrentParams): void {
  if (c.cell === 'lstm') lstmBackward(dy, dyOff, c, p);
  else if (c.cell === 'gru') gruBackward(dy, dyOff, c, p);
  else rnnBackward(dy, dyOff, c, p);
  const be = getBackend(), rows = c.T * c.B, GH = GATES[c.cell] * c.H;
  const dgh = c.cell === 'gru' ? c.dgh : c.dg; // the gradient w.r.t. W_hh h + b_hh
  be.gemm(true, false, GH, c.H, rows, 1, dgh, 0, GH, recurrentInput(c), 0, c.H, 1, dp.whh, 0, c.H);
  be.sumRows(dp.bhh, dgh, 0, rows, GH);
}

/**
 * Backward of recurrentForward: accumulates into dp and writes dx = dL/dx (skipped
 * when null) at dxOff.
 */
export function recurrentBackward(dp: RecurrentParams, dx: Arr | null, dxOff: number, dy: Arr, dyOff: number,
  c: RecurrentCache, p: RecurrentParams): void {
  sweep(dp, dy, dyOff, c, p);
  const be = getBackend(), rows = c.T * c.B, GH = GATES[c.cell] * c.H;
  be.gemm(true, false, GH, c.D, rows, 1, c.dg, 0, GH, c.x, c.xOff, c.D, 1, dp.wih, 0, c.D);
  be.sumRows(dp.bih, c.dg, 0, rows, GH);
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
  getBackend().scatterAddRows(dtable, c.dg, 0, ids, c.T * c.B, GATES[c.cell] * c.H);
}

/** dW_ih += dtable^T emb, db_ih += Σ dtable, demb += dtable W_ih. */
export function tokenTableBackward(dp: RecurrentParams, demb: Arr, dtable: Arr, emb: Arr, V: number,
  c: RecurrentCache, p: RecurrentParams): void {
  const be = getBackend(), GH = GATES[c.cell] * c.H;
  be.gemm(true, false, GH, c.D, V, 1, dtable, 0, GH, emb, 0, c.D, 1, dp.wih, 0, c.D);
  be.sumRows(dp.bih, dtable, 0, V, GH);
  be.gemm(false, false, V, c.D, GH, 1, dtable, 0, GH, p.wih, 0, c.D, 1, demb, 0, c.D);
}
