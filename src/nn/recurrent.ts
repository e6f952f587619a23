// Shared plumbing of the recurrent layers (rnn.ts, lstm.ts, gru.ts).
// T = time, B = batch, D = input size, H = hidden size, G = gates (1, 4 or 3).
// Activations are time-major: row t*B + b of a (T*B, ·) buffer is step t of stream b.
//
// Only the recurrent product h_{t-1} W_hh^T runs per step. The input projection of
// the whole sequence is one GEMM before the loop, and the weight gradients one GEMM
// each after the backward sweep.

import type { Arr, DType } from '../core/params.js';
import { allocArray, getBackend } from '../backend/registry.js';

export type CellType = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';
export const CELL_TYPES: readonly CellType[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'];
export const GATES: Record<CellType, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 };

/** One layer's weights (PyTorch layout: weight_ih (G*H, D), weight_hh (G*H, H)). */
export interface RecurrentParams {
  wih: Arr; // (G*H, D)
  whh: Arr; // (G*H, H)
  bih: Arr; // (G*H)
  bhh: Arr; // (G*H)
}

/** Everything forward keeps for backward, sized once per (T, B). */
export interface RecurrentCache {
  cell: CellType;
  T: number; B: number; D: number; H: number;
  x: Arr; xOff: number; // input (T*B, D), owned by the caller; set by forward
  hs: Arr;  // ((T+1)*B, H): row block 0 is h0, block t+1 is h_t
  g: Arr;   // (T*B, G*H) gate activations (lstm, gru) or pre-activations (rnn)
  cs: Arr;  // lstm: ((T+1)*B, H) cell states, block 0 is c0; else empty
  tc: Arr;  // lstm: (T*B, H) tanh(c_t); else empty
  gh: Arr;  // gru: (T*B, 3H) W_hh h_{t-1} + b_hh, needed because r gates its n part
  dg: Arr;  // (T*B, G*H) gradient w.r.t. the input-side pre-activations
  dgh: Arr; // gru: (T*B, 3H) gradient w.r.t. gh; else empty
  dh: Arr;  // (B, H) running dL/dh; dL/dh0 after backward
  dc: Arr;  // (B, H) running dL/dc (lstm); dL/dc0 after backward
  bias: Arr; // (G*H) scratch: b_ih + b_hh where both enter the same sum
}

export function createRecurrentCache(cell: CellType, T: number, B: number, D: number, H: number, dtype: DType): RecurrentCache {
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
  };
}

/** out (T*B, G*H) = x W_ih^T + bias, for all steps at once. */
export function inputProjection(out: Arr, x: Arr, xOff: number, wih: Arr, bias: Arr, rows: number, D: number, GH: number): void {
  const be = getBackend();
  be.fillRows(out, 0, bias, rows, GH);
  be.gemm(false, true, rows, GH, D, 1, x, xOff, D, wih, 0, D, 1, out, 0, GH);
}

/**
 * After the backward sweep: dW_ih += dg^T x, dW_hh += dgh^T h_{0..T-1}, bias sums,
 * and dx = dg W_ih (skipped when dx is null, e.g. below the first layer).
 */
export function weightGradients(dp: RecurrentParams, dx: Arr | null, dxOff: number, c: RecurrentCache, p: RecurrentParams,
  dg: Arr, dgh: Arr): void {
  const be = getBackend();
  const rows = c.T * c.B, GH = GATES[c.cell] * c.H;
  be.gemm(true, false, GH, c.D, rows, 1, dg, 0, GH, c.x, c.xOff, c.D, 1, dp.wih, 0, c.D);
  be.gemm(true, false, GH, c.H, rows, 1, dgh, 0, GH, c.hs, 0, c.H, 1, dp.whh, 0, c.H);
  be.sumRows(dp.bih, dg, 0, rows, GH);
  be.sumRows(dp.bhh, dgh, 0, rows, GH);
  if (dx) be.gemm(false, false, rows, c.D, GH, 1, dg, 0, GH, p.wih, 0, c.D, 0, dx, dxOff, c.D);
}
