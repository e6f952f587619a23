// Character language model: Embedding -> L stacked recurrent layers -> Linear -> softmax.
// Parameter names and shapes are exactly the state_dict of the PyTorch reference CharLM
// (docs/checkpoint-format.md), so checkpoints move between the two unchanged.
//
// Shapes: T = time, B = streams, V = vocab, E = embedding, H = hidden, L = layers.
// Token ids are time-major: ids[t*B + b] is step t of stream b.

import { ParamSet, type Arr, type DType, type ParamSpec } from '../core/params.js';
import { Rng } from '../core/rng.js';
import { allocArray, getBackend } from '../backend/registry.js';
import { linearForward, linearBackward } from '../nn/linear.js';
import { dropoutForward, dropoutBackward } from '../nn/dropout.js';
import { embeddingBackward } from '../nn/embedding.js';
import { pascanuForward, pascanuBackward } from '../nn/pascanu.js';
import { UserError } from '../core/errors.js';
import { draw } from './sample.js';
import {
  CELL_TYPES, GATES, createRecurrentCache, recurrentForward, recurrentForwardTokens, recurrentBackward,
  recurrentBackwardTokens, recordHiddenGrads, setRecurrentMask, tokenTable, tokenTableBackward, type CellType, type RecurrentCache, type RecurrentParams,
} from '../nn/recurrent.js';

export type InitialState = 'zero' | 'learned' | 'noisy';
export const INITIAL_STATES: readonly InitialState[] = ['zero', 'learned', 'noisy'];

export interface CharLMConfig {
  cell: CellType;         // recurrent cell: 'lstm' (default), 'gru', 'rnn_tanh', 'rnn_relu'
  vocab_size: number;     // V, set from the training text
  embedding_size: number; // E
  hidden_size: number;    // H
  num_layers: number;     // L
  dropout: number;        // between layers, training only (PyTorch nn.LSTM(dropout=...))
  // --- beyond the PyTorch reference (docs/training.md); the defaults keep a model
  // --- readable by the reference, except forget_bias, which only changes init()
  forget_bias: number | null; // lstm: initial forget-gate bias (b_ih; b_hh's is 0); null = PyTorch's uniform init
  layer_norm: boolean;    // layer-normalised cells (Ba et al. 2016)
  initial_state: InitialState; // state at each stream start: zeros, a trained h0 (and c0), or zeros + noise while training
  initial_noise: number;  // std of that noise
  sum_outputs: boolean;   // the head reads Σ over layers of h_t instead of the top layer's h_t
  recurrent_dropout: number; // variational dropout on h_{t-1} -> W_hh, one mask per sequence, training only
}

/** Whether a config uses only what the PyTorch reference model computes. */
export function isReferenceConfig(c: CharLMConfig): boolean {
  return !c.layer_norm && c.initial_state !== 'learned' && !c.sum_outputs;
}

