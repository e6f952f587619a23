// The input side every example-based model shares: an input layer (token embedding,
// or float vectors as they are) feeding a RecurrentStack, over batches of sequences of
// any lengths. The batch is sorted longest first and packed (nn/layout.ts); `order`
// maps a sorted position back to the caller's. Buffers grow to the largest batch seen
// and are reused, so a training loop allocates only when a batch is bigger than all
// before it.
import type { Arr, DType, ParamSet, ParamSpec } from '../core/params.js';
import type { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { flags, forgetBias, oneOf, positiveInts, rates } from './config-checks.js';
import { sortByLength, uniformLayout, type StepLayout } from '../nn/layout.js';
import { RecurrentStack, stackParamSpecs, type StackConfig, type StackInput, type StackWorkspace } from '../nn/stack.js';

export interface EncoderConfig {
  input: 'tokens' | 'float';
  vocab_size: number;      // tokens: V
  embedding_size: number;  // tokens: E
  input_size: number;      // float: features per step
  cell: CellType;
  hidden_size: number;
  num_layers: number;
  bidirectional: boolean;
  dropout: number;         // between layers (and wherever the model adds it), training only
  layer_norm: boolean;
}

export function checkEncoderConfig(c: EncoderConfig, what: string): void {
  const f = c as unknown as Record<string, unknown>;
  oneOf(f, 'input', ['tokens', 'float'], what);
  oneOf(f, 'cell', CELL_TYPES, what);
  positiveInts(f, [...(c.input === 'tokens' ? ['vocab_size', 'embedding_size'] : ['input_size']), 'hidden_size', 'num_layers'], what);
  rates(f, ['dropout'], what);
  flags(f, ['bidirectional', 'layer_norm'], what);
  if ('forget_bias' in c) forgetBias(f, what);
}

function stackConfig(c: EncoderConfig): StackConfig {
  return {
    cell: c.cell, inputSize: c.input === 'tokens' ? c.embedding_size : c.input_size, hiddenSize: c.hidden_size,
    numLayers: c.num_layers, bidirectional: c.bidirectional, dropout: c.dropout, recurrentDropout: 0,
    layerNorm: c.layer_norm, initialState: 'zero', initialNoise: 0, sumOutputs: false,
  };
}

/** `prefix`embedding.weight (tokens) and the stack's tensors under `prefix`rnn. */
export function encoderParamSpecs(c: EncoderConfig, prefix = ''): { core: ParamSpec[]; extra: ParamSpec[] } {
  const { core, extra } = stackParamSpecs(stackConfig(c), { rnn: `${prefix}rnn.`, init: `${prefix}init.` });
  const emb: ParamSpec[] = c.input === 'tokens' ? [{ name: `${prefix}embedding.weight`, shape: [c.vocab_size, c.embedding_size] }] : [];
  return { core: [...emb, ...core], extra };
}

/** One input sequence: token ids, or n*D floats for n steps of D features. */
export type Sequence = Int32Array | Float32Array;

export class SequenceEncoder {
  readonly stack: RecurrentStack;
  readonly D: number; // features per step
  lay!: StepLayout;
  order: Int32Array = new Int32Array(0); // sorted position -> batch index of the last forward
  private ws: StackWorkspace | null = null;
  private stepWs: StackWorkspace | null = null; // step(): one step of up to its B rows
  private stepLays = new Map<number, StepLayout>();
  private ids = new Int32Array(0);
  private x: Arr;
  private h0: Arr; private c0: Arr;

  constructor(readonly cfg: EncoderConfig, private ps: ParamSet, private gs: ParamSet, readonly prefix: string, readonly dtype: DType) {
    this.stack = new RecurrentStack(stackConfig(cfg), ps, gs, { rnn: `${prefix}rnn.`, init: `${prefix}init.` }, dtype);
    this.D = cfg.input === 'tokens' ? 1 : cfg.input_size;
    this.x = allocArray(0, dtype); this.h0 = allocArray(0, dtype); this.c0 = allocArray(0, dtype);
  }

  /** Output width dirs*H. */
  get width(): number {
    return this.stack.outputSize;
  }

  /** nn.Embedding's N(0, 1), then PyTorch's recurrent init with the forget-gate bias (null: none). */
  init(rng: Rng, forgetBias: number | null): void {
    if (this.cfg.input === 'tokens') { const e = this.ps.get(`${this.prefix}embedding.weight`); for (let i = 0; i < e.length; i++) e[i] = rng.normal(); }
    this.stack.init(rng, forgetBias);
  }

  /** Steps of a sequence. */
  steps(s: Sequence): number {
    return s instanceof Int32Array ? s.length : s.length / this.D;
  }

  /**
   * Runs the batch from the initial state h0/c0 ((L*dirs, B, H) in the caller's batch
   * order; default zeros). Results stay in the workspace for output(), finalState() and
   * backward().
   */
  forward(batch: readonly Sequence[], opts: { train?: boolean; rng?: Rng | undefined; h0?: Arr; c0?: Arr } = {}): void {
    const B = batch.length, lengths = batch.map((s) => this.steps(s));
    for (let b = 0; b < B; b++) {
      if (!(lengths[b]! >= 1 && Number.isInteger(lengths[b]))) throw new Error(`encoder: sequence ${b} is empty or not a whole number of steps`);
    }
    const { order, layout: lay } = sortByLength(lengths);
    this.order = order; this.lay = lay;
    const ws = this.workspace(lay.T, B), D = this.D, H = this.cfg.hidden_size, U = this.stack.units, lstm = this.cfg.cell === 'lstm';
    if (this.h0.length < U * B * H) { this.h0 = allocArray(U * B * H, this.dtype); this.c0 = allocArray(U * B * H, this.dtype); }
    this.h0.fill(0); this.c0.fill(0);
    for (const [src, dst] of [[opts.h0, this.h0], [opts.c0, lstm ? this.c0 : null]] as const) {
      if (!src || !dst) continue;
      for (let k = 0; k < U; k++) for (let i = 0; i < B; i++) dst.set(src.subarray((k * B + order[i]!) * H, (k * B + order[i]! + 1) * H), (k * B + i) * H);
    }
    let input: StackInput;
    if (this.cfg.input === 'tokens') {
      if (this.ids.length < lay.N) this.ids = new Int32Array(ws.T * ws.B);
      const V = this.cfg.vocab_size;
      this.eachRow((row, i, t) => {
        const id = (batch[order[i]!] as Int32Array)[t]!;
        if (!(id >= 0 && id < V)) throw new Error(`encoder: token id ${id} outside the vocabulary (size ${V})`);
        this.ids[row] = id;
      });
      input = { kind: 'tokens', ids: this.ids, emb: this.ps.get(`${this.prefix}embedding.weight`), demb: this.gs.get(`${this.prefix}embedding.weight`), V };
    } else {
      if (this.x.length < lay.N * D) this.x = allocArray(ws.T * ws.B * D, this.dtype);
      const x = this.x;
      this.eachRow((row, i, t) => { const s = batch[order[i]!]!; for (let j = 0; j < D; j++) x[row * D + j] = s[t * D + j]!; });
      input = { kind: 'float', x, xOff: 0 };
    }
    this.stack.forward(ws, lay, input, this.h0, this.c0, { train: opts.train, rng: opts.rng });
  }

  /** f(packed row, sorted position i, step t) for every valid step of the last batch. */
  eachRow(f: (row: number, i: number, t: number) => void): void {
    const { T, sizes, offsets } = this.lay;
    for (let t = 0; t < T; t++) for (let i = 0; i < sizes[t]!; i++) f(offsets[t]! + i, i, t);
  }

  /** The top layer's outputs (N, dirs*H), packed. */
  output(): { a: Arr; off: number } {
    return this.stack.output(this.ws!);
  }

  /** Final states (L*dirs, B, H) in sorted order. */
  finalState(h: Arr, c: Arr): void {
    this.stack.finalState(this.ws!, h, c);
  }

  /** dOut (N, dirs*H) packed, dhN/dcN in sorted order; afterwards initialGrad(k) holds dL/dh0 of unit k (sorted). */
  backward(dOut: Arr | null, opts: { dhN?: Arr | null; dcN?: Arr | null } = {}): void {
    this.stack.backward(this.ws!, dOut, opts);
  }

  initialGrad(k: number): { h: Arr; c: Arr } {
    return this.stack.initialGrad(this.ws!, k);
  }

  /**
   * One step of B independent sequences for decoding: input token ids (B) or rows
   * (B, D); the state h, c ((L*dirs, B, H), no sorting) is read and replaced by the new
   * one. stepOutput() then gives the top layer's output (B, W). Unidirectional only.
   */
  step(input: Int32Array | Arr, B: number, h: Arr, c: Arr): void {
    if (this.stack.dirs !== 1) throw new Error('encoder: step() runs unidirectional stacks only');
    let ws = this.stepWs;
    if (!ws || ws.B < B) ws = this.stepWs = this.stack.workspace(1, Math.max(B, 2 * (ws?.B ?? 0)), this.cfg.input === 'tokens' ? this.cfg.vocab_size : 0);
    let lay = this.stepLays.get(B);
    if (!lay) this.stepLays.set(B, lay = uniformLayout(1, B));
    let si: StackInput;
    if (this.cfg.input === 'tokens') {
      if (this.ids.length < B) this.ids = new Int32Array(Math.max(B, ws.B));
      this.ids.set((input as Int32Array).subarray(0, B));
      si = { kind: 'tokens', ids: this.ids, emb: this.ps.get(`${this.prefix}embedding.weight`), demb: null, V: this.cfg.vocab_size };
    } else {
      if (this.x.length < B * this.D) this.x = allocArray(Math.max(B, ws.B) * this.D, this.dtype);
      this.x.set((input as Arr).subarray(0, B * this.D));
      si = { kind: 'float', x: this.x, xOff: 0 };
    }
    this.stack.forward(ws, lay, si, h, c);
    this.stack.finalState(ws, h, c);
  }

  /** The top layer's output (B, W) of the last step(). */
  stepOutput(): { a: Arr; off: number } {
    return this.stack.output(this.stepWs!);
  }

  private workspace(T: number, B: number): StackWorkspace {
    const ws = this.ws;
    if (ws && T <= ws.T && B <= ws.B) return ws;
    const V = this.cfg.input === 'tokens' ? this.cfg.vocab_size : 0;
    // grow to cover both this batch and the earlier ones
    return this.ws = this.stack.workspace(Math.max(T, ws?.T ?? 0), Math.max(B, ws?.B ?? 0), V);
  }
}
