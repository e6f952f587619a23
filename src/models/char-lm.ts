// Character language model: Embedding -> L stacked recurrent layers -> Linear -> softmax.
// Parameter names and shapes are exactly the state_dict of the PyTorch reference CharLM
// (docs/checkpoint-format.md), so checkpoints move between the two unchanged.
//
// Shapes: T = time, B = streams, V = vocab, E = embedding, H = hidden, L = layers.
// Token ids are time-major: ids[t*B + b] is step t of stream b.

import { ParamSet, type Arr, type DType, type ParamSpec } from '../core/params.js';
import { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';
import { linearForward, linearBackward } from '../nn/linear.js';
import { pascanuForward, pascanuBackward } from '../nn/pascanu.js';
import { UserError } from '../core/errors.js';
import { flags, forgetBias, oneOf, positiveInts, rates, shown } from './config-checks.js';
import { draw } from './sample.js';
import { CELL_TYPES, type CellType, type RecurrentCache, type RecurrentParams } from '../nn/recurrent.js';
import { uniformLayout, type StepLayout } from '../nn/layout.js';
import {
  INITIAL_STATES, RecurrentStack, stackParamSpecs, unitViews, type InitialState, type StackConfig, type StackNames, type StackWorkspace,
} from '../nn/stack.js';

export { INITIAL_STATES, type InitialState };

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
    forget_bias: c.forget_bias === undefined ? null : c.forget_bias, // PyTorch's init: measured better for char LMs (docs/training.md)
    layer_norm: c.layer_norm ?? false,
    initial_state: c.initial_state ?? 'zero',
    initial_noise: c.initial_noise ?? (c.initial_state === 'noisy' ? 0.1 : 0),
    sum_outputs: c.sum_outputs ?? false,
    recurrent_dropout: c.recurrent_dropout ?? 0,
  };
  const f = cfg as unknown as Record<string, unknown>, what = 'charlm';
  oneOf(f, 'cell', CELL_TYPES, what);
  positiveInts(f, ['vocab_size', 'embedding_size', 'hidden_size', 'num_layers'], what);
  rates(f, ['dropout', 'recurrent_dropout'], what);
  forgetBias(f, what);
  oneOf(f, 'initial_state', INITIAL_STATES, what);
  if (!(Number.isFinite(cfg.initial_noise) && cfg.initial_noise >= 0)) throw new Error(`${what}: initial_noise must be a number >= 0, got ${shown(cfg.initial_noise)}`);
  flags(f, ['layer_norm', 'sum_outputs'], what);
  return cfg;
}

const NAMES: StackNames = { rnn: 'rnn.', init: 'init.' };

/** The recurrent stack of a CharLM config. */
export function charLMStackConfig(c: CharLMConfig): StackConfig {
  return {
    cell: c.cell, inputSize: c.embedding_size, hiddenSize: c.hidden_size, numLayers: c.num_layers, bidirectional: false,
    dropout: c.dropout, recurrentDropout: c.recurrent_dropout, layerNorm: c.layer_norm,
    initialState: c.initial_state, initialNoise: c.initial_noise, sumOutputs: c.sum_outputs,
  };
}

/**
 * The state_dict of the reference CharLM, in its order, then rnnkit's own tensors:
 * layer-norm gains and biases per layer, and the learned initial state.
 */
