// Classifier checkpoints: kind "classifier", the model's tensors (docs/models.md),
// metadata labels (JSON array, class id -> label), and for token input vocab (JSON
// array, id -> token) and tokenizer (JSON {units, lowercase}).
import { Classifier, classifierConfig, classifierParamSpecs, type ClassifierConfig } from './classifier.js';
import { TokenVocab, UNITS, type Tokenizer } from '../data/tokens.js';
import type { TensorEntry } from '../io/safetensors.js';
import { buildModel, encodeModel, type ModelCodec, type ParsedCheckpoint } from '../io/checkpoint.js';

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

const CODEC: ModelCodec<ClassifierConfig, Classifier> = {
  config: (raw) => classifierConfig(raw as Partial<ClassifierConfig> & Pick<ClassifierConfig, 'num_classes'>),
  specs: classifierParamSpecs,
  make: (c) => new Classifier(c),
};

export function readClassifier(ck: ParsedCheckpoint): ClassifierBundle {
  const labels = names(ck, 'labels');
  const model = buildModel(ck, CODEC);
  if (labels.length !== model.config.num_classes) ck.fail(`labels has ${labels.length} entries but config.num_classes is ${model.config.num_classes}`);
  let vocab: TokenVocab | null = null, tokenizer: Tokenizer | null = null;
  if (model.config.input === 'tokens') {
    vocab = readVocab(ck, 'vocab', model.config.vocab_size);
    tokenizer = readTokenizer(ck, 'tokenizer');
  }
  return { model, labels, vocab, tokenizer };
}

export function stringArray(ck: ParsedCheckpoint, key: string): string[] {
  const a = ck.json(key);
  if (!Array.isArray(a) || !a.every((s) => typeof s === 'string')) ck.fail(`${key} metadata is not a JSON array of strings`);
  return a as string[];
}

/** Labels or tags: distinct strings (an evaluation file names them). */
export function names(ck: ParsedCheckpoint, key: string): string[] {
  const a = stringArray(ck, key), seen = new Set<string>();
  for (const s of a) {
    if (seen.has(s)) ck.fail(`${key} metadata lists ${JSON.stringify(s)} twice`);
    seen.add(s);
  }
  return a;
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
  if (typeof t !== 'object' || t === null || !UNITS.includes(t.units!) || typeof t.lowercase !== 'boolean') ck.fail(`${key} metadata must be {"units": "chars"|"words", "lowercase": true|false}`);
  return { units: t!.units!, lowercase: t!.lowercase! };
}
