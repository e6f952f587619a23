// Classifier checkpoints: kind "classifier", the model's tensors (docs/models.md),
// metadata labels (JSON array, class id -> label), and for token input vocab (JSON
// array, id -> token) and tokenizer (JSON {units, lowercase}).
import { Classifier, type ClassifierConfig } from './classifier.js';
import { TokenVocab, UNITS, type Tokenizer } from '../data/tokens.js';
import type { TensorEntry } from '../io/safetensors.js';
import { encodeModel, readParams, type ParsedCheckpoint } from '../io/checkpoint.js';

/** A classifier with what turns text into its inputs and its outputs into labels. */
export interface ClassifierBundle {
  model: Classifier;
  labels: string[];
  vocab: TokenVocab | null;     // token input
  tokenizer: Tokenizer | null;  // token input
}

export function encodeClassifier(b: ClassifierBundle, extra: TensorEntry[] = [], metadata: Record<string, string> = {}): Uint8Array {
  const meta: Record<string, string> = { ...metadata, labels: JSON.stringify(b.labels) };
  if (b.vocab) meta['vocab'] = JSON.stringify(b.vocab.tokens);
  if (b.tokenizer) meta['tokenizer'] = JSON.stringify(b.tokenizer);
  return encodeModel('classifier', b.model.params, b.model.config, meta, extra);
}

export function readClassifier(ck: ParsedCheckpoint): ClassifierBundle {
  const config = ck.json('config') as ClassifierConfig;
  const labels = stringArray(ck, 'labels');
  let model: Classifier;
  try {
    model = new Classifier(config);
  } catch (e) {
    return ck.fail(`bad config: ${(e as Error).message}`);
  }
  if (labels.length !== model.config.num_classes) ck.fail(`labels has ${labels.length} entries but config.num_classes is ${model.config.num_classes}`);
  let vocab: TokenVocab | null = null, tokenizer: Tokenizer | null = null;
  if (model.config.input === 'tokens') {
    vocab = readVocab(ck, 'vocab', model.config.vocab_size);
    tokenizer = readTokenizer(ck, 'tokenizer');
  }
  readParams(ck, model.params);
  return { model, labels, vocab, tokenizer };
}

export function stringArray(ck: ParsedCheckpoint, key: string): string[] {
  const a = ck.json(key);
  if (!Array.isArray(a) || !a.every((s) => typeof s === 'string')) ck.fail(`${key} metadata is not a JSON array of strings`);
  return a as string[];
}

export function readVocab(ck: ParsedCheckpoint, key: string, size: number): TokenVocab {
  let v: TokenVocab;
  try {
    v = new TokenVocab(stringArray(ck, key));
  } catch (e) {
    return ck.fail(`${key}: ${(e as Error).message}`);
  }
  if (v.size !== size) ck.fail(`${key} has ${v.size} entries but the model's vocabulary size is ${size}`);
  return v;
}

export function readTokenizer(ck: ParsedCheckpoint, key: string): Tokenizer {
  const t = ck.json(key) as Partial<Tokenizer> | null;
  if (!t || !UNITS.includes(t.units!) || typeof t.lowercase !== 'boolean') ck.fail(`${key} metadata must be {"units": "chars"|"words", "lowercase": true|false}`);
  return { units: t!.units!, lowercase: t!.lowercase! };
}
