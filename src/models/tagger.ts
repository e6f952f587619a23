// Many-to-many, aligned: one tag per input token (docs/models.md, `tagger`).
//   x_1..x_n -> recurrent stack (often bidirectional) -> dropout -> linear per step -> softmax over C tags
import { ParamSet, type Arr, type DType, type ParamSpec } from '../core/params.js';
import type { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';
import { linearForward, linearBackward, linearSpecs, uniformInit } from '../nn/linear.js';
import { DropoutLayer } from '../nn/dropout.js';
import { positiveInts } from './config-checks.js';
import { checkFinite } from './sample.js';
import { SequenceEncoder, checkEncoderConfig, encoderParamSpecs, type EncoderConfig, type Sequence } from './encoder.js';

export interface TaggerConfig extends EncoderConfig {
  num_classes: number;        // C tags
  forget_bias: number | null; // LSTM init, as the classifier's
}

export function taggerConfig(c: Partial<TaggerConfig> & Pick<TaggerConfig, 'num_classes'>): TaggerConfig {
  const cfg: TaggerConfig = {
    input: c.input ?? 'tokens', vocab_size: c.vocab_size ?? 0, embedding_size: c.embedding_size ?? 64, input_size: c.input_size ?? 0,
    cell: c.cell ?? 'lstm', hidden_size: c.hidden_size ?? 128, num_layers: c.num_layers ?? 1, bidirectional: c.bidirectional ?? true,
    dropout: c.dropout ?? 0, layer_norm: c.layer_norm ?? false, num_classes: c.num_classes,
    forget_bias: c.forget_bias === undefined ? 1 : c.forget_bias,
  };
  checkEncoderConfig(cfg, 'tagger');
  positiveInts(cfg as unknown as Record<string, unknown>, ['num_classes'], 'tagger');
  return cfg;
}

export function taggerParamSpecs(c: TaggerConfig): ParamSpec[] {
  const { core, extra } = encoderParamSpecs(c), W = (c.bidirectional ? 2 : 1) * c.hidden_size;
  return [...core, ...linearSpecs('head', c.num_classes, W), ...extra];
}

export interface TaggerExample { seq: Sequence; tags: Int32Array }

export class Tagger {
  readonly kind = 'tagger';
  readonly config: TaggerConfig;
  readonly params: ParamSet;
  readonly grads: ParamSet;
  readonly encoder: SequenceEncoder;
  private logits: Arr; private probs: Arr; private dlogits: Arr; private dOut: Arr; // packed rows
  private targets = new Int32Array(0);
  private drop: DropoutLayer;
  private head = { a: allocArray(0), off: 0 }; // the output layer's input of the last forward
  private N = 0;

  constructor(config: Partial<TaggerConfig> & Pick<TaggerConfig, 'num_classes'>, readonly dtype: DType = 'float32') {
    this.config = taggerConfig(config);
    this.params = new ParamSet(taggerParamSpecs(this.config), dtype);
    this.grads = this.params.like();
    this.encoder = new SequenceEncoder(this.config, this.params, this.grads, '', dtype);
    this.logits = allocArray(0, dtype); this.probs = allocArray(0, dtype); this.dlogits = allocArray(0, dtype); this.dOut = allocArray(0, dtype);
    this.drop = new DropoutLayer(this.config.dropout, dtype);
  }

  init(rng: Rng): this {
    this.encoder.init(rng, this.config.forget_bias);
    for (const n of ['head.weight', 'head.bias']) uniformInit(this.params.get(n), this.encoder.width, rng);
    return this;
  }

  zeroGrad(): void {
    this.grads.zero();
  }

  /** Logits of every step (packed rows); with tags (one per token), the summed cross-entropy over all steps. */
  forward(seqs: readonly Sequence[], tags: readonly Int32Array[] | null, opts: { train?: boolean; rng?: Rng } = {}): { loss: number; count: number } {
    const C = this.config.num_classes, enc = this.encoder;
    enc.forward(seqs, opts);
    const N = enc.lay.N, W = enc.width;
    this.N = N;
    if (this.logits.length < N * C) {
      const F = (n: number) => allocArray(n, this.dtype), cap = Math.max(N, 2 * this.logits.length / C);
      this.logits = F(cap * C); this.probs = F(cap * C); this.dlogits = F(cap * C); this.dOut = F(cap * W); this.targets = new Int32Array(cap);
    }
    const out = enc.output();
    this.head = this.drop.apply(out.a, out.off, N * W, !!opts.train, opts.rng);
    linearForward(this.logits, this.head.a, this.head.off, this.params.get('head.weight'), this.params.get('head.bias'), N, W, C);
    if (!tags) return { loss: 0, count: 0 };
    enc.eachRow((row, i, t) => {
      const s = tags[enc.order[i]!]!;
      if (s.length !== enc.steps(seqs[enc.order[i]!]!)) throw new Error(`tagger: sequence ${enc.order[i]} has ${enc.steps(seqs[enc.order[i]!]!)} tokens but ${s.length} tags`);
      const y = s[t]!;
      if (!(Number.isInteger(y) && y >= 0 && y < C)) throw new Error(`tagger: tag ${y} outside [0, ${C})`);
      this.targets[row] = y;
    });
    return { loss: getBackend().softmaxXent(this.probs, this.logits, this.targets, N, C), count: N };
  }

  /** Gradient of the mean cross-entropy per step of the last forward. */
  backward(): void {
    const C = this.config.num_classes, enc = this.encoder, N = this.N, W = enc.width;
    getBackend().softmaxXentBackward(this.dlogits, this.probs, this.targets, N, C, 1 / N);
    linearBackward(this.dOut, this.grads.get('head.weight'), this.grads.get('head.bias'), this.dlogits, this.head.a, this.head.off, this.params.get('head.weight'), N, W, C);
    this.drop.backward(this.dOut, N * W);
    enc.backward(this.dOut);
  }

  /** The most likely tag of every token of the last forward, per sequence in batch order. */
  predictions(): Int32Array[] {
    const C = this.config.num_classes, enc = this.encoder, l = this.logits, B = enc.lay.B;
    checkFinite(l, 0, this.N * C, 'on this input');
    const out = Array.from({ length: B }, (_, i) => new Int32Array(enc.lay.lengths[i]!));
    enc.eachRow((row, i, t) => {
      let best = 0;
      for (let c = 1; c < C; c++) if (l[row * C + c]! > l[row * C + best]!) best = c;
      out[i]![t] = best;
    });
    const byBatch: Int32Array[] = new Array(B);
    for (let i = 0; i < B; i++) byBatch[enc.order[i]!] = out[i]!;
    return byBatch;
  }

  /** Logits (N, C) of the last forward, packed rows (see encoder.eachRow). */
  lastLogits(): Arr {
    return this.logits;
  }
}
