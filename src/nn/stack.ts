// A stack of recurrent layers, the body every rnnkit model is built from: L layers of
// one cell type, each one- or two-directional (PyTorch nn.LSTM(bidirectional=True):
// the reverse direction reads every sequence backwards, and the layer's output is
// [forward h_t | backward h_t]), dropout between layers, optionally the sum of all
// layers' outputs as the output, and the initial state modes.
//
// Shapes: L layers, dirs = 1 or 2, H hidden, D input size of layer 0, and a StepLayout
// (layout.ts) of N rows for B sequences sorted longest first. Layer l, direction d is
// unit k = l*dirs + d; states are (L*dirs, B, H) in that order, as PyTorch's h_n.
//
// The reverse direction is the forward recurrence run on the time-reversed sequences
// (reversedRows: the same layout, rows permuted), so every cell and backend serves both.
// Inputs are float rows, or token ids whose embedding layer 0 folds into its input
// projection (a (V, G*H) table computed once per forward when there are at least as
// many rows as tokens, recurrent.ts tokenTable).
import type { Arr, DType, ParamSet, ParamSpec } from '../core/params.js';
import type { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';
import { dropoutForward } from './dropout.js';
import { uniformInit } from './linear.js';
import { reversedRows, type StepLayout } from './layout.js';
import { stackBackward, initialStateBackward, type StackBackwardOptions } from './stack-backward.js';
import {
  GATES, createRecurrentCache, recurrentForward, recurrentForwardTokens, setLayout, setRecurrentMask, tokenTable,
  type CellType, type RecurrentCache, type RecurrentParams,
} from './recurrent.js';

export type InitialState = 'zero' | 'learned' | 'noisy';
export const INITIAL_STATES: readonly InitialState[] = ['zero', 'learned', 'noisy'];

export interface StackConfig {
  cell: CellType;
  inputSize: number;        // D: layer 0's input (the embedding size for token inputs)
  hiddenSize: number;       // H
  numLayers: number;        // L
  bidirectional: boolean;
  dropout: number;          // on each layer's output below the top, training only
  recurrentDropout: number; // variational dropout on h_{t-1} -> W_hh, one mask per sequence, training only
  layerNorm: boolean;       // layer-normalised cells (Ba et al. 2016)
  initialState: InitialState;
  initialNoise: number;     // 'noisy': std of the noise added to the zero state in training
  sumOutputs: boolean;      // output = Σ over layers of each layer's output
}

/** Tensor name prefixes: PyTorch's nn.LSTM names follow `rnn` (e.g. 'rnn.weight_ih_l0'). */
export interface StackNames { rnn: string; init: string }

const suffix = (d: number) => (d === 1 ? '_reverse' : '');

/**
 * The stack's tensors: `core` in PyTorch's state_dict order (per layer, per direction:
 * weight_ih, weight_hh, bias_ih, bias_hh), `extra` rnnkit's own (layer-norm gains and
 * biases, the learned initial state), which models list after their own tensors.
 */
export function stackParamSpecs(c: StackConfig, n: StackNames): { core: ParamSpec[]; extra: ParamSpec[] } {
  const G = GATES[c.cell] * c.hiddenSize, H = c.hiddenSize, dirs = c.bidirectional ? 2 : 1, lstm = c.cell === 'lstm';
  const core: ParamSpec[] = [], extra: ParamSpec[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const D = l === 0 ? c.inputSize : dirs * H;
    for (let d = 0; d < dirs; d++) {
      const s = `_l${l}${suffix(d)}`;
      core.push(
        { name: `${n.rnn}weight_ih${s}`, shape: [G, D] }, { name: `${n.rnn}weight_hh${s}`, shape: [G, H] },
        { name: `${n.rnn}bias_ih${s}`, shape: [G] }, { name: `${n.rnn}bias_hh${s}`, shape: [G] },
      );
    }
  }
  if (c.layerNorm) {
    for (let l = 0; l < c.numLayers; l++) for (let d = 0; d < dirs; d++) {
      const s = `_l${l}${suffix(d)}`;
      extra.push(
        { name: `${n.rnn}ln_ih_weight${s}`, shape: [G] }, { name: `${n.rnn}ln_ih_bias${s}`, shape: [G] },
        { name: `${n.rnn}ln_hh_weight${s}`, shape: [G] }, { name: `${n.rnn}ln_hh_bias${s}`, shape: [G] },
      );
      if (lstm) extra.push({ name: `${n.rnn}ln_c_weight${s}`, shape: [H] }, { name: `${n.rnn}ln_c_bias${s}`, shape: [H] });
    }
  }
  if (c.initialState === 'learned') {
    extra.push({ name: `${n.init}h0`, shape: [c.numLayers * dirs, H] });
    if (lstm) extra.push({ name: `${n.init}c0`, shape: [c.numLayers * dirs, H] });
  }
  return { core, extra };
}

/** Layer l, direction d's tensors in ps (params or grads). */
export function unitViews(ps: ParamSet, c: StackConfig, n: StackNames, l: number, d: number): RecurrentParams {
  const s = `_l${l}${suffix(d)}`, r = n.rnn;
  const p: RecurrentParams = {
    wih: ps.get(`${r}weight_ih${s}`), whh: ps.get(`${r}weight_hh${s}`), bih: ps.get(`${r}bias_ih${s}`), bhh: ps.get(`${r}bias_hh${s}`),
  };
  if (c.layerNorm) {
    p.ln = {
      ihWeight: ps.get(`${r}ln_ih_weight${s}`), ihBias: ps.get(`${r}ln_ih_bias${s}`),
      hhWeight: ps.get(`${r}ln_hh_weight${s}`), hhBias: ps.get(`${r}ln_hh_bias${s}`),
    };
    if (c.cell === 'lstm') { p.ln.cWeight = ps.get(`${r}ln_c_weight${s}`); p.ln.cBias = ps.get(`${r}ln_c_bias${s}`); }
  }
  return p;
}

/** Layer 0's input: float rows (N, D) in layout order, or token ids and their embedding table. */
export type StackInput =
  | { kind: 'float'; x: Arr; xOff: number }
  | { kind: 'tokens'; ids: Int32Array; emb: Arr; demb: Arr | null; V: number };

/** Activation memory for up to T steps of B sequences, reused for every layout that fits. */
export interface StackWorkspace {
  T: number; B: number;
  lay: StepLayout;
  units: RecurrentCache[]; // [l*dirs + d]
  rev: Int32Array;         // (T*B) reversed row map of lay (bidirectional)
  revIds: Int32Array;      // (T*B) token ids in reversed order (bidirectional token input)
  xr: Arr[];               // per layer: its input in reversed row order (N, D_l) (bidirectional)
  dxr: Arr;                // (N, max D_l) the reverse direction's dL/dx, reversed order
  out: Arr[];              // per layer: (N, 2H) [forward | backward] outputs (bidirectional)
  dyd: Arr[];              // per direction: dL/d(its outputs) (N, H) (bidirectional)
  drop: Arr[]; masks: Arr[]; // per layer below the top: dropped outputs and masks (N, dirs*H)
  dys: Arr[];              // per layer: dL/d(its outputs) (N, dirs*H)
  sum: Arr; dsum: Arr;     // sumOutputs: (N, dirs*H)
  useTable: boolean;       // token input through (V, G*H) tables
  tables: Arr[]; dtables: Arr[]; // per direction of layer 0 (token input), (V, G*H)
  x0: Arr; dx0: Arr;       // token input without tables: embeddings (N, E), per direction
  x0r: Arr; dx0r: Arr;
  dx: Arr;                 // (N, D) dL/dx of float input, after backward with wantDx
  input: StackInput | null;
  h0: Arr; c0: Arr;        // the state the last forward started from (the caller's arrays)
  rng: Rng | undefined;
  dropped: boolean;        // the last forward used dropout between layers
}

export interface StackForwardOptions {
  train?: boolean | undefined; // dropout and recurrent dropout (need rng)
  rng?: Rng | undefined;
}

export class RecurrentStack {
  readonly dirs: number;
  readonly params: RecurrentParams[] = []; // [l*dirs + d]
  readonly grads: RecurrentParams[] = [];
  /** backward keeps dL/dh_t of every unit (unidirectional: per layer), for diagnostics */
  recording = false;

  constructor(readonly cfg: StackConfig, private ps: ParamSet, private gs: ParamSet, readonly names: StackNames, readonly dtype: DType) {
    this.dirs = cfg.bidirectional ? 2 : 1;
    for (let l = 0; l < cfg.numLayers; l++) for (let d = 0; d < this.dirs; d++) {
      this.params.push(unitViews(ps, cfg, names, l, d));
      this.grads.push(unitViews(gs, cfg, names, l, d));
    }
  }

  /** Width of each layer's output, dirs*H. */
  get outputSize(): number {
    return this.dirs * this.cfg.hiddenSize;
  }

  /** Units (layers times directions): the first dimension of states. */
  get units(): number {
    return this.cfg.numLayers * this.dirs;
  }

  /**
   * PyTorch's initialisation, U(-1/√H, 1/√H) for every weight and bias in spec order,
   * then the LSTM forget gates' b_ih = forgetBias and b_hh = 0 (null: leave them);
   * layer-norm gains 1, biases 0, a learned initial state 0.
   */
  init(rng: Rng, forgetBias: number | null): void {
    const { core, extra } = stackParamSpecs(this.cfg, this.names);
    for (const s of core) uniformInit(this.ps.get(s.name), this.cfg.hiddenSize, rng);
    for (const s of extra) this.ps.get(s.name).fill(s.name.includes('_weight_') ? 1 : 0);
    this.setForgetBias(forgetBias);
  }

  setForgetBias(forgetBias: number | null): void {
    const H = this.cfg.hiddenSize;
    if (this.cfg.cell !== 'lstm' || forgetBias === null) return;
    for (const p of this.params) { p.bih.fill(forgetBias, H, 2 * H); p.bhh.fill(0, H, 2 * H); }
  }

  /** A workspace for up to T steps of B sequences; tokenV: the vocabulary of token input. */
  workspace(T: number, B: number, tokenV = 0): StackWorkspace {
    const { cell, inputSize: D, hiddenSize: H, numLayers: L, layerNorm, dropout, sumOutputs } = this.cfg, dirs = this.dirs;
    const F = (n: number) => allocArray(n, this.dtype), N = T * B, W = dirs * H, bi = dirs === 2;
    const units: RecurrentCache[] = [];
    for (let l = 0; l < L; l++) for (let d = 0; d < dirs; d++) units.push(createRecurrentCache(cell, T, B, l === 0 ? D : W, H, this.dtype, layerNorm));
    const per = (n: number, w: number) => Array.from({ length: n }, () => F(N * w));
    const useTable = tokenV > 0 && N >= tokenV, GH = GATES[cell] * H, direct = tokenV > 0 && !useTable;
    return {
      T, B, lay: units[0]!.lay, units,
      rev: new Int32Array(bi ? N : 0), revIds: new Int32Array(bi && tokenV ? N : 0),
      xr: bi ? Array.from({ length: L }, (_, l) => F(l === 0 && tokenV ? 0 : N * (l === 0 ? D : W))) : [],
      dxr: F(bi ? N * Math.max(D, W) : 0),
      out: bi ? per(L, W) : [], dyd: bi ? per(2, H) : [],
      drop: dropout > 0 ? per(L - 1, W) : [], masks: dropout > 0 ? per(L - 1, W) : [],
      dys: per(L, W), sum: F(sumOutputs ? N * W : 0), dsum: F(sumOutputs ? N * W : 0),
      useTable, tables: useTable ? Array.from({ length: dirs }, () => F(tokenV * GH)) : [],
      dtables: useTable ? Array.from({ length: dirs }, () => F(tokenV * GH)) : [],
      x0: F(direct ? N * D : 0), dx0: F(direct ? N * D : 0), x0r: F(direct && bi ? N * D : 0), dx0r: F(direct && bi ? N * D : 0),
      dx: F(0), input: null, h0: F(0), c0: F(0), rng: undefined, dropped: false,
    };
  }

  /**
   * Fills h0, c0 ((L*dirs, B, H) each, c0 only for LSTM) with the initial state: zeros,
   * the learned one, or zeros plus N(0, initialNoise²) in training (rng given).
   */
  initialState(h0: Arr, c0: Arr, B: number, rng?: Rng | undefined): void {
    const { hiddenSize: H, initialState: mode, initialNoise: sd } = this.cfg, U = this.units;
    h0.fill(0, 0, U * B * H); c0.fill(0, 0, this.cfg.cell === 'lstm' ? U * B * H : 0);
    if (mode === 'learned') {
      const lh = this.ps.get(`${this.names.init}h0`), lc = this.cfg.cell === 'lstm' ? this.ps.get(`${this.names.init}c0`) : null;
      for (let k = 0; k < U; k++) for (let b = 0; b < B; b++) {
        h0.set(lh.subarray(k * H, (k + 1) * H), (k * B + b) * H);
        if (lc) c0.set(lc.subarray(k * H, (k + 1) * H), (k * B + b) * H);
      }
    } else if (mode === 'noisy' && rng && sd > 0) {
      for (let i = 0; i < U * B * H; i++) h0[i] = sd * rng.normal();
      if (this.cfg.cell === 'lstm') for (let i = 0; i < U * B * H; i++) c0[i] = sd * rng.normal();
    }
  }

  /**
   * Prepares a forward over `lay` from the state (h0, c0) ((L*dirs, B, H) in the
   * layout's order; c0 is ignored unless LSTM): masks, token tables. steps() then runs
   * it, in one call or, unidirectional, in pieces.
   */
  begin(ws: StackWorkspace, lay: StepLayout, input: StackInput, h0: Arr, c0: Arr, opts: StackForwardOptions = {}): void {
    const { dropout, recurrentDropout: rdrop, hiddenSize: H, numLayers: L } = this.cfg;
    if (lay.T > ws.T || lay.B > ws.B) throw new Error(`stack workspace holds ${ws.T} steps of ${ws.B} sequences, the batch has ${lay.T} of ${lay.B}`);
    const train = !!opts.train, useDrop = train && dropout > 0 && L > 1, useRdrop = train && rdrop > 0;
    if ((useDrop || useRdrop) && !opts.rng) throw new Error('stack forward: dropout needs an rng');
    ws.lay = lay; ws.input = input; ws.h0 = h0; ws.c0 = c0; ws.rng = opts.rng; ws.dropped = useDrop;
    for (const c of ws.units) {
      setLayout(c, lay);
      const mask = setRecurrentMask(c, useRdrop, this.dtype);
      if (useRdrop) for (let k = 0; k < lay.B * H; k++) mask[k] = opts.rng!.uniform() < rdrop ? 0 : 1 / (1 - rdrop);
    }
    if (this.dirs === 2) {
      reversedRows(lay, ws.rev);
      if (input.kind === 'tokens') for (let r = 0; r < lay.N; r++) ws.revIds[r] = input.ids[ws.rev[r]!]!;
    }
    if (input.kind === 'tokens' && ws.useTable) {
      for (let d = 0; d < this.dirs; d++) tokenTable(ws.tables[d]!, input.emb, input.V, ws.units[d]!, this.params[d]!);
    }
  }

  /** Runs steps [t0, t1) of every layer (bidirectional stacks: all steps at once). */
  steps(ws: StackWorkspace, t0 = 0, t1 = ws.lay.T): void {
    const { inputSize: E, hiddenSize: H, numLayers: L, dropout, sumOutputs } = this.cfg, dirs = this.dirs, bi = dirs === 2;
    const lay = ws.lay, B = lay.B, BH = B * H, W = dirs * H, inp = ws.input!, be = getBackend();
    if (bi && (t0 !== 0 || t1 !== lay.T)) throw new Error('a bidirectional stack runs whole sequences only');
    const r0 = lay.offsets[t0]!, r1 = lay.offsets[t1]!, n = r1 - r0, N = lay.N;
    const tokens = inp.kind === 'tokens';
    if (tokens && !ws.useTable) {
      be.gatherRows(ws.x0, r0 * E, inp.emb, inp.ids.subarray(r0, r1), n, E);
      if (bi) be.gatherRows(ws.x0r, 0, inp.emb, ws.revIds, N, E);
    }
    let x: Arr = tokens ? ws.x0 : inp.x, xOff = tokens ? 0 : inp.xOff;
    for (let l = 0; l < L; l++) {
      const Dl = l === 0 ? E : W;
      for (let d = 0; d < dirs; d++) {
        const k = l * dirs + d, c = ws.units[k]!, p = this.params[k]!, so = k * BH;
        if (l === 0 && tokens && ws.useTable) {
          recurrentForwardTokens(c, p, ws.tables[d]!, d ? ws.revIds : inp.ids, ws.h0, so, ws.c0, so, t0, t1);
          continue;
        }
        let xin = x, xinOff = xOff;
        if (d === 1) {
          if (l === 0 && tokens) xin = ws.x0r;
          else be.gatherRows(xin = ws.xr[l]!, 0, xOff ? x.subarray(xOff) : x, ws.rev, N, Dl);
          xinOff = 0;
        }
        recurrentForward(c, p, xin, xinOff, ws.h0, so, ws.c0, so, t0, t1);
      }
      const o = this.layerOutput(ws, l, true);
      x = o.a; xOff = o.off;
      if (ws.dropped && l < L - 1) {
        dropoutForward(ws.drop[l]!, ws.masks[l]!, x, xOff + r0 * W, n * W, dropout, ws.rng!, r0 * W);
        x = ws.drop[l]!; xOff = 0;
      }
    }
    if (sumOutputs) {
      const first = this.layerOutput(ws, 0);
      ws.sum.set(first.a.subarray(first.off + r0 * W, first.off + r1 * W), r0 * W);
      for (let l = 1; l < L; l++) {
        const { a, off } = this.layerOutput(ws, l);
        for (let q = r0 * W; q < r1 * W; q++) ws.sum[q] += a[off + q]!;
      }
    }
  }

  /** begin + steps over the whole layout. */
  forward(ws: StackWorkspace, lay: StepLayout, input: StackInput, h0: Arr, c0: Arr, opts: StackForwardOptions = {}): void {
    this.begin(ws, lay, input, h0, c0, opts);
    this.steps(ws);
  }

  /**
   * Layer l's outputs (N, dirs*H) as a view (a, off) of the last forward; build:
   * bidirectional, first assemble [forward | backward] from the two directions.
   */
  layerOutput(ws: StackWorkspace, l: number, build = false): { a: Arr; off: number } {
    const H = this.cfg.hiddenSize, lay = ws.lay, B = lay.B;
    if (this.dirs === 1) return { a: ws.units[l]!.hs, off: B * H };
    const out = ws.out[l]!;
    if (build) {
      const f = ws.units[2 * l]!.hs, r = ws.units[2 * l + 1]!.hs, rev = ws.rev, W = 2 * H;
      for (let q = 0; q < lay.N; q++) {
        const o = q * W, fo = (B + q) * H, ro = (B + rev[q]!) * H;
        for (let j = 0; j < H; j++) { out[o + j] = f[fo + j]!; out[o + H + j] = r[ro + j]!; }
      }
    }
    return { a: out, off: 0 };
  }

  /** The stack's output (N, dirs*H): the top layer's, or the sum over layers. */
  output(ws: StackWorkspace): { a: Arr; off: number } {
    return this.cfg.sumOutputs ? { a: ws.sum, off: 0 } : this.layerOutput(ws, this.cfg.numLayers - 1);
  }

  /** Each sequence's state after its last step (the reverse direction: after step 0), (L*dirs, B, H). */
  finalState(ws: StackWorkspace, h: Arr, c: Arr): void {
    const H = this.cfg.hiddenSize, lay = ws.lay, B = lay.B, lstm = this.cfg.cell === 'lstm';
    ws.units.forEach((u, k) => {
      if (lay.uniform) {
        const from = lay.N * H; // state row B + offsets[T-1] = T*B
        h.set(u.hs.subarray(from, from + B * H), k * B * H);
        if (lstm) c.set(u.cs.subarray(from, from + B * H), k * B * H);
        return;
      }
      for (let i = 0; i < B; i++) {
        const from = (B + lay.offsets[lay.lengths[i]! - 1]! + i) * H, to = (k * B + i) * H;
        h.set(u.hs.subarray(from, from + H), to);
        if (lstm) c.set(u.cs.subarray(from, from + H), to);
      }
    });
  }

  /** Backpropagation of the last forward from dOut = dL/d(output()) (stack-backward.ts). */
  backward(ws: StackWorkspace, dOut: Arr | null, opts: StackBackwardOptions = {}): void {
    stackBackward(this, ws, dOut, opts);
  }

  /** After backward: d init.h0 (and c0) += Σ over sequences of dL/d(initial state). */
  learnedStateBackward(ws: StackWorkspace): void {
    if (this.cfg.initialState !== 'learned') return;
    initialStateBackward(this, ws, this.gs.get(`${this.names.init}h0`), this.cfg.cell === 'lstm' ? this.gs.get(`${this.names.init}c0`) : null);
  }

  /** After backward: unit k's dL/dh0 and dL/dc0, each (B, H). */
  initialGrad(ws: StackWorkspace, k: number): { h: Arr; c: Arr } {
    const u = ws.units[k]!;
    return { h: u.dh, c: u.dc };
  }

  /** The state after step k (0 <= k <= T; 0 = the initial state) of a uniform unidirectional forward. */
  stateAt(ws: StackWorkspace, k: number, h: Arr, c: Arr): void {
    const BH = ws.lay.B * this.cfg.hiddenSize;
    if (!ws.lay.uniform || this.dirs !== 1) throw new Error('stateAt: uniform unidirectional forwards only');
    ws.units.forEach((u, l) => {
      h.set(u.hs.subarray(k * BH, (k + 1) * BH), l * BH);
      if (c.length) c.set(u.cs.subarray(k * BH, (k + 1) * BH), l * BH);
    });
  }
}
