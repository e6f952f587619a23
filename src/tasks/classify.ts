// Text classification glue: labelled text -> token ids -> Classifier, the training
// adapter, and evaluation (accuracy, per-class precision/recall/F1, confusion).
import type { Rng } from '../core/rng.js';
import { UserError } from '../core/errors.js';
import { TokenVocab, UNK, tokenize, type Tokenizer } from '../data/tokens.js';
import type { Labelled } from '../data/datasets.js';
import { Classifier, type ClassifierExample } from '../models/classifier.js';
import type { ClassifierBundle } from '../models/classifier-checkpoint.js';
import type { Sequence } from '../models/encoder.js';
import type { ExampleModel } from '../train/examples.js';
import { classificationMetrics, type ClassificationMetrics } from '../metrics/classification.js';

/** Labels sorted by code point; the vocabulary from the training texts (<unk> first). */
export function textVocabulary(train: readonly Labelled[], tokenizer: Tokenizer, minCount: number): { vocab: TokenVocab; labels: string[] } {
  // one text's tokens at a time: all of them at once would cost far more than the vocabulary
  const vocab = TokenVocab.build((function* () { for (const e of train) yield tokenize(e.text, tokenizer); })(), [UNK], minCount);
  const labels = [...new Set(train.map((e) => e.label))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (labels.length < 2) throw new UserError(`the training data has ${labels.length} label(s); a classifier needs at least 2`);
  return { vocab, labels };
}

/** Token ids of a text (unknown tokens become <unk>; a text with no tokens is an error). */
export function encodeText(b: ClassifierBundle, text: string, what: string): Int32Array {
  return b.vocab!.encode(tokensOf(b, text, what), what);
}

function tokensOf(b: ClassifierBundle, text: string, what: string): string[] {
  const toks = tokenize(text, b.tokenizer!);
  if (toks.length === 0) throw new UserError(`${what}: the text has no tokens`);
  return toks;
}

/**
 * Examples of labelled text for a bundle; a label the model does not know is an error
 * naming it. Every example's ids are a view of one buffer: a million small arrays would
 * take about twice the memory.
 */
export function textExamples(b: ClassifierBundle, items: readonly Labelled[], what: string): ClassifierExample[] {
  const index = new Map(b.labels.map((l, i) => [l, i])), n = items.length;
  const labels = new Int32Array(n), ends = new Float64Array(n);
  let ids: Int32Array = new Int32Array(Math.max(64, 8 * n)), end = 0;
  items.forEach((e, i) => {
    const label = index.get(e.label);
    if (label === undefined) throw new UserError(`${what}:${e.line}: label '${e.label}' is not one of the model's labels (${b.labels.join(', ')})`);
    const toks = tokensOf(b, e.text, `${what}:${e.line}`);
    if (end + toks.length > ids.length) ids = grown(ids, end, end + toks.length);
    b.vocab!.encode(toks, `${what}:${e.line}`, ids, end);
    end += toks.length; ends[i] = end; labels[i] = label;
  });
  if (ids.length > end) ids = ids.slice(0, end);
  return Array.from(items, (_, i) => ({ seq: ids.subarray(i ? ends[i - 1]! : 0, ends[i]!), label: labels[i]! }));
}

function grown(a: Int32Array, used: number, need: number): Int32Array {
  const b = new Int32Array(Math.max(2 * a.length, need));
  b.set(a.subarray(0, used));
  return b;
}

/** The training adapter of a classifier. */
export function classifierTask(model: Classifier): ExampleModel<ClassifierExample> & { lengthOf(e: ClassifierExample): number } {
  return {
    params: model.params, grads: model.grads,
    zeroGrad: () => model.zeroGrad(),
    batchLoss: (batch, opts: { train: boolean; rng: Rng }) => model.forward(batch.map((e) => e.seq), batch.map((e) => e.label), opts),
    batchBackward: () => model.backward(),
    lengthOf: (e) => model.encoder.steps(e.seq),
  };
}

export interface ClassifierEvaluation {
  loss: number;                // mean cross-entropy
  metrics: ClassificationMetrics;
  predicted: Int32Array;       // per example
  probabilities: Float64Array; // (n, C)
}

/** Predicts in batches of similar lengths (fast, and the same results as one by one). */
export function evaluateClassifier(model: Classifier, examples: readonly ClassifierExample[], batch = 64): ClassifierEvaluation {
  const C = model.config.num_classes, n = examples.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => model.encoder.steps(examples[a]!.seq) - model.encoder.steps(examples[b]!.seq) || a - b);
  const predicted = new Int32Array(n), gold = new Int32Array(n), probabilities = new Float64Array(n * C);
  let loss = 0;
  for (let s = 0; s < n; s += batch) {
    const idx = order.slice(s, s + batch), seqs: Sequence[] = idx.map((i) => examples[i]!.seq);
    loss += model.forward(seqs, idx.map((i) => examples[i]!.label)).loss;
    const p = model.probabilities();
    idx.forEach((i, k) => {
      let best = 0;
      for (let c = 0; c < C; c++) { probabilities[i * C + c] = p[k * C + c]!; if (p[k * C + c]! > p[k * C + best]!) best = c; }
      predicted[i] = best;
      gold[i] = examples[i]!.label;
    });
  }
  return { loss: loss / Math.max(1, n), metrics: classificationMetrics(gold, predicted, C), predicted, probabilities };
}

/**
 * A validation split held out of the training examples: `fraction` of each label's
 * examples (at least one when it has two or more), chosen by rng.
 */
export function holdOut<T extends { label: string }>(items: readonly T[], fraction: number, rng: Rng): { train: T[]; val: T[] } {
  const byLabel = new Map<string, number[]>();
  items.forEach((e, i) => { const l = byLabel.get(e.label) ?? []; l.push(i); byLabel.set(e.label, l); });
  const val = new Set<number>();
  for (const [, idx] of [...byLabel].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (let i = idx.length - 1; i > 0; i--) { const j = rng.int(i + 1); const t = idx[i]!; idx[i] = idx[j]!; idx[j] = t; }
    const k = idx.length >= 2 ? Math.max(1, Math.round(fraction * idx.length)) : 0;
    for (const i of idx.slice(0, k)) val.add(i);
  }
  return { train: items.filter((_, i) => !val.has(i)), val: items.filter((_, i) => val.has(i)) };
}
