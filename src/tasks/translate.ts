// Translation glue: source<TAB>target pairs -> token ids -> Seq2Seq, the training
// adapter, decoding (greedy or beam) and its scores: corpus BLEU-4 (sacreBLEU's
// definition and 13a tokenisation, on the detokenised outputs), exact match, and the
// token error rate (edit distance over target tokens / reference tokens).
import type { Rng } from '../core/rng.js';
import { UserError } from '../core/errors.js';
import { BOS, EOS, TokenVocab, UNK, detokenize, tokenize, type Tokenizer } from '../data/tokens.js';
import type { Pair } from '../data/datasets.js';
import type { Seq2Seq, Seq2SeqExample } from '../models/seq2seq.js';
import type { Seq2SeqBundle } from '../models/task-checkpoints.js';
import type { ExampleModel } from '../train/examples.js';
import { sacreBleu } from '../metrics/bleu.js';
import { tokenErrorRate } from '../metrics/edit-distance.js';
import { heatmap } from '../viz/heatmap.js';

export function translationVocabularies(train: readonly Pair[], st: Tokenizer, tt: Tokenizer, minCount: number): { source: TokenVocab; target: TokenVocab } {
  return {
    source: TokenVocab.build(train.map((p) => tokenize(p.source, st)), [UNK], minCount),
    target: TokenVocab.build(train.map((p) => tokenize(p.target, tt)), [UNK, BOS, EOS], minCount), // bos = 1, eos = 2
  };
}

export function encodeSource(b: Seq2SeqBundle, text: string, what: string): Int32Array {
  const toks = tokenize(text, b.sourceTokenizer);
  if (!toks.length) throw new UserError(`${what}: the source has no tokens`);
  return b.source.encode(toks, what);
}

export function pairExamples(b: Seq2SeqBundle, pairs: readonly Pair[], what: string): Seq2SeqExample[] {
  return pairs.map((p) => ({ source: encodeSource(b, p.source, `${what}:${p.line}`), target: b.target.encode(tokenize(p.target, b.targetTokenizer), `${what}:${p.line}`) }));
}

export function seq2seqTask(model: Seq2Seq): ExampleModel<Seq2SeqExample> & { lengthOf(e: Seq2SeqExample): number } {
  return {
    params: model.params, grads: model.grads,
    zeroGrad: () => model.zeroGrad(),
    batchLoss: (batch, opts: { train: boolean; rng: Rng }) => model.forward(batch, opts),
    batchBackward: () => model.backward(),
    lengthOf: (e) => e.source.length * 1000 + e.target.length, // bucket by source, then target length
  };
}

export interface DecodeOptions { beam: number; alpha: number }

/** The output text of one source. */
export function translateText(b: Seq2SeqBundle, source: Int32Array, o: DecodeOptions): string {
  const best = b.model.translate(source, { width: o.beam, alpha: o.alpha, maxLength: 3 * source.length + 10 })[0]!;
  return detokenize(b.target.decode(best.tokens), b.targetTokenizer.units);
}

export interface TranslationScores {
  bleu: number;        // corpus BLEU-4, 0..100
  exactMatch: number;  // fraction of outputs equal to their reference
  tokenErrorRate: number;
  loss: number;        // teacher-forced mean cross-entropy per target token
  hypotheses: string[];
}

/** Decodes every source of `examples` (made from `pairs`, same order) and scores the outputs. */
export function evaluateTranslation(b: Seq2SeqBundle, pairs: readonly Pair[], examples: readonly Seq2SeqExample[], o: DecodeOptions,
  onProgress?: (done: number) => void): TranslationScores {
  const hypotheses: string[] = [];
  examples.forEach((e, i) => { hypotheses.push(translateText(b, e.source, o)); onProgress?.(i + 1); });
  // references as the tokenizer sees them (not through the vocabulary: an unknown word must count as missed)
  const refs = pairs.map((p) => detokenize(tokenize(p.target, b.targetTokenizer), b.targetTokenizer.units));
  let loss = 0, count = 0;
  for (let s = 0; s < examples.length; s += 64) { const r = b.model.forward(examples.slice(s, s + 64)); loss += r.loss; count += r.count; }
  const toks = (s: string) => tokenize(s, { units: b.targetTokenizer.units, lowercase: false });
  return {
    bleu: sacreBleu(hypotheses, refs).bleu,
    exactMatch: hypotheses.filter((h, i) => h === refs[i]).length / Math.max(1, hypotheses.length),
    tokenErrorRate: tokenErrorRate(hypotheses.map(toks), refs.map(toks)),
    loss: loss / Math.max(1, count),
    hypotheses,
  };
}

/** The attention of an output on its source as an SVG heat map (rows: output tokens and </s>, columns: source tokens). */
export function attentionMap(b: Seq2SeqBundle, source: string, output: string): { svg: string; weights: Float32Array } {
  const src = tokenize(source, b.sourceTokenizer), tgt = tokenize(output, b.targetTokenizer);
  const weights = b.model.alignment(b.source.encode(src, 'source'), b.target.encode(tgt, 'output'));
  return { svg: heatmap([...tgt, EOS], src, weights, { title: `${source}  ->  ${output}`, values: true }), weights };
}
