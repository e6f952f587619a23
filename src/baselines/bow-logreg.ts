// Bag-of-words multinomial logistic regression: the linear baseline a sentence classifier
// should beat. Features are word counts (or presence) over a vocabulary taken from the
// training texts; training minimises mean cross-entropy + (l2/2)·|W|² (bias not penalised)
// for a fixed number of epochs. The weights start at zero, so the only randomness is the
// mini-batch order, drawn from the seed: the same inputs give the same model.
import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

export interface BowLogRegOptions {
  /** Lowercase before splitting; default true. */
  lowercase?: boolean;
  /** Feature = 1 if the word occurs (default true), else the number of times it occurs. */
  binary?: boolean;
  /** Keep words occurring at least this many times in the training texts; default 1. */
  minCount?: number;
  /** L2 penalty on the weights; default 1e-4 (best of a 5-fold cross-validation on the UCI sentiment sentences). */
  l2?: number;
  /** Passes over the training texts; default 100 (full-batch Adam has converged by then on thousands of sentences). */
  epochs?: number;
  /** Default 0.05 (suits Adam; plain gradient descent wants a larger one). */
  learningRate?: number;
  /** 'adam' (default; Kingma & Ba with beta1 0.9, beta2 0.999, eps 1e-8) or 'gd'. */
  optimizer?: 'adam' | 'gd';
  /** Texts per update; 0 (default) = the whole training set (full batch). */
  batchSize?: number;
  /** Seeds the mini-batch order; default 0. */
  seed?: number;
}

export type ResolvedBowLogRegOptions = Required<BowLogRegOptions>;

export const BOW_LOGREG_DEFAULTS: ResolvedBowLogRegOptions = {
  lowercase: true, binary: true, minCount: 1, l2: 1e-4, epochs: 100, learningRate: 0.05, optimizer: 'adam', batchSize: 0, seed: 0,
};

export interface BowLogRegModel {
  /** Feature j is the word vocab[j] (sorted). */
  readonly vocab: readonly string[];
  readonly numClasses: number;
  /** vocab.length x numClasses, row-major. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly options: ResolvedBowLogRegOptions;
  /** The training objective after each epoch. */
  readonly losses: Float64Array;
  /** Class logits, texts.length x numClasses. Words outside the vocabulary are ignored. */
  logits(texts: readonly string[]): Float64Array;
  /** Class probabilities, texts.length x numClasses. */
  predictProba(texts: readonly string[]): Float64Array;
  /** The most probable class of each text (the lowest id on a tie). */
  predict(texts: readonly string[]): Int32Array;
}

/** The tokens the model sees: split on whitespace, empty pieces dropped. */
export function bowTokens(text: string, lowercase = true): string[] {
  return (lowercase ? text.toLowerCase() : text).split(/\s+/).filter((w) => w !== '');
}

/** A text as sparse features: feature ids (ascending) and their values. */
interface SparseDoc { ids: Int32Array; values: Float64Array }

function featurize(text: string, index: ReadonlyMap<string, number>, o: ResolvedBowLogRegOptions): SparseDoc {
  const counts = new Map<number, number>();
  for (const w of bowTokens(text, o.lowercase)) {
    const j = index.get(w);
    if (j !== undefined) counts.set(j, (counts.get(j) ?? 0) + 1);
  }
  const ids = Int32Array.from(counts.keys()).sort();
  return { ids, values: Float64Array.from(ids, (j) => (o.binary ? 1 : counts.get(j)!)) };
}

/** logits = x W + b for one document, written into out. */
function docLogits(d: SparseDoc, W: Float64Array, b: Float64Array, C: number, out: Float64Array, at: number): void {
  for (let c = 0; c < C; c++) out[at + c] = b[c]!;
  for (let k = 0; k < d.ids.length; k++) {
    const row = d.ids[k]! * C, x = d.values[k]!;
    for (let c = 0; c < C; c++) out[at + c] += x * W[row + c]!;
  }
}

/** In-place softmax of out[at .. at+C); returns log-sum-exp (for the loss). */
function softmax(out: Float64Array, at: number, C: number): number {
  let max = -Infinity;
  for (let c = 0; c < C; c++) max = Math.max(max, out[at + c]!);
  let sum = 0;
  for (let c = 0; c < C; c++) sum += (out[at + c] = Math.exp(out[at + c]! - max));
  for (let c = 0; c < C; c++) out[at + c]! /= sum;
  return max + Math.log(sum);
}

function resolve(opts: BowLogRegOptions): ResolvedBowLogRegOptions {
  const o: ResolvedBowLogRegOptions = { ...BOW_LOGREG_DEFAULTS, ...opts };
  const need = (ok: boolean, what: string, v: unknown) => { if (!ok) throw new UserError(`bow-logreg: ${what}, got ${String(v)}`); };
  need(Number.isInteger(o.minCount) && o.minCount >= 1, 'minCount must be a positive integer', o.minCount);
  need(Number.isInteger(o.epochs) && o.epochs >= 0, 'epochs must be a non-negative integer', o.epochs);
  need(Number.isInteger(o.batchSize) && o.batchSize >= 0, 'batchSize must be a non-negative integer (0 = full batch)', o.batchSize);
  need(o.l2 >= 0 && Number.isFinite(o.l2), 'l2 must be >= 0', o.l2);
  need(o.learningRate > 0 && Number.isFinite(o.learningRate), 'learningRate must be positive', o.learningRate);
  need(o.optimizer === 'adam' || o.optimizer === 'gd', "optimizer must be 'adam' or 'gd'", o.optimizer);
  return o;
}

