// Many-to-one: a sequence in, a class out (docs/models.md, `classifier`).
//   x_1..x_n -> recurrent stack -> pool (last state | mean | max over valid steps)
//   -> dropout -> linear -> softmax over C classes
import { ParamSet, type Arr, type DType, type ParamSpec } from '../core/params.js';
import type { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';
import { linearForward, linearBackward, linearSpecs, uniformInit } from '../nn/linear.js';
import { DropoutLayer } from '../nn/dropout.js';
import { poolForward, poolBackward, POOLS, type Pool } from '../nn/pool.js';
import { oneOf, shown } from './config-checks.js';
import { checkFinite } from './sample.js';
import { SequenceEncoder, checkEncoderConfig, encoderParamSpecs, type EncoderConfig, type Sequence } from './encoder.js';

export interface ClassifierConfig extends EncoderConfig {
  pool: Pool;
  num_classes: number;
  forget_bias: number | null; // LSTM init: forget-gate b_ih (b_hh's is 0); null = PyTorch's uniform init
}

export function classifierConfig(c: Partial<ClassifierConfig> & Pick<ClassifierConfig, 'num_classes'>): ClassifierConfig {
  const cfg: ClassifierConfig = {
    input: c.input ?? 'tokens', vocab_size: c.vocab_size ?? 0, embedding_size: c.embedding_size ?? 64, input_size: c.input_size ?? 0,
    cell: c.cell ?? 'lstm', hidden_size: c.hidden_size ?? 128, num_layers: c.num_layers ?? 1, bidirectional: c.bidirectional ?? false,
    dropout: c.dropout ?? 0, layer_norm: c.layer_norm ?? false, pool: c.pool ?? 'last', num_classes: c.num_classes,
    forget_bias: c.forget_bias === undefined ? 1 : c.forget_bias,
  };
  checkEncoderConfig(cfg, 'classifier');
  oneOf(cfg as unknown as Record<string, unknown>, 'pool', POOLS, 'classifier');
  if (!Number.isSafeInteger(cfg.num_classes) || cfg.num_classes < 2) throw new Error(`classifier: num_classes must be an integer >= 2, got ${shown(cfg.num_classes)}`);
  return cfg;
}

export function classifierParamSpecs(c: ClassifierConfig): ParamSpec[] {
  const { core, extra } = encoderParamSpecs(c);
  const W = (c.bidirectional ? 2 : 1) * c.hidden_size;
  return [...core, ...linearSpecs('head', c.num_classes, W), ...extra];
}

export interface ClassifierExample { seq: Sequence; label: number }

export class Classifier {
  readonly kind = 'classifier';
  readonly config: ClassifierConfig;
  readonly params: ParamSet;
  readonly grads: ParamSet;
  readonly encoder: SequenceEncoder;
  private f: Arr; private df: Arr; // (B, W) pooled features and their gradient
  private drop: DropoutLayer;
  private head = { a: allocArray(0), off: 0 }; // the output layer's input of the last forward
  private arg = new Int32Array(0);  // max pooling: the row each feature came from
  private logits: Arr; private probs: Arr; private dlogits: Arr; // (B, C)
  private hN: Arr; private cN: Arr; private dhN: Arr; private dOut: Arr;
  private targets = new Int32Array(0);
  private B = 0;

  constructor(config: Partial<ClassifierConfig> & Pick<ClassifierConfig, 'num_classes'>, readonly dtype: DType = 'float32') {
    this.config = classifierConfig(config);
    this.params = new ParamSet(classifierParamSpecs(this.config), dtype);
    this.grads = this.params.like();
    this.encoder = new SequenceEncoder(this.config, this.params, this.grads, '', dtype);
    const F = (n: number) => allocArray(n, dtype);
    this.f = F(0); this.df = F(0); this.logits = F(0); this.probs = F(0); this.dlogits = F(0);
    this.hN = F(0); this.cN = F(0); this.dhN = F(0); this.dOut = F(0);
    this.drop = new DropoutLayer(this.config.dropout, dtype);
  }

  /** PyTorch's initialisation (embedding N(0,1), the rest U(±1/√fan_in)), forget-gate bias as configured. */
  init(rng: Rng): this {
    this.encoder.init(rng, this.config.forget_bias);
    for (const n of ['head.weight', 'head.bias']) uniformInit(this.params.get(n), this.encoder.width, rng);
    return this;
  }

  zeroGrad(): void {
    this.grads.zero();
  }

  /**
   * Logits of each sequence's classes into this.logits (sorted order); with labels, the
   * summed cross-entropy. Training mode applies dropout (needs rng).
   */
  forward(seqs: readonly Sequence[], labels: ArrayLike<number> | null, opts: { train?: boolean; rng?: Rng } = {}): { loss: number; count: number } {
    const { num_classes: C, hidden_size: H, pool } = this.config, B = seqs.length, enc = this.encoder;
    enc.forward(seqs, opts);
    const W = enc.width, U = enc.stack.units, lay = enc.lay;
    this.ensure(B, W, U * B * H, lay.N * W);
    this.B = B;
    enc.finalState(this.hN, this.cN);
    const out = enc.output();
    poolForward(pool, this.f, this.arg, out.a, out.off, this.hN, lay, U, this.encoder.stack.dirs, H);
    this.head = this.drop.apply(this.f, 0, B * W, !!opts.train, opts.rng);
    linearForward(this.logits, this.head.a, this.head.off, this.params.get('head.weight'), this.params.get('head.bias'), B, W, C);
    if (!labels) return { loss: 0, count: 0 };
    for (let i = 0; i < B; i++) {
      const y = labels[enc.order[i]!]!;
      if (!(Number.isInteger(y) && y >= 0 && y < C)) throw new Error(`classifier: label ${y} outside [0, ${C})`);
      this.targets[i] = y;
    }
    return { loss: getBackend().softmaxXent(this.probs, this.logits, this.targets, B, C), count: B };
  }

  /** Gradient of the mean cross-entropy of the last forward, accumulated into grads. */
  backward(): void {
    const { num_classes: C, hidden_size: H, pool } = this.config, B = this.B, enc = this.encoder, W = enc.width, lay = enc.lay;
    getBackend().softmaxXentBackward(this.dlogits, this.probs, this.targets, B, C, 1 / B);
    linearBackward(this.df, this.grads.get('head.weight'), this.grads.get('head.bias'), this.dlogits,
      this.head.a, this.head.off, this.params.get('head.weight'), B, W, C);
    this.drop.backward(this.df, B * W);
    const last = pool === 'last';
    poolBackward(pool, this.dOut, this.dhN, this.df, this.arg, lay, enc.stack.units, enc.stack.dirs, H);
    enc.backward(last ? null : this.dOut, { dhN: last ? this.dhN : null });
  }

  /** Class probabilities (B, C) of the last forward, rows in the batch's order. */
  probabilities(): Float64Array {
    const { num_classes: C } = this.config, B = this.B, out = new Float64Array(B * C), l = this.logits, order = this.encoder.order;
    checkFinite(l, 0, B * C, 'on this input');
    for (let i = 0; i < B; i++) {
      let max = -Infinity, sum = 0;
      for (let c = 0; c < C; c++) max = Math.max(max, l[i * C + c]!);
      for (let c = 0; c < C; c++) sum += Math.exp(l[i * C + c]! - max);
      for (let c = 0; c < C; c++) out[order[i]! * C + c] = Math.exp(l[i * C + c]! - max) / sum;
    }
    return out;
  }

  /** Most likely class of each sequence (batch order). */
  predict(seqs: readonly Sequence[]): Int32Array {
    this.forward(seqs, null);
    const { num_classes: C } = this.config, p = this.probabilities(), out = new Int32Array(seqs.length);
    for (let b = 0; b < seqs.length; b++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (p[b * C + c]! > p[b * C + best]!) best = c;
      out[b] = best;
    }
    return out;
  }

  /** Logits (B, C) of the last forward in sorted order (see encoder.order). */
  lastLogits(): Arr {
    return this.logits;
  }

  private ensure(B: number, W: number, states: number, rows: number): void {
    const F = (n: number) => allocArray(n, this.dtype), C = this.config.num_classes;
    if (this.f.length < B * W) {
      this.f = F(B * W); this.df = F(B * W);
      this.logits = F(B * C); this.probs = F(B * C); this.dlogits = F(B * C); this.targets = new Int32Array(B);
      this.arg = new Int32Array(B * W);
    }
    if (this.hN.length < states) { this.hN = F(states); this.cN = F(states); this.dhN = F(states); }
    if (this.dOut.length < rows) this.dOut = F(rows);
  }
}
