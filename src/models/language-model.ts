// LanguageModel: a CharLM together with its vocabulary. This is what checkpoints hold
// and what the public API hands out.
import { CharLM, type CharLMConfig } from './char-lm.js';
import { Vocab } from '../data/vocab.js';
import { Rng } from '../core/rng.js';
import { UserError } from '../core/errors.js';
import { sequenceLoss } from './lm-loss.js';
import { generate, nonFiniteError, type SampleOptions } from './sample.js';
import { decodeCheckpoint, encodeCheckpoint } from './charlm-checkpoint.js';
import type { TensorEntry } from '../io/safetensors.js';

export interface EvalStats {
  loss_nats: number;       // mean cross-entropy per predicted character
  bits_per_char: number;   // loss_nats / ln 2
  predicted_chars: number; // characters predicted (all but the first)
}

export class LanguageModel {
  constructor(readonly net: CharLM, readonly vocab: Vocab) {
    if (vocab.size !== net.config.vocab_size) throw new Error(`vocab has ${vocab.size} entries, model expects ${net.config.vocab_size}`);
  }

  /** A freshly initialised model whose vocabulary is the sorted set of characters in text. */
  static create(text: string, config: Partial<Omit<CharLMConfig, 'vocab_size'>> = {}, seed = 1): LanguageModel {
    return LanguageModel.withVocab(Vocab.fromText(text), config, seed);
  }

  /** A freshly initialised model over a given vocabulary (e.g. a streamed corpus's, src/node/corpus.ts). */
  static withVocab(vocab: Vocab, config: Partial<Omit<CharLMConfig, 'vocab_size'>> = {}, seed = 1): LanguageModel {
    return new LanguageModel(new CharLM({ ...config, vocab_size: vocab.size }).init(new Rng(seed)), vocab);
  }

  static fromBytes(bytes: Uint8Array, source = 'checkpoint'): LanguageModel {
    const { model, vocab } = decodeCheckpoint(bytes, source);
    return new LanguageModel(model, vocab);
  }

  get config(): CharLMConfig {
    return this.net.config;
  }

  /** Checkpoint bytes (safetensors, format rnnkit/1); extra holds training state. */
  toBytes(extra: TensorEntry[] = [], metadata: Record<string, string> = {}): Uint8Array {
    return encodeCheckpoint(this.net, this.vocab, extra, metadata);
  }

  /** Mean cross-entropy (nats) of each character given all before it, from the zero state. */
  evaluate(text: string): number {
    return this.evaluateStats(text).loss_nats;
  }

  evaluateStats(text: string): EvalStats {
    const ids = this.encode(text);
    const { loss, count } = sequenceLoss(this.net, ids);
    if (!Number.isFinite(loss)) throw nonFiniteError('on this text');
    return { loss_nats: loss, bits_per_char: loss / Math.LN2, predicted_chars: count };
  }

  /**
   * Full backpropagation through time over the whole text from the zero state.
   * gradients maps each checkpoint tensor name to dloss/dtensor in its layout.
   */
  lossAndGradients(text: string): { loss: number; gradients: Map<string, Float32Array> } {
    const ids = this.encode(text), T = ids.length - 1;
    this.net.zeroGrad();
    const { loss, count } = this.net.forward(ids.subarray(0, T), ids.subarray(1), T, 1, this.net.newState(1));
    this.net.backward();
    const gradients = new Map<string, Float32Array>();
    for (const v of this.net.grads.views) gradients.set(v.name, Float32Array.from(v.data));
    return { loss: loss / count, gradients };
  }

  /** Streams generated characters (see SampleOptions). */
  generate(opts: SampleOptions): Generator<string> {
    return generate(this.net, this.vocab, opts);
  }

  sample(opts: SampleOptions): string {
    let s = '';
    for (const ch of this.generate(opts)) s += ch;
    return s;
  }

  private encode(text: string): Int32Array {
    const ids = this.vocab.encode(text);
    if (ids.length < 2) throw new UserError(`text needs at least 2 characters to predict one, got ${ids.length}`);
    return ids;
  }
}
