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
import { embeddingForward, embeddingBackward } from '../nn/embedding.js';
import {
  CELL_TYPES, GATES, createRecurrentCache, recurrentForward, recurrentForwardTokens, recurrentBackward,
  recurrentBackwardTokens, tokenTable, tokenTableBackward, type CellType, type RecurrentCache, type RecurrentParams,
} from '../nn/recurrent.js';

export interface CharLMConfig {
  cell: CellType;         // recurrent cell: 'lstm' (default), 'gru', 'rnn_tanh', 'rnn_relu'
  vocab_size: number;     // V, set from the training text
  embedding_size: number; // E
  hidden_size: number;    // H
  num_layers: number;     // L
  dropout: number;        // between layers, training only (PyTorch nn.LSTM(dropout=...))
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
  };
  if (!CELL_TYPES.includes(cfg.cell)) throw new Error(`cell must be one of ${CELL_TYPES.join(', ')}, got '${cfg.cell}'`);
  for (const k of ['vocab_size', 'embedding_size', 'hidden_size', 'num_layers'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new Error(`${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${cfg.dropout}`);
  return cfg;
}

/** The state_dict of the reference CharLM, in its order. */
export function charLMParamSpecs(c: CharLMConfig): ParamSpec[] {
  const G = GATES[c.cell] * c.hidden_size, H = c.hidden_size;
  const specs: ParamSpec[] = [{ name: 'embedding.weight', shape: [c.vocab_size, c.embedding_size] }];
  for (let l = 0; l < c.num_layers; l++) {
    const D = l === 0 ? c.embedding_size : H;
    specs.push(
      { name: `rnn.weight_ih_l${l}`, shape: [G, D] },
      { name: `rnn.weight_hh_l${l}`, shape: [G, H] },
      { name: `rnn.bias_ih_l${l}`, shape: [G] },
      { name: `rnn.bias_hh_l${l}`, shape: [G] },
    );
  }
  specs.push({ name: 'head.weight', shape: [c.vocab_size, H] }, { name: 'head.bias', shape: [c.vocab_size] });
  return specs;
}

/** Hidden state of all layers for B streams: h (L, B, H) and, for LSTM, c (L, B, H). */
export interface RecurrentState {
  B: number;
  h: Arr;
  c: Arr; // empty unless the cell is an LSTM
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
  logits: Arr;         // (T*B, V)
  probs: Arr;          // (T*B, V)
  dlogits: Arr;        // (T*B, V)
  dropped: boolean;    // whether the last forward used dropout
  count: number;       // predicted positions of the last forward
}

export interface ForwardOptions {
  /** Apply dropout (needs rng). */
  train?: boolean;
  rng?: Rng;
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

  constructor(config: Partial<CharLMConfig> & { vocab_size: number }, dtype: DType = 'float32') {
    this.config = normalizeConfig(config);
    this.dtype = dtype;
    this.params = new ParamSet(charLMParamSpecs(this.config), dtype);
    this.grads = this.params.like();
    for (let l = 0; l < this.config.num_layers; l++) {
      this.layerParams.push(layerViews(this.params, l));
      this.layerGrads.push(layerViews(this.grads, l));
    }
  }

  /**
   * PyTorch's default initialisation: embedding N(0, 1); recurrent weights and biases
   * U(-1/sqrt(H), 1/sqrt(H)); head weight and bias U(-1/sqrt(H), 1/sqrt(H)).
   */
  init(rng: Rng): this {
    const H = this.config.hidden_size, k = 1 / Math.sqrt(H);
    for (const v of this.params.views) {
      const d = v.data;
      if (v.name === 'embedding.weight') for (let i = 0; i < d.length; i++) d[i] = rng.normal();
      else for (let i = 0; i < d.length; i++) d[i] = (2 * rng.uniform() - 1) * k;
    }
    return this;
  }

  newState(B: number): RecurrentState {
    const { num_layers: L, hidden_size: H, cell } = this.config;
    const F = (n: number) => allocArray(n, this.dtype);
    return { B, h: F(L * B * H), c: F(cell === 'lstm' ? L * B * H : 0) };
  }

  /**
   * Runs T steps for B streams from `state` and leaves the final state in it.
   * ids and targets are time-major (T*B); a negative target is not predicted.
   * Returns the summed cross-entropy (nats) and the number of predicted positions;
   * without targets only logits are computed (see logits()).
   */
  forward(ids: Int32Array, targets: Int32Array | null, T: number, B: number, state: RecurrentState, opts: ForwardOptions = {}): { loss: number; count: number } {
    const { vocab_size: V, hidden_size: H, num_layers: L, cell, dropout } = this.config;
    const be = getBackend(), N = T * B, BH = B * H;
    if (state.B !== B) throw new Error(`forward: state has ${state.B} streams, batch is ${B}`);
    if (ids.length < N) throw new Error(`forward: ids has ${ids.length} entries, need T*B = ${N}`);
    const ws = this.workspace(T, B);
    ws.ids.set(ids.subarray(0, N));
    for (let n = 0; n < N; n++) {
      const id = ws.ids[n]!;
      if (!(id >= 0 && id < V)) throw new Error(`forward: token id ${id} outside the vocabulary (size ${V})`);
    }
    const useDropout = !!opts.train && dropout > 0 && L > 1;
    if (useDropout && !opts.rng) throw new Error('forward: dropout needs an rng');
    ws.dropped = useDropout;

    // layer 0 sees embeddings: with at least as many positions as tokens, projecting
    // every token once into a (V, G*H) table and looking rows up is the cheaper way
    const emb = this.params.get('embedding.weight');
    if (ws.useTable) tokenTable(ws.table, emb, V, ws.layers[0]!, this.layerParams[0]!);
    else embeddingForward(ws.x0, ws.ids, emb, N, this.config.embedding_size);
    let x: Arr = ws.x0, xOff = 0;
    for (let l = 0; l < L; l++) {
      const c = ws.layers[l]!, p = this.layerParams[l]!, so = l * BH;
      if (l === 0 && ws.useTable) recurrentForwardTokens(c, p, ws.table, ws.ids, state.h, so, state.c, so);
      else recurrentForward(c, p, x, xOff, state.h, so, state.c, so);
      state.h.set(c.hs.subarray(T * BH, (T + 1) * BH), so);
      if (cell === 'lstm') state.c.set(c.cs.subarray(T * BH, (T + 1) * BH), so);
      x = c.hs; xOff = BH; // outputs h_1..h_T
      if (useDropout && l < L - 1) {
        dropoutForward(ws.drop[l]!, ws.masks[l]!, x, xOff, N * H, dropout, opts.rng!);
        x = ws.drop[l]!; xOff = 0;
      }
    }
    linearForward(ws.logits, x, xOff, this.params.get('head.weight'), this.params.get('head.bias'), N, H, V);
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
  backward(): void {
    const ws = this.last;
    if (!ws || ws.count === 0) throw new Error('backward: call forward with targets first');
    const { vocab_size: V, hidden_size: H, num_layers: L } = this.config;
    const { T, B } = ws, N = T * B, BH = B * H;
    getBackend().softmaxXentBackward(ws.dlogits, ws.probs, ws.targets, N, V, 1 / ws.count);
    const top = ws.layers[L - 1]!;
    linearBackward(ws.dys[L - 1]!, this.grads.get('head.weight'), this.grads.get('head.bias'), ws.dlogits,
      top.hs, BH, this.params.get('head.weight'), N, H, V);
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
      }
    }
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
    for (let l = 0; l < L; l++) layers.push(createRecurrentCache(cell, T, B, l === 0 ? E : H, H, this.dtype));
    const perLayer = (n: number) => Array.from({ length: n }, () => F(N * H));
    ws = {
      T, B, ids: new Int32Array(N), targets: new Int32Array(N), layers, useTable,
      table: F(useTable ? V * GATES[cell] * H : 0), dtable: F(useTable ? V * GATES[cell] * H : 0),
      x0: F(useTable ? 0 : N * E), dx0: F(useTable ? 0 : N * E),
      drop: this.config.dropout > 0 ? perLayer(L - 1) : [], masks: this.config.dropout > 0 ? perLayer(L - 1) : [],
      dys: perLayer(L), logits: F(N * V), probs: F(N * V), dlogits: F(N * V), dropped: false, count: 0,
    };
    // a few shapes are in use at a time (train chunk, eval chunk, sampling step)
    if (this.workspaces.size >= 4) this.workspaces.delete(this.workspaces.keys().next().value!);
    this.workspaces.set(key, ws);
    return ws;
  }
}

function layerViews(ps: ParamSet, l: number): RecurrentParams {
  return {
    wih: ps.get(`rnn.weight_ih_l${l}`), whh: ps.get(`rnn.weight_hh_l${l}`),
    bih: ps.get(`rnn.bias_ih_l${l}`), bhh: ps.get(`rnn.bias_hh_l${l}`),
  };
}