/** Validates a config (from a user or a checkpoint) and fills defaults. */
export function normalizeConfig(c: Partial<CharLMConfig> & { vocab_size: number }): CharLMConfig {
  const cfg: CharLMConfig = {
    cell: c.cell ?? 'lstm',
    vocab_size: c.vocab_size,
    embedding_size: c.embedding_size ?? 64,
    hidden_size: c.hidden_size ?? 128,
    num_layers: c.num_layers ?? 1,
    dropout: c.dropout ?? 0,
    forget_bias: c.forget_bias === undefined ? 1 : c.forget_bias,
    layer_norm: c.layer_norm ?? false,
    initial_state: c.initial_state ?? 'zero',
    initial_noise: c.initial_noise ?? (c.initial_state === 'noisy' ? 0.1 : 0),
    sum_outputs: c.sum_outputs ?? false,
    recurrent_dropout: c.recurrent_dropout ?? 0,
  };
  if (!CELL_TYPES.includes(cfg.cell)) throw new Error(`cell must be one of ${CELL_TYPES.join(', ')}, got '${cfg.cell}'`);
  for (const k of ['vocab_size', 'embedding_size', 'hidden_size', 'num_layers'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new Error(`${k} must be a positive integer, got ${cfg[k]}`);
  }
  for (const k of ['dropout', 'recurrent_dropout'] as const) {
    if (!(cfg[k] >= 0 && cfg[k] < 1)) throw new Error(`${k} must be in [0, 1), got ${cfg[k]}`);
  }
  if (cfg.forget_bias !== null && !Number.isFinite(cfg.forget_bias)) throw new Error(`forget_bias must be a number or null, got ${cfg.forget_bias}`);
  if (!INITIAL_STATES.includes(cfg.initial_state)) throw new Error(`initial_state must be one of ${INITIAL_STATES.join(', ')}, got '${cfg.initial_state}'`);
  if (!(cfg.initial_noise >= 0 && Number.isFinite(cfg.initial_noise))) throw new Error(`initial_noise must be >= 0, got ${cfg.initial_noise}`);
  for (const k of ['layer_norm', 'sum_outputs'] as const) {
    if (typeof cfg[k] !== 'boolean') throw new Error(`${k} must be true or false, got ${cfg[k]}`);
  }
  return cfg;
}

/**
 * The state_dict of the reference CharLM, in its order, then rnnkit's own tensors:
 * layer-norm gains and biases per layer, and the learned initial state.
 */
export function charLMParamSpecs(c: CharLMConfig): ParamSpec[] {
  const G = GATES[c.cell] * c.hidden_size, H = c.hidden_size, L = c.num_layers, lstm = c.cell === 'lstm';
  const specs: ParamSpec[] = [{ name: 'embedding.weight', shape: [c.vocab_size, c.embedding_size] }];
  for (let l = 0; l < L; l++) {
    const D = l === 0 ? c.embedding_size : H;
    specs.push(
      { name: `rnn.weight_ih_l${l}`, shape: [G, D] },
      { name: `rnn.weight_hh_l${l}`, shape: [G, H] },
      { name: `rnn.bias_ih_l${l}`, shape: [G] },
      { name: `rnn.bias_hh_l${l}`, shape: [G] },
    );
  }
  specs.push({ name: 'head.weight', shape: [c.vocab_size, H] }, { name: 'head.bias', shape: [c.vocab_size] });
  if (c.layer_norm) {
    for (let l = 0; l < L; l++) {
      specs.push(
        { name: `rnn.ln_ih_weight_l${l}`, shape: [G] }, { name: `rnn.ln_ih_bias_l${l}`, shape: [G] },
        { name: `rnn.ln_hh_weight_l${l}`, shape: [G] }, { name: `rnn.ln_hh_bias_l${l}`, shape: [G] },
      );
      if (lstm) specs.push({ name: `rnn.ln_c_weight_l${l}`, shape: [H] }, { name: `rnn.ln_c_bias_l${l}`, shape: [H] });
    }
  }
  if (c.initial_state === 'learned') {
    specs.push({ name: 'init.h0', shape: [L, H] });
    if (lstm) specs.push({ name: 'init.c0', shape: [L, H] });
  }
  return specs;
}

/** Hidden state of all layers for B streams: h (L, B, H) and, for LSTM, c (L, B, H). */
export interface RecurrentState {
  B: number;
  h: Arr;
  c: Arr; // empty unless the cell is an LSTM
  /** Set by resetState: the next forward starts a stream, so a learned initial state gets gradient. */
  fresh?: boolean;
}

/** Activation memory for one (T, B) shape, allocated once and reused every step. */
interface Workspace {
  T: number; B: number;
  ids: Int32Array;     // (T*B) inputs of the last forward
  targets: Int32Array; // (T*B), -1 = not predicted
  useTable: boolean;   // N >= V: layer 0 projects every token once and looks rows up
  table: Arr;          // (V, G*H) layer 0's input projection of every token's embedding
  dtable: Arr;         // (V, G*H)
  x0: Arr;             // (N, E) embeddings, when projecting positions directly (N < V)
  dx0: Arr;            // (N, E)
  layers: RecurrentCache[];
  drop: Arr[];         // per layer below the top: dropped outputs (T*B, H) that feed the next layer
  masks: Arr[];        // dropout masks (T*B, H)
  dys: Arr[];          // per layer: dL/d(output) (T*B, H)
  sum: Arr;            // sum_outputs: (T*B, H) Σ_l h^l_t, the head's input
  dsum: Arr;           // (T*B, H)
  logits: Arr;         // (T*B, V)
  probs: Arr;          // (T*B, V)
  dlogits: Arr;        // (T*B, V)
  dropped: boolean;    // whether the last forward used dropout
  fresh: boolean;      // the last forward started from the initial state
  count: number;       // predicted positions of the last forward
  reg?: { w: Arr; u: Arr; gu: Arr; e: Arr[] }; // Pascanu regularizer scratch, (T*B, H) each
  fed: number;         // inputs of the last forward that were the model's own samples
}

export interface BackwardOptions {
  /** Weight λ of Pascanu et al.'s regularizer Ω (vanilla RNNs): the gradient is of loss + λ Ω. */
  pascanu?: number;
}

export interface ForwardOptions {
  /** Apply dropout and recurrent dropout (needs rng). */
  train?: boolean;
  rng?: Rng;
  /**
   * Free running / scheduled sampling: the probability that the input at step t > 0 of
   * a stream is drawn from the model's own prediction at step t-1 instead of the given
   * id (needs rng; 0 = teacher forcing, 1 = free running). Targets stay the given ones.
   */
  feedback?: number;
}

export class CharLM {
  readonly config: CharLMConfig;
  readonly dtype: DType;
  readonly params: ParamSet;
  readonly grads: ParamSet;
  private layerParams: RecurrentParams[] = [];
  private layerGrads: RecurrentParams[] = [];
  private workspaces = new Map<string, Workspace>();
  private last: Workspace | null = null;
  private recording = false;
  private drawScratch: Float64Array | undefined; // feedback sampling's probabilities (V)

  constructor(config: Partial<CharLMConfig> & { vocab_size: number }, dtype: DType = 'float32') {
    this.config = normalizeConfig(config);
    this.dtype = dtype;
    this.params = new ParamSet(charLMParamSpecs(this.config), dtype);
    this.grads = this.params.like();
    for (let l = 0; l < this.config.num_layers; l++) {
      this.layerParams.push(layerViews(this.params, l, this.config));
      this.layerGrads.push(layerViews(this.grads, l, this.config));
    }
  }

  /**
   * PyTorch's default initialisation: embedding N(0, 1); recurrent weights and biases
   * U(-1/sqrt(H), 1/sqrt(H)); head weight and bias U(-1/sqrt(H), 1/sqrt(H)). Then, for
   * an LSTM, the forget gate's b_ih = forget_bias and b_hh = 0 (their sum is the bias).
   * Layer-norm gains start at 1 and biases at 0; a learned initial state at 0.
   */
  init(rng: Rng): this {
    const { hidden_size: H, num_layers: L, cell, forget_bias } = this.config, k = 1 / Math.sqrt(H);
    for (const v of this.params.views) {
      const d = v.data;
      if (v.name === 'embedding.weight') for (let i = 0; i < d.length; i++) d[i] = rng.normal();
      else if (v.name.startsWith('rnn.ln_')) d.fill(v.name.includes('_weight_') ? 1 : 0);
      else if (v.name.startsWith('init.')) d.fill(0);
      else for (let i = 0; i < d.length; i++) d[i] = (2 * rng.uniform() - 1) * k;
    }
    if (cell === 'lstm' && forget_bias !== null) {
      for (let l = 0; l < L; l++) {
        this.layerParams[l]!.bih.fill(forget_bias, H, 2 * H);
        this.layerParams[l]!.bhh.fill(0, H, 2 * H);
      }
    }
    return this;
  }

  /** A state for B streams, at the initial state (see resetState). */
  newState(B: number): RecurrentState {
    const { num_layers: L, hidden_size: H, cell } = this.config;
    const F = (n: number) => allocArray(n, this.dtype);
    return this.resetState({ B, h: F(L * B * H), c: F(cell === 'lstm' ? L * B * H : 0) });
  }

  /**
   * Puts every stream at the initial state: zeros, the learned h0/c0, or, for 'noisy'
   * with an rng (training), zeros plus N(0, initial_noise²) noise.
   */
  resetState(state: RecurrentState, rng?: Rng): RecurrentState {
    const { num_layers: L, hidden_size: H, initial_state: mode, initial_noise: sd } = this.config, B = state.B;
    state.h.fill(0); state.c.fill(0);
    if (mode === 'learned') {
      const h0 = this.params.get('init.h0'), c0 = state.c.length ? this.params.get('init.c0') : null;
      for (let l = 0; l < L; l++) {
        for (let b = 0; b < B; b++) {
          state.h.set(h0.subarray(l * H, (l + 1) * H), (l * B + b) * H);
          if (c0) state.c.set(c0.subarray(l * H, (l + 1) * H), (l * B + b) * H);
        }
      }
    } else if (mode === 'noisy' && rng && sd > 0) {
      for (let i = 0; i < state.h.length; i++) state.h[i] = sd * rng.normal();
      for (let i = 0; i < state.c.length; i++) state.c[i] = sd * rng.normal();
    }
    state.fresh = true;
    return state;
  }

  /**
   * Runs T steps for B streams from `state` and leaves the final state in it.
   * ids and targets are time-major (T*B); a negative target is not predicted.
   * Returns the summed cross-entropy (nats) and the number of predicted positions;
   * without targets only logits are computed (see logits()).
   */
  forward(ids: Int32Array, targets: Int32Array | null, T: number, B: number, state: RecurrentState, opts: ForwardOptions = {}): { loss: number; count: number } {
    const { vocab_size: V, hidden_size: H, num_layers: L, cell, dropout, recurrent_dropout: rdrop } = this.config;
    const be = getBackend(), N = T * B, BH = B * H;
    if (state.B !== B) throw new Error(`forward: state has ${state.B} streams, batch is ${B}`);
    if (ids.length < N) throw new Error(`forward: ids has ${ids.length} entries, need T*B = ${N}`);
    const ws = this.workspace(T, B);
    ws.ids.set(ids.subarray(0, N));
    for (let n = 0; n < N; n++) {
      const id = ws.ids[n]!;
      if (!(id >= 0 && id < V)) throw new Error(`forward: token id ${id} outside the vocabulary (size ${V})`);
    }
    const feedback = opts.feedback ?? 0;
    if (!(feedback >= 0 && feedback <= 1)) throw new Error(`forward: feedback must be in [0, 1], got ${feedback}`);
    const useDropout = !!opts.train && dropout > 0 && L > 1, useRdrop = !!opts.train && rdrop > 0;
    if ((useDropout || useRdrop || feedback > 0) && !opts.rng) throw new Error('forward: dropout and feedback need an rng');
    ws.dropped = useDropout;
    ws.fresh = !!state.fresh;
    for (const c of ws.layers) {
      const mask = setRecurrentMask(c, useRdrop, this.dtype);
      if (useRdrop) for (let k = 0; k < BH; k++) mask[k] = opts.rng!.uniform() < rdrop ? 0 : 1 / (1 - rdrop);
    }
    // layer 0 sees embeddings: with at least as many positions as tokens, projecting
    // every token once into a (V, G*H) table and looking rows up is the cheaper way
    if (ws.useTable) tokenTable(ws.table, this.params.get('embedding.weight'), V, ws.layers[0]!, this.layerParams[0]!);
    ws.fed = 0;
    if (feedback === 0) this.forwardSteps(ws, state, 0, T, useDropout, opts.rng);
    else {
      // each step's input may be the previous step's prediction, so steps run one at a time
      for (let t = 0; t < T; t++) {
        if (t > 0) ws.fed += this.feedBack(ws, t, feedback, opts.rng!);
        this.forwardSteps(ws, state, t, t + 1, useDropout, opts.rng);
      }
    }
    for (let l = 0; l < L; l++) {
      const c = ws.layers[l]!, so = l * BH;
      state.h.set(c.hs.subarray(T * BH, (T + 1) * BH), so);
      if (cell === 'lstm') state.c.set(c.cs.subarray(T * BH, (T + 1) * BH), so);
    }
    state.fresh = false;
    this.last = ws;
    if (!targets) { ws.count = 0; ws.targets.fill(-1); return { loss: 0, count: 0 }; }
    ws.targets.set(targets.subarray(0, N));
    let count = 0;
    for (let n = 0; n < N; n++) {
      const t = ws.targets[n]!;
      if (t >= V) throw new Error(`forward: target id ${t} outside the vocabulary (size ${V})`);
      if (t >= 0) count++;
    }
    ws.count = count;
    const loss = be.softmaxXent(ws.probs, ws.logits, ws.targets, N, V);
    return { loss, count };
  }

  /** Steps [t0, t1) of every layer and the head; layer l starts from state at t0 = 0. */
  private forwardSteps(ws: Workspace, state: RecurrentState, t0: number, t1: number, useDropout: boolean, rng: Rng | undefined): void {
    const { vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L, dropout, sum_outputs } = this.config;
    const B = ws.B, BH = B * H, r0 = t0 * B, n = (t1 - t0) * B;
    if (!ws.useTable) getBackend().gatherRows(ws.x0, r0 * E, this.params.get('embedding.weight'), ws.ids.subarray(r0, r0 + n), n, E);
    let x: Arr = ws.x0, xOff = 0;
    for (let l = 0; l < L; l++) {
      const c = ws.layers[l]!, p = this.layerParams[l]!, so = l * BH;
      if (l === 0 && ws.useTable) recurrentForwardTokens(c, p, ws.table, ws.ids, state.h, so, state.c, so, t0, t1);
      else recurrentForward(c, p, x, xOff, state.h, so, state.c, so, t0, t1);
      x = c.hs; xOff = BH; // outputs h_1..h_T
      if (useDropout && l < L - 1) {
        dropoutForward(ws.drop[l]!, ws.masks[l]!, x, xOff + r0 * H, n * H, dropout, rng!, r0 * H);
        x = ws.drop[l]!; xOff = 0;
      }
    }
    if (sum_outputs) {
      ws.sum.set(ws.layers[0]!.hs.subarray(BH + r0 * H, BH + (r0 + n) * H), r0 * H);
      for (let l = 1; l < L; l++) {
        const hs = ws.layers[l]!.hs;
        for (let k = r0 * H; k < (r0 + n) * H; k++) ws.sum[k] += hs[BH + k]!;
      }
      x = ws.sum; xOff = 0;
    } else x = ws.layers[L - 1]!.hs, xOff = BH;
    linearForward(ws.logits, x, xOff + r0 * H, this.params.get('head.weight'), this.params.get('head.bias'), n, H, V, r0 * V);
  }

  /** Replaces the inputs of step t with draws from step t-1's prediction, each with probability p. */
  private feedBack(ws: Workspace, t: number, p: number, rng: Rng): number {
    const V = this.config.vocab_size, B = ws.B;
    let fed = 0;
    for (let b = 0; b < B; b++) {
      if (p < 1 && rng.uniform() >= p) continue;
      this.drawScratch ??= new Float64Array(V);
      ws.ids[t * B + b] = draw(ws.logits, ((t - 1) * B + b) * V, V, 1, 0, this.drawScratch, this.drawScratch, rng);
      fed++;
    }
    return fed;
  }

  /** How many inputs of the last forward were the model's own samples (feedback > 0). */
  get fedBack(): number {
    return this.last?.fed ?? 0;
  }

  /** The ids the last forward actually read (with feedback, some are the model's samples). */
  lastInputs(): Int32Array {
    if (!this.last) throw new Error('lastInputs: call forward first');
    return this.last.ids;
  }

  /**
   * Copies the state after step k (0 <= k <= T) of the last forward into `into`;
   * k = 0 is the state it started from. For TBPTT windows that overlap.
   */
  stateAt(k: number, into: RecurrentState): void {
    const ws = this.last;
    if (!ws) throw new Error('stateAt: call forward first');
    if (!(Number.isInteger(k) && k >= 0 && k <= ws.T) || into.B !== ws.B) throw new Error(`stateAt: step ${k} of a ${ws.T}-step forward with ${ws.B} streams`);
    const BH = ws.B * this.config.hidden_size;
    ws.layers.forEach((c, l) => {
      into.h.set(c.hs.subarray(k * BH, (k + 1) * BH), l * BH);
      if (into.c.length) into.c.set(c.cs.subarray(k * BH, (k + 1) * BH), l * BH);
    });
    into.fresh = k === 0 && ws.fresh;
  }

  /** Logits (T*B, V) of the last forward. */
  logits(): Arr {
    if (!this.last) throw new Error('logits: call forward first');
    return this.last.logits;
  }

  /**
   * Backpropagation through time for the last forward, whose loss is taken as the mean
   * over its predicted positions. Accumulates into this.grads (call zeroGrad() first).
   * The final state is treated as feeding nothing (truncated BPTT).
   */
  backward(opts: BackwardOptions = {}): { regularizer: number } {
    const ws = this.last;
    if (!ws || ws.count === 0) throw new Error('backward: call forward with targets first');
    const { vocab_size: V, hidden_size: H, num_layers: L, sum_outputs } = this.config;
    const { T, B } = ws, N = T * B, BH = B * H, lambda = opts.pascanu ?? 0;
    if (lambda > 0) this.checkPascanu(ws);
    for (const c of ws.layers) recordHiddenGrads(c, this.recording || lambda > 0, this.dtype);
    getBackend().softmaxXentBackward(ws.dlogits, ws.probs, ws.targets, N, V, 1 / ws.count);
    if (sum_outputs) {
      // every layer's output feeds the head directly
      linearBackward(ws.dsum, this.grads.get('head.weight'), this.grads.get('head.bias'), ws.dlogits,
        ws.sum, 0, this.params.get('head.weight'), N, H, V);
      ws.dys[L - 1]!.set(ws.dsum);
    } else {
      linearBackward(ws.dys[L - 1]!, this.grads.get('head.weight'), this.grads.get('head.bias'), ws.dlogits,
        ws.layers[L - 1]!.hs, BH, this.params.get('head.weight'), N, H, V);
    }
    this.backwardLayers(ws, sum_outputs ? () => ws.dsum : null);
    if (lambda === 0) return { regularizer: 0 };
    // Pascanu's Ω, with every v_t = dE/dh_t of the sweep above held constant: its direct
    // dW_hh here, and its dependence on h_t backpropagated by a second sweep
    const reg = this.pascanuBuffers(ws);
    let omega = 0;
    for (let l = 0; l < L; l++) {
      const c = ws.layers[l]!, relu = this.config.cell === 'rnn_relu', whh = this.layerParams[l]!.whh;
      omega += pascanuForward(relu, T, B, H, c.hs, c.dhs, whh, reg.w, reg.u) / N;
      pascanuBackward(relu, T, B, H, c.hs, c.dhs, whh, reg.w, reg.u, reg.gu, lambda / N, this.layerGrads[l]!.whh, reg.e[l]!);
    }
    // the second sweep must not overwrite the recorded v_t
    for (const c of ws.layers) recordHiddenGrads(c, false, this.dtype);
    ws.dys[L - 1]!.set(reg.e[L - 1]!);
    this.backwardLayers(ws, (l) => reg.e[l]!);
    for (const c of ws.layers) recordHiddenGrads(c, this.recording, this.dtype);
    return { regularizer: omega };
  }

  /**
   * Backpropagates ws.dys[L-1] (dL/d top outputs) down the stack into this.grads. extra(l),
   * when given, is added to dL/d(layer l's outputs) on the way (sum_outputs, Ω).
   */
  private backwardLayers(ws: Workspace, extra: ((l: number) => Arr) | null): void {
    const { vocab_size: V, hidden_size: H, num_layers: L } = this.config, N = ws.T * ws.B;
    for (let l = L - 1; l >= 0; l--) {
      const c = ws.layers[l]!, p = this.layerParams[l]!, dp = this.layerGrads[l]!;
      c.dh.fill(0); c.dc.fill(0);
      if (l === 0 && ws.useTable) {
        recurrentBackwardTokens(dp, ws.dtable, ws.ids, ws.dys[0]!, 0, c, p);
        tokenTableBackward(dp, this.grads.get('embedding.weight'), ws.dtable, this.params.get('embedding.weight'), V, c, p);
      } else if (l === 0) {
        recurrentBackward(dp, ws.dx0, 0, ws.dys[0]!, 0, c, p);
        embeddingBackward(this.grads.get('embedding.weight'), ws.dx0, ws.ids, N, this.config.embedding_size);
      } else {
        const dx = ws.dys[l - 1]!;
        recurrentBackward(dp, dx, 0, ws.dys[l]!, 0, c, p);
        if (ws.dropped) dropoutBackward(dx, dx, ws.masks[l - 1]!, N * H);
        if (extra) { const e = extra(l - 1); for (let k = 0; k < N * H; k++) dx[k] += e[k]!; }
      }
    }
    if (ws.fresh && this.config.initial_state === 'learned') this.initialStateBackward(ws);
  }

  private checkPascanu(ws: Workspace): void {
    const { cell, layer_norm } = this.config;
    if ((cell !== 'rnn_tanh' && cell !== 'rnn_relu') || layer_norm) throw new UserError(`the Pascanu regularizer is defined for vanilla RNNs (rnn_tanh, rnn_relu without layer norm), not ${layer_norm ? 'layer-normalised ' : ''}${cell}`);
    if (ws.layers.some((c) => c.masked)) throw new UserError('the Pascanu regularizer cannot be combined with recurrent dropout');
  }

  private pascanuBuffers(ws: Workspace): NonNullable<Workspace['reg']> {
    if (!ws.reg) {
      const F = (n: number) => allocArray(n, this.dtype), NH = ws.T * ws.B * this.config.hidden_size;
      ws.reg = { w: F(NH), u: F(NH), gu: F(NH), e: ws.layers.map(() => F(NH)) };
    }
    return ws.reg;
  }

  /** d init.h0[l] = Σ over streams of dL/dh0 (likewise c0): every stream started from it. */
  private initialStateBackward(ws: Workspace): void {
    const { hidden_size: H, num_layers: L } = this.config, B = ws.B;
    const dh0 = this.grads.get('init.h0'), dc0 = this.config.cell === 'lstm' ? this.grads.get('init.c0') : null;
    for (let l = 0; l < L; l++) {
      const c = ws.layers[l]!;
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < H; j++) {
          dh0[l * H + j] += c.dh[b * H + j]!;
          if (dc0) dc0[l * H + j] += c.dc[b * H + j]!;
        }
      }
    }
  }

  /**
   * Makes backward() keep dL/dh_t of every layer and step (total derivative, through
   * all paths) for hiddenGrads(): gradient-flow diagnostics.
   */
  recordHiddenGrads(on: boolean): void {
    this.recording = on;
  }

  /** After backward() with recording on: layer l's dL/dh_t, (T*B, H), row block t. */
  hiddenGrads(l: number): Arr {
    const c = this.last?.layers[l];
    if (!c || !c.recording) throw new Error('hiddenGrads: call recordHiddenGrads(true), forward and backward first');
    return c.dhs;
  }

  /** Layer l's hidden states of the last forward, ((T+1)*B, H): block 0 is h0, block t+1 is h_t. */
  hiddenStates(l: number): Arr {
    const c = this.last?.layers[l];
    if (!c) throw new Error('hiddenStates: call forward first');
    return c.hs;
  }

  /** dL/dh0 and dL/dc0 of layer l after backward(), each (B, H). */
  initialStateGrad(l: number): { h: Arr; c: Arr } {
    const c = this.last!.layers[l]!;
    return { h: c.dh, c: c.dc };
  }

  zeroGrad(): void {
    this.grads.zero();
  }

  private workspace(T: number, B: number): Workspace {
    const key = `${T}x${B}`;
    let ws = this.workspaces.get(key);
    if (ws) return ws;
    const { vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L, cell } = this.config;
    const F = (n: number) => allocArray(n, this.dtype), N = T * B, useTable = N >= V;
    const layers: RecurrentCache[] = [];
    for (let l = 0; l < L; l++) layers.push(createRecurrentCache(cell, T, B, l === 0 ? E : H, H, this.dtype, this.config.layer_norm));
    const perLayer = (n: number) => Array.from({ length: n }, () => F(N * H));
    ws = {
      T, B, ids: new Int32Array(N), targets: new Int32Array(N), layers, useTable,
      table: F(useTable ? V * GATES[cell] * H : 0), dtable: F(useTable ? V * GATES[cell] * H : 0),
      x0: F(useTable ? 0 : N * E), dx0: F(useTable ? 0 : N * E),
      drop: this.config.dropout > 0 ? perLayer(L - 1) : [], masks: this.config.dropout > 0 ? perLayer(L - 1) : [],
      dys: perLayer(L), sum: F(this.config.sum_outputs ? N * H : 0), dsum: F(this.config.sum_outputs ? N * H : 0),
      logits: F(N * V), probs: F(N * V), dlogits: F(N * V), dropped: false, fresh: false, count: 0, fed: 0,
    };
    // a few shapes are in use at a time (train chunk, eval chunk, sampling step)
    if (this.workspaces.size >= 4) this.workspaces.delete(this.workspaces.keys().next().value!);
    this.workspaces.set(key, ws);
    return ws;
  }
}

/** Layer l's tensors in ps (params or grads) as the recurrent layer functions take them. */
export function layerViews(ps: ParamSet, l: number, c: CharLMConfig): RecurrentParams {
  const p: RecurrentParams = {
    wih: ps.get(`rnn.weight_ih_l${l}`), whh: ps.get(`rnn.weight_hh_l${l}`),
    bih: ps.get(`rnn.bias_ih_l${l}`), bhh: ps.get(`rnn.bias_hh_l${l}`),
  };
  if (c.layer_norm) {
    p.ln = {
      ihWeight: ps.get(`rnn.ln_ih_weight_l${l}`), ihBias: ps.get(`rnn.ln_ih_bias_l${l}`),
      hhWeight: ps.get(`rnn.ln_hh_weight_l${l}`), hhBias: ps.get(`rnn.ln_hh_bias_l${l}`),
    };
    if (c.cell === 'lstm') { p.ln.cWeight = ps.get(`rnn.ln_c_weight_l${l}`); p.ln.cBias = ps.get(`rnn.ln_c_bias_l${l}`); }
  }
  return p;
}