export function charLMParamSpecs(c: CharLMConfig): ParamSpec[] {
  const { core, extra } = stackParamSpecs(charLMStackConfig(c), NAMES);
  return [
    { name: 'embedding.weight', shape: [c.vocab_size, c.embedding_size] }, ...core,
    { name: 'head.weight', shape: [c.vocab_size, c.hidden_size] }, { name: 'head.bias', shape: [c.vocab_size] }, ...extra,
  ];
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
  lay: StepLayout;
  s: StackWorkspace;   // the recurrent stack's
  ids: Int32Array;     // (T*B) inputs of the last forward
  targets: Int32Array; // (T*B), -1 = not predicted
  dout: Arr;           // (T*B, H) dL/d(stack output)
  logits: Arr;         // (T*B, V)
  probs: Arr;          // (T*B, V)
  dlogits: Arr;        // (T*B, V)
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
  readonly kind = 'charlm';
  readonly config: CharLMConfig;
  readonly dtype: DType;
  readonly params: ParamSet;
  readonly grads: ParamSet;
  readonly stack: RecurrentStack;
  private workspaces = new Map<string, Workspace>();
  private last: Workspace | null = null;
  private recording = false;
  private drawScratch: Float64Array | undefined; // feedback sampling's probabilities (V)

  constructor(config: Partial<CharLMConfig> & { vocab_size: number }, dtype: DType = 'float32') {
    this.config = normalizeConfig(config);
    this.dtype = dtype;
    this.params = new ParamSet(charLMParamSpecs(this.config), dtype);
    this.grads = this.params.like();
    this.stack = new RecurrentStack(charLMStackConfig(this.config), this.params, this.grads, NAMES, dtype);
  }

  /**
   * PyTorch's default initialisation: embedding N(0, 1); recurrent weights and biases
   * U(-1/sqrt(H), 1/sqrt(H)); head weight and bias U(-1/sqrt(H), 1/sqrt(H)). Then, for
   * an LSTM, the forget gate's b_ih = forget_bias and b_hh = 0 (their sum is the bias).
   * Layer-norm gains start at 1 and biases at 0; a learned initial state at 0.
   */
  init(rng: Rng): this {
    const k = 1 / Math.sqrt(this.config.hidden_size);
    for (const v of this.params.views) {
      const d = v.data;
      if (v.name === 'embedding.weight') for (let i = 0; i < d.length; i++) d[i] = rng.normal();
      else if (v.name.startsWith('rnn.ln_')) d.fill(v.name.includes('_weight_') ? 1 : 0);
      else if (v.name.startsWith('init.')) d.fill(0);
      else for (let i = 0; i < d.length; i++) d[i] = (2 * rng.uniform() - 1) * k;
    }
    this.stack.setForgetBias(this.config.forget_bias);
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
    this.stack.initialState(state.h, state.c, state.B, rng);
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
    const V = this.config.vocab_size, N = T * B;
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
    if (feedback > 0 && !opts.rng) throw new Error('forward: dropout and feedback need an rng');
    ws.fresh = !!state.fresh;
    const input = { kind: 'tokens' as const, ids: ws.ids, emb: this.params.get('embedding.weight'), demb: this.grads.get('embedding.weight'), V };
    this.stack.begin(ws.s, ws.lay, input, state.h, state.c, { train: opts.train, rng: opts.rng });
    ws.fed = 0;
    if (feedback === 0) this.forwardSteps(ws, 0, T);
    else {
      // each step's input may be the previous step's prediction, so steps run one at a time
      for (let t = 0; t < T; t++) {
        if (t > 0) ws.fed += this.feedBack(ws, t, feedback, opts.rng!);
        this.forwardSteps(ws, t, t + 1);
      }
    }
    this.stack.finalState(ws.s, state.h, state.c);
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
    const loss = getBackend().softmaxXent(ws.probs, ws.logits, ws.targets, N, V);
    return { loss, count };
  }

  /** Steps [t0, t1) of the stack and the head. */
  private forwardSteps(ws: Workspace, t0: number, t1: number): void {
    const { vocab_size: V, hidden_size: H } = this.config, B = ws.B, r0 = t0 * B, n = (t1 - t0) * B;
    this.stack.steps(ws.s, t0, t1);
    const { a, off } = this.stack.output(ws.s);
    linearForward(ws.logits, a, off + r0 * H, this.params.get('head.weight'), this.params.get('head.bias'), n, H, V, r0 * V);
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
    this.stack.stateAt(ws.s, k, into.h, into.c);
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
    const { vocab_size: V, hidden_size: H, num_layers: L } = this.config;
    const { T, B } = ws, N = T * B, lambda = opts.pascanu ?? 0;
    if (lambda > 0) this.checkPascanu(ws);
    this.stack.recording = this.recording || lambda > 0;
    getBackend().softmaxXentBackward(ws.dlogits, ws.probs, ws.targets, N, V, 1 / ws.count);
    const { a, off } = this.stack.output(ws.s);
    linearBackward(ws.dout, this.grads.get('head.weight'), this.grads.get('head.bias'), ws.dlogits, a, off, this.params.get('head.weight'), N, H, V);
    this.stack.backward(ws.s, ws.dout);
    if (ws.fresh) this.stack.learnedStateBackward(ws.s);
    if (lambda === 0) return { regularizer: 0 };
    // Pascanu's Ω, with every v_t = dE/dh_t of the sweep above held constant: its direct
    // dW_hh here, and its dependence on h_t backpropagated by a second sweep
    const reg = this.pascanuBuffers(ws);
    let omega = 0;
    for (let l = 0; l < L; l++) {
      const c = ws.s.units[l]!, relu = this.config.cell === 'rnn_relu', whh = this.stack.params[l]!.whh;
      omega += pascanuForward(relu, T, B, H, c.hs, c.dhs, whh, reg.w, reg.u) / N;
      pascanuBackward(relu, T, B, H, c.hs, c.dhs, whh, reg.w, reg.u, reg.gu, lambda / N, this.stack.grads[l]!.whh, reg.e[l]!);
    }
    // the second sweep must not overwrite the recorded v_t
    this.stack.recording = false;
    this.stack.backward(ws.s, reg.e[L - 1]!, { extra: (l) => reg.e[l]! });
    if (ws.fresh) this.stack.learnedStateBackward(ws.s);
    this.stack.recording = this.recording;
    return { regularizer: omega };
  }

  private checkPascanu(ws: Workspace): void {
    const { cell, layer_norm } = this.config;
    if ((cell !== 'rnn_tanh' && cell !== 'rnn_relu') || layer_norm) throw new UserError(`the Pascanu regularizer is defined for vanilla RNNs (rnn_tanh, rnn_relu without layer norm), not ${layer_norm ? 'layer-normalised ' : ''}${cell}`);
    if (ws.s.units.some((c) => c.masked)) throw new UserError('the Pascanu regularizer cannot be combined with recurrent dropout');
  }

  private pascanuBuffers(ws: Workspace): NonNullable<Workspace['reg']> {
    if (!ws.reg) {
      const F = (n: number) => allocArray(n, this.dtype), NH = ws.T * ws.B * this.config.hidden_size;
      ws.reg = { w: F(NH), u: F(NH), gu: F(NH), e: ws.s.units.map(() => F(NH)) };
    }
    return ws.reg;
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
    const c = this.last?.s.units[l];
    if (!c || !c.recording) throw new Error('hiddenGrads: call recordHiddenGrads(true), forward and backward first');
    return c.dhs;
  }

  /** Layer l's hidden states of the last forward, ((T+1)*B, H): block 0 is h0, block t+1 is h_t. */
  hiddenStates(l: number): Arr {
    const c = this.last?.s.units[l];
    if (!c) throw new Error('hiddenStates: call forward first');
    return c.hs;
  }

  /**
   * Layer l's activations of the last forward (read only; the next forward overwrites
   * them): hs and cs as hiddenStates, tc = tanh(c_t) (N, H), g the gates after their
   * nonlinearity (N, G*H; LSTM i, f, g, o; GRU r, z, n).
   */
  layerActivations(l: number): Pick<RecurrentCache, 'hs' | 'cs' | 'tc' | 'g' | 'H' | 'B'> {
    const c = this.last?.s.units[l];
    if (!c) throw new Error('layerActivations: call forward first');
    return c;
  }

  /** dL/dh0 and dL/dc0 of layer l after backward(), each (B, H). */
  initialStateGrad(l: number): { h: Arr; c: Arr } {
    return this.stack.initialGrad(this.last!.s, l);
  }

  zeroGrad(): void {
    this.grads.zero();
  }

  private workspace(T: number, B: number): Workspace {
    const key = `${T}x${B}`;
    let ws = this.workspaces.get(key);
    if (ws) return ws;
    const { vocab_size: V, hidden_size: H } = this.config;
    const F = (n: number) => allocArray(n, this.dtype), N = T * B;
    ws = {
      T, B, lay: uniformLayout(T, B), s: this.stack.workspace(T, B, V), ids: new Int32Array(N), targets: new Int32Array(N),
      dout: F(N * H), logits: F(N * V), probs: F(N * V), dlogits: F(N * V), fresh: false, count: 0, fed: 0,
    };
    // a few shapes are in use at a time (train chunk, eval chunk, sampling step)
    if (this.workspaces.size >= 4) this.workspaces.delete(this.workspaces.keys().next().value!);
    this.workspaces.set(key, ws);
    return ws;
  }
}

/** Layer l's tensors in ps (params or grads) as the recurrent layer functions take them. */
export function layerViews(ps: ParamSet, l: number, c: CharLMConfig): RecurrentParams {
  return unitViews(ps, charLMStackConfig(c), NAMES, l, 0);
}
