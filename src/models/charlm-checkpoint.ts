// Character LM checkpoints: the reference CharLM's state_dict with metadata config and
// vocab (JSON array, id -> character), readable by the PyTorch reference reader.
import { CharLM, charLMParamSpecs, normalizeConfig, type CharLMConfig } from './char-lm.js';
import { Vocab } from '../data/vocab.js';
import type { TensorEntry } from '../io/safetensors.js';
import { buildModel, encodeModel, extraTensors, parseCheckpoint, type ModelCodec, type ParsedCheckpoint } from '../io/checkpoint.js';

export interface DecodedCheckpoint {
  model: CharLM;
  vocab: Vocab;
  /** Tensors beyond the model's (optimizer moments, carried state, ...). */
  extra: Map<string, { shape: number[]; data: Float32Array }>;
  metadata: Record<string, string>;
}

export function encodeCheckpoint(model: CharLM, vocab: Vocab, extra: TensorEntry[] = [], metadata: Record<string, string> = {}): Uint8Array {
  return encodeModel('charlm', model.params, model.config, { ...metadata, vocab: JSON.stringify(vocab.chars) }, extra);
}

const CODEC: ModelCodec<CharLMConfig, CharLM> = {
  config: (raw) => normalizeConfig(raw as Partial<CharLMConfig> & { vocab_size: number }),
  specs: charLMParamSpecs,
  make: (c) => new CharLM(c),
};

/** Reads a charlm checkpoint already parsed. */
export function readCharLM(ck: ParsedCheckpoint): DecodedCheckpoint {
  const chars = ck.json('vocab');
  if (!Array.isArray(chars) || !chars.every((c) => typeof c === 'string')) ck.fail('vocab metadata is not a JSON array of strings');
  let vocab: Vocab;
  try {
    vocab = new Vocab(chars as string[]);
  } catch (e) {
    return ck.fail(`bad vocab: ${(e as Error).message}`);
  }
  const model = buildModel(ck, CODEC);
  if (vocab.size !== model.config.vocab_size) ck.fail(`vocab has ${vocab.size} entries but config.vocab_size is ${model.config.vocab_size}`);
  return { model, vocab, extra: extraTensors(ck, model.params), metadata: ck.metadata };
}

/** Parses and validates a character-LM checkpoint; every problem is a one-line UserError naming source. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): DecodedCheckpoint {
  const ck = parseCheckpoint(bytes, source);
  if (ck.kind !== 'charlm') ck.fail(`is a ${ck.kind} checkpoint, not a character language model`);
  return readCharLM(ck);
}
