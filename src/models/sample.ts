// Sampling: warm the network up on a prime text, then draw one character at a time
// and feed it back (batch 1).
import type { CharLM } from './char-lm.js';
import type { Vocab } from '../data/vocab.js';
import { Rng } from '../core/rng.js';
import { UserError } from '../core/errors.js';

export interface SampleOptions {
  length: number;        // characters to generate (the prime is not counted)
  temperature?: number;  // divides the logits; < 1 is more conservative (default 1)
  topK?: number;         // draw only among the k most likely characters (0 = all)
  argmax?: boolean;      // always take the most likely character
  prime?: string;        // text run through the network first (default "\n" if known)
  seed?: number;         // or pass rng
  rng?: Rng;
}

/** A model's outputs that are NaN or infinite. */
export class NonFiniteOutputError extends UserError {}

/** The error when a model's outputs overflow float32 (weights of absurd size: a corrupt or diverged checkpoint). */
export function nonFiniteError(what: string): NonFiniteOutputError {
  return new NonFiniteOutputError(`the model computed non-finite values (NaN or infinity) ${what}: its weights overflow float32 (a corrupt or diverged checkpoint?)`);
}

/** Refuses entries [from, to) of a model's outputs that are NaN or infinite (nonFiniteError). */
export function checkFinite(a: ArrayLike<number>, from: number, to: number, what: string): void {
  for (let i = from; i < to; i++) if (!Number.isFinite(a[i]!)) throw nonFiniteError(what);
}

/** Yields generated characters one by one (the prime is not yielded). */
export function* generate(model: CharLM, vocab: Vocab, opts: SampleOptions): Generator<string> {
  const temperature = opts.temperature ?? 1, topK = opts.topK ?? 0, V = vocab.size;
  if (!(temperature > 0)) throw new UserError(`temperature must be positive, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new UserError(`top-k must be a non-negative integer, got ${topK}`);
  if (!Number.isInteger(opts.length) || opts.length < 0) throw new UserError(`length must be a non-negative integer, got ${opts.length}`);
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const prime = opts.prime === undefined || opts.prime === '' ? (vocab.has('\n') ? '\n' : vocab.chars[0]!) : opts.prime;
  const ids = vocab.encode(prime, 'prime text');
  const state = model.newState(1);
  // warm-start: run the prime in chunks, keeping the last step's logits
  const chunk = 256;
  let last = 0;
  for (let s = 0; s < ids.length; s += chunk) {
    const T = Math.min(chunk, ids.length - s);
    model.forward(ids.subarray(s, s + T), null, T, 1, state);
    last = (T - 1) * V;
  }
  let logits = model.logits();
  const probs = new Float64Array(V), sorted = new Float64Array(V), one = new Int32Array(1);
  for (let n = 0; n < opts.length; n++) {
    for (let v = 0; v < V; v++) if (!Number.isFinite(logits[last + v]!)) throw nonFiniteError('while sampling');
    const id = opts.argmax ? argmax(logits, last, V) : draw(logits, last, V, temperature, topK, probs, sorted, rng);
    yield vocab.chars[id]!;
    one[0] = id;
    model.forward(one, null, 1, 1, state);
    logits = model.logits();
    last = 0;
  }
}

function argmax(l: ArrayLike<number>, o: number, V: number): number {
  let best = 0;
  for (let v = 1; v < V; v++) if (l[o + v]! > l[o + best]!) best = v;
  return best;
}

/** Draws an id from softmax(logits[o..o+V) / temp), top-k when topK > 0; p and sorted are (V) scratch. */
export function draw(l: ArrayLike<number>, o: number, V: number, temp: number, topK: number, p: Float64Array, sorted: Float64Array, rng: Rng): number {
  let threshold = -Infinity;
  if (topK > 0 && topK < V) {
    for (let v = 0; v < V; v++) sorted[v] = l[o + v]!;
    sorted.sort();
    threshold = sorted[V - topK]!;
  }
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (l[o + v]! > max) max = l[o + v]!;
  let sum = 0;
  for (let v = 0; v < V; v++) {
    const x = l[o + v]!;
    p[v] = x >= threshold ? Math.exp((x - max) / temp) : 0;
    sum += p[v]!;
  }
  let u = rng.uniform() * sum;
  for (let v = 0; v < V; v++) {
    u -= p[v]!;
    if (u < 0) return v;
  }
  // rounding left u >= 0: take the last character that has any probability
  for (let v = V - 1; v >= 0; v--) if (p[v]! > 0) return v;
  return 0;
}
