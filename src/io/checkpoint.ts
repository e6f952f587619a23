// rnnkit checkpoints (docs/checkpoint-format.md): one safetensors file whose tensors
// are exactly the reference CharLM's state_dict, with metadata format = "rnnkit/1",
// config (JSON) and vocab (JSON array, id -> character). Training state rides along
// as tensors prefixed `optim.` / `train.` and a `train` metadata entry, which the
// reference reader ignores.
import { CharLM, type CharLMConfig } from '../models/char-lm.js';
import { Vocab } from '../data/vocab.js';
import { UserError } from '../core/errors.js';
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from './safetensors.js';

export const FORMAT = 'rnnkit/1';

export interface DecodedCheckpoint {
  model: CharLM;
  vocab: Vocab;
  /** Tensors beyond the model's (optimizer moments, carried state, ...). */
  extra: Map<string, { shape: number[]; data: Float32Array }>;
  metadata: Record<string, string>;
}

export function encodeCheckpoint(model: CharLM, vocab: Vocab, extra: TensorEntry[] = [], metadata: Record<string, string> = {}): Uint8Array {
  const tensors: TensorEntry[] = model.params.views.map((v) => ({ name: v.name, shape: v.shape, data: toF32(v.data) }));
  return encodeSafetensors([...tensors, ...extra], {
    ...metadata,
    format: FORMAT,
    config: JSON.stringify(model.config),
    vocab: JSON.stringify(vocab.chars),
  });
}

/** Parses and validates a checkpoint; every problem is a one-line UserError naming source. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const fail = (why: string): never => { throw new UserError(`${source}: ${why}`); };
  const format = metadata['format'];
  if (format === undefined) fail('not an rnnkit checkpoint (no "format" metadata)');
  if (format !== FORMAT) fail(`checkpoint format '${format}' is not supported (this rnnkit reads '${FORMAT}')`);
  const config = parseJson(metadata['config'], 'config', fail) as Partial<CharLMConfig> & { vocab_size: number };
  const chars = parseJson(metadata['vocab'], 'vocab', fail);
  if (!Array.isArray(chars) || !chars.every((c) => typeof c === 'string')) fail('vocab metadata is not a JSON array of strings');
  let model: CharLM, vocab: Vocab;
  try {
    vocab = new Vocab(chars as string[]);
    model = new CharLM(config);
  } catch (e) {
    return fail(`bad config or vocab: ${(e as Error).message}`);
  }
  if (vocab.size !== model.config.vocab_size) fail(`vocab has ${vocab.size} entries but config.vocab_size is ${model.config.vocab_size}`);
  for (const v of model.params.views) {
    const t = tensors.get(v.name);
    if (!t) fail(`tensor '${v.name}' is missing`);
    if (t!.shape.join(',') !== v.shape.join(',')) fail(`tensor '${v.name}' has shape [${t!.shape}], expected [${v.shape}]`);
    const d = t!.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) fail(`tensor '${v.name}' contains NaN or infinite values`);
    v.data.set(d);
  }
  const extra = new Map([...tensors].filter(([name]) => !model.params.view(name)));
  return { model, vocab, extra, metadata };
}

function parseJson(text: string | undefined, key: string, fail: (why: string) => never): unknown {
  if (text === undefined) fail(`"${key}" metadata is missing`);
  try {
    return JSON.parse(text!);
  } catch {
    return fail(`"${key}" metadata is not valid JSON`);
  }
}

function toF32(a: Float32Array | Float64Array): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}
