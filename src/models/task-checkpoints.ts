// Checkpoints of the tagger, the generator and seq2seq: kind, the model's tensors
// (docs/models.md) and the vocabularies, tag names and tokenizers as JSON metadata
// (docs/checkpoint-format.md).
import { Tagger, taggerConfig, taggerParamSpecs, type TaggerConfig } from './tagger.js';
import { Generator, generatorConfig, generatorParamSpecs, type GeneratorConfig } from './generator.js';
import { Seq2Seq, seq2seqConfig, seq2seqParamSpecs, type Seq2SeqConfig } from './seq2seq.js';
import type { TokenVocab, Tokenizer } from '../data/tokens.js';
import type { TensorEntry } from '../io/safetensors.js';
import { buildModel, encodeModel, type ModelCodec, type ParsedCheckpoint } from '../io/checkpoint.js';
import { names, readTokenizer, readVocab } from './classifier-checkpoint.js';

// The configs come from files: validated, then sized against the file (buildModel).
type Raw = Record<string, unknown>;
const TAGGER: ModelCodec<TaggerConfig, Tagger> = {
  config: (raw: Raw) => taggerConfig(raw as Partial<TaggerConfig> & Pick<TaggerConfig, 'num_classes'>), specs: taggerParamSpecs, make: (c) => new Tagger(c),
};
const GENERATOR: ModelCodec<GeneratorConfig, Generator> = {
  config: (raw: Raw) => generatorConfig(raw as Partial<GeneratorConfig> & Pick<GeneratorConfig, 'cond_size' | 'output'>), specs: generatorParamSpecs, make: (c) => new Generator(c),
};
const SEQ2SEQ: ModelCodec<Seq2SeqConfig, Seq2Seq> = {
  config: (raw: Raw) => seq2seqConfig(raw as Partial<Seq2SeqConfig> & Pick<Seq2SeqConfig, 'src_vocab_size' | 'tgt_vocab_size'>), specs: seq2seqParamSpecs, make: (c) => new Seq2Seq(c),
};

/** A tagger, its token vocabulary and tokenizer, its tags, and the most frequent tag of each token in training. */
export interface TaggerBundle {
  model: Tagger;
  vocab: TokenVocab;
  tokenizer: Tokenizer;
  tags: string[];
  baseline: Int32Array; // per token id: the tag most often seen with it in training (unseen: the most frequent tag)
}

export function encodeTagger(b: TaggerBundle, extra: TensorEntry[] = [], metadata: Record<string, string> = {}): Uint8Array {
  return encodeModel('tagger', b.model.params, b.model.config, {
    ...metadata, vocab: JSON.stringify(b.vocab.tokens), tokenizer: JSON.stringify(b.tokenizer), tags: JSON.stringify(b.tags),
    baseline: JSON.stringify(Array.from(b.baseline)),
  }, extra);
}

export function readTagger(ck: ParsedCheckpoint): TaggerBundle {
  const tags = names(ck, 'tags'), model = buildModel(ck, TAGGER);
  if (tags.length !== model.config.num_classes) ck.fail(`tags has ${tags.length} entries but config.num_classes is ${model.config.num_classes}`);
  const vocab = readVocab(ck, 'vocab', model.config.vocab_size), tokenizer = readTokenizer(ck, 'tokenizer');
  const base = ck.json('baseline');
  if (!Array.isArray(base) || base.length !== vocab.size || !base.every((t) => Number.isInteger(t) && t >= 0 && t < tags.length)) ck.fail('baseline metadata must list one tag id per vocabulary entry');
  return { model, vocab, tokenizer, tags, baseline: Int32Array.from(base as number[]) };
}

/** A conditioned generator and, for token output, its vocabulary and tokenizer. */
export interface GeneratorBundle { model: Generator; vocab: TokenVocab | null; tokenizer: Tokenizer | null }

export function encodeGenerator(b: GeneratorBundle, extra: TensorEntry[] = [], metadata: Record<string, string> = {}): Uint8Array {
  const meta: Record<string, string> = { ...metadata };
  if (b.vocab) meta['vocab'] = JSON.stringify(b.vocab.tokens);
  if (b.tokenizer) meta['tokenizer'] = JSON.stringify(b.tokenizer);
  return encodeModel('generator', b.model.params, b.model.config, meta, extra);
}

export function readGenerator(ck: ParsedCheckpoint): GeneratorBundle {
  const model = buildModel(ck, GENERATOR);
  const tokens = model.config.output === 'tokens';
  const b: GeneratorBundle = { model, vocab: tokens ? readVocab(ck, 'vocab', model.config.vocab_size) : null, tokenizer: tokens ? readTokenizer(ck, 'tokenizer') : null };
  return b;
}

/** A translation model with both sides' vocabularies and tokenizers. */
export interface Seq2SeqBundle { model: Seq2Seq; source: TokenVocab; target: TokenVocab; sourceTokenizer: Tokenizer; targetTokenizer: Tokenizer }

export function encodeSeq2Seq(b: Seq2SeqBundle, extra: TensorEntry[] = [], metadata: Record<string, string> = {}): Uint8Array {
  return encodeModel('seq2seq', b.model.params, b.model.config, {
    ...metadata, source_vocab: JSON.stringify(b.source.tokens), target_vocab: JSON.stringify(b.target.tokens),
    source_tokenizer: JSON.stringify(b.sourceTokenizer), target_tokenizer: JSON.stringify(b.targetTokenizer),
  }, extra);
}

export function readSeq2Seq(ck: ParsedCheckpoint): Seq2SeqBundle {
  const model = buildModel(ck, SEQ2SEQ);
  const b: Seq2SeqBundle = {
    model, source: readVocab(ck, 'source_vocab', model.config.src_vocab_size), target: readVocab(ck, 'target_vocab', model.config.tgt_vocab_size),
    sourceTokenizer: readTokenizer(ck, 'source_tokenizer'), targetTokenizer: readTokenizer(ck, 'target_tokenizer'),
  };
  return b;
}
