// Sequence tagging glue: conll sequences -> token ids and tag ids -> Tagger, the
// training adapter, evaluation next to the most-frequent-tag-per-token baseline.
import type { Rng } from '../core/rng.js';
import { UserError } from '../core/errors.js';
import { TokenVocab, UNK, type Tokenizer } from '../data/tokens.js';
import type { TaggedSequence } from '../data/datasets.js';
import type { Tagger, TaggerExample } from '../models/tagger.js';
import type { TaggerBundle } from '../models/task-checkpoints.js';
import type { ExampleModel } from '../train/examples.js';

/** The vocabulary key of a token (lowercased when asked; chars: one code point each). */
export function tokenKey(tok: string, t: Tokenizer, what: string): string {
  if (t.units === 'chars' && [...tok].length !== 1) throw new UserError(`${what}: token ${JSON.stringify(tok)} is not one character (--units chars embeds each token as a character)`);
  return t.lowercase ? tok.toLowerCase() : tok;
}

/** Vocabulary, tags (sorted) and the baseline table from the training sequences. */
export function tagVocabulary(train: readonly TaggedSequence[], t: Tokenizer, minCount: number, what: string): Omit<TaggerBundle, 'model'> {
  const keys = train.map((s) => s.tokens.map((tok, k) => tokenKey(tok, t, `${what}:${s.line + k}`)));
  const vocab = TokenVocab.build(keys, [UNK], minCount);
  const tags = [...new Set(train.flatMap((s) => s.tags))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const tagIndex = new Map(tags.map((g, i) => [g, i]));
  // counts[id][tag]: how often each token carries each tag
  const counts = Array.from({ length: vocab.size }, () => new Int32Array(tags.length)), total = new Int32Array(tags.length);
  train.forEach((s, i) => vocab.encode(keys[i]!).forEach((id, k) => { const g = tagIndex.get(s.tags[k]!)!; counts[id]![g]!++; total[g]!++; }));
  const argmax = (a: Int32Array) => a.reduce((best, v, i) => (v > a[best]! ? i : best), 0);
  const common = argmax(total);
  const baseline = Int32Array.from(counts, (c) => (c.some((v) => v > 0) ? argmax(c) : common));
  return { vocab, tokenizer: t, tags, baseline };
}

export function tagExamples(b: TaggerBundle, seqs: readonly TaggedSequence[], what: string, withTags = true): TaggerExample[] {
  const index = new Map(b.tags.map((g, i) => [g, i]));
  return seqs.map((s) => ({
    seq: b.vocab.encode(s.tokens.map((tok, k) => tokenKey(tok, b.tokenizer, `${what}:${s.line + k}`)), `${what}:${s.line}`),
    tags: withTags ? Int32Array.from(s.tags, (g, k) => {
      const id = index.get(g);
      if (id === undefined) throw new UserError(`${what}:${s.line + k}: tag '${g}' is not one of the model's tags (${b.tags.join(', ')})`);
      return id;
    }) : new Int32Array(s.tokens.length),
  }));
}

export function taggerTask(model: Tagger): ExampleModel<TaggerExample> & { lengthOf(e: TaggerExample): number } {
  return {
    params: model.params, grads: model.grads,
    zeroGrad: () => model.zeroGrad(),
    batchLoss: (batch, opts: { train: boolean; rng: Rng }) => model.forward(batch.map((e) => e.seq), batch.map((e) => e.tags), opts),
    batchBackward: () => model.backward(),
    lengthOf: (e) => e.seq.length,
  };
}

export interface TagEvaluation {
  loss: number;
  tokens: number;
  accuracy: number;
  baselineAccuracy: number;
  perTag: { tag: string; support: number; accuracy: number; baseline: number }[]; // accuracy on tokens whose gold tag is this one
  predicted: Int32Array[];
}

export function predictTags(model: Tagger, examples: readonly TaggerExample[], batch = 64, withLoss = true): { predicted: Int32Array[]; loss: number } {
  const order = Array.from(examples.keys()).sort((a, b) => examples[a]!.seq.length - examples[b]!.seq.length || a - b);
  const predicted: Int32Array[] = new Array(examples.length);
  let loss = 0, count = 0;
  for (let s = 0; s < order.length; s += batch) {
    const idx = order.slice(s, s + batch);
    const r = model.forward(idx.map((i) => examples[i]!.seq), withLoss ? idx.map((i) => examples[i]!.tags) : null);
    loss += r.loss; count += r.count;
    model.predictions().forEach((p, k) => { predicted[idx[k]!] = p; });
  }
  return { predicted, loss: count ? loss / count : NaN };
}

export function evaluateTagger(b: TaggerBundle, examples: readonly TaggerExample[], batch = 64): TagEvaluation {
  const { predicted, loss } = predictTags(b.model, examples, batch), C = b.tags.length;
  const right = new Int32Array(C), base = new Int32Array(C), support = new Int32Array(C);
  examples.forEach((e, i) => e.tags.forEach((g, t) => {
    support[g]!++;
    if (predicted[i]![t] === g) right[g]!++;
    if (b.baseline[e.seq[t]!] === g) base[g]!++;
  }));
  const n = support.reduce((a, v) => a + v, 0), sum = (a: Int32Array) => a.reduce((x, v) => x + v, 0);
  return {
    loss, tokens: n, accuracy: sum(right) / n, baselineAccuracy: sum(base) / n, predicted,
    perTag: b.tags.map((tag, g) => ({ tag, support: support[g]!, accuracy: support[g] ? right[g]! / support[g]! : 0, baseline: support[g] ? base[g]! / support[g]! : 0 })),
  };
}