export function trainBowLogReg(texts: readonly string[], labels: ArrayLike<number>, numClasses: number, opts: BowLogRegOptions = {}): BowLogRegModel {
  const o = resolve(opts);
  const C = numClasses, N = texts.length;
  if (!Number.isInteger(C) || C < 2) throw new UserError(`bow-logreg: need at least 2 classes, got ${C}`);
  if (labels.length !== N) throw new UserError(`bow-logreg: ${N} texts but ${labels.length} labels`);
  if (N === 0) throw new UserError('bow-logreg: no training texts');
  const y = Int32Array.from({ length: N }, (_, i) => {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= C) throw new UserError(`bow-logreg: label ${i} is ${l}, outside 0..${C - 1}`);
    return l;
  });

  const freq = new Map<string, number>();
  for (const t of texts) for (const w of bowTokens(t, o.lowercase)) freq.set(w, (freq.get(w) ?? 0) + 1);
  const vocab = [...freq].filter(([, n]) => n >= o.minCount).map(([w]) => w).sort();
  const index = new Map(vocab.map((w, j) => [w, j] as const));
  const docs = texts.map((t) => featurize(t, index, o));

  const V = vocab.length, P = V * C + C; // parameters: W then b, one flat buffer
  const params = new Float64Array(P), grad = new Float64Array(P);
  const W = params.subarray(0, V * C), b = params.subarray(V * C);
  const gW = grad.subarray(0, V * C), gB = grad.subarray(V * C);
  const m = o.optimizer === 'adam' ? new Float64Array(P) : null, v = m ? new Float64Array(P) : null;
  const probs = new Float64Array(C);
  const rng = new Rng(o.seed);
  const order = Int32Array.from({ length: N }, (_, i) => i);
  const batch = o.batchSize === 0 ? N : Math.min(o.batchSize, N);
  let step = 0;

  /** Mean cross-entropy + (l2/2)|W|² over docs[idx]; accumulates its gradient if asked. */
  const objective = (idx: ArrayLike<number>, withGrad: boolean): number => {
    if (withGrad) grad.fill(0);
    let loss = 0;
    const scale = 1 / idx.length;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!, d = docs[i]!;
      docLogits(d, W, b, C, probs, 0);
      const logit = probs[y[i]!]!;
      loss += softmax(probs, 0, C) - logit;
      if (!withGrad) continue;
      probs[y[i]!]! -= 1; // d loss / d logits = p - onehot(y)
      for (let c = 0; c < C; c++) gB[c] += probs[c]! * scale;
      for (let q = 0; q < d.ids.length; q++) {
        const row = d.ids[q]! * C, x = d.values[q]! * scale;
        for (let c = 0; c < C; c++) gW[row + c] += x * probs[c]!;
      }
    }
    let sq = 0;
    for (let j = 0; j < W.length; j++) sq += W[j]! * W[j]!;
    if (withGrad && o.l2 > 0) for (let j = 0; j < W.length; j++) gW[j] += o.l2 * W[j]!;
    return loss * scale + 0.5 * o.l2 * sq;
  };

  const update = (): void => {
    step++;
    const lr = o.learningRate;
    if (!m || !v) {
      for (let j = 0; j < P; j++) params[j]! -= lr * grad[j]!;
      return;
    }
    const b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
    for (let j = 0; j < P; j++) {
      const g = grad[j]!;
      m[j] = b1 * m[j]! + (1 - b1) * g;
      v[j] = b2 * v[j]! + (1 - b2) * g * g;
      params[j]! -= (lr * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + eps);
    }
  };

  const losses = new Float64Array(o.epochs);
  for (let e = 0; e < o.epochs; e++) {
    if (batch < N) {
      for (let i = N - 1; i > 0; i--) { // Fisher-Yates
        const j = rng.int(i + 1);
        const t = order[i]!; order[i] = order[j]!; order[j] = t;
      }
    }
    for (let s = 0; s < N; s += batch) {
      objective(order.subarray(s, Math.min(s + batch, N)), true);
      update();
    }
    losses[e] = objective(order, false);
  }
  return makeModel(vocab, index, C, Float64Array.from(W), Float64Array.from(b), o, losses);
}

function makeModel(vocab: string[], index: Map<string, number>, C: number, W: Float64Array, b: Float64Array, o: ResolvedBowLogRegOptions, losses: Float64Array): BowLogRegModel {
  const logits = (texts: readonly string[]): Float64Array => {
    const out = new Float64Array(texts.length * C);
    texts.forEach((t, i) => docLogits(featurize(t, index, o), W, b, C, out, i * C));
    return out;
  };
  const predictProba = (texts: readonly string[]): Float64Array => {
    const out = logits(texts);
    for (let i = 0; i < texts.length; i++) softmax(out, i * C, C);
    return out;
  };
  const predict = (texts: readonly string[]): Int32Array => {
    const z = logits(texts), pred = new Int32Array(texts.length);
    for (let i = 0; i < texts.length; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (z[i * C + c]! > z[i * C + best]!) best = c;
      pred[i] = best;
    }
    return pred;
  };
  return { vocab, numClasses: C, weights: W, bias: b, options: o, losses, logits, predictProba, predict };
}
