// rnnkit checkpoints (docs/checkpoint-format.md): one safetensors file holding a model's
// tensors by name, with string metadata: format = "rnnkit/1", kind (the model kind;
// absent means "charlm", as in the reference checkpoints), config (JSON), and what
// the kind needs besides (vocabularies, labels, tokenizers). Training state rides along
// as tensors prefixed `optim.` / `train.` and a `train` metadata entry, which readers
// of the model ignore. This layer knows no model: the models register their codecs
// (models/checkpoints.ts).
import type { ParamSet, ParamSpec } from '../core/params.js';
import { UserError } from '../core/errors.js';
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from './safetensors.js';

export const FORMAT = 'rnnkit/1';

export interface ParsedCheckpoint {
  source: string;
  kind: string;
  metadata: Record<string, string>;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** A one-line UserError naming the file. */
  fail(why: string): never;
  /** A metadata entry parsed as JSON (missing or malformed: fail). */
  json(key: string): unknown;
}

const MAX_REASON = 300;

/**
 * A reason that quotes a file's strings, made one line and short: control characters
 * and line separators escaped as in JSON, and at most MAX_REASON characters.
 */
export function oneLine(why: string): string {
  const s = why.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));
  return s.length > MAX_REASON ? `${s.slice(0, MAX_REASON - 3)}...` : s;
}

/** Parses the container and the common metadata; the kind's codec reads the rest. */
export function parseCheckpoint(bytes: Uint8Array, source: string): ParsedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const fail = (why: string): never => { throw new UserError(`${source}: ${oneLine(why)}`); };
  const format = metadata['format'];
  if (format === undefined) fail('not an rnnkit checkpoint (no "format" metadata)');
  if (format !== FORMAT) fail(`checkpoint format '${format}' is not supported (this rnnkit reads '${FORMAT}')`);
  const json = (key: string): unknown => {
    const text = metadata[key];
    if (text === undefined) fail(`"${key}" metadata is missing`);
    try {
      return JSON.parse(text!);
    } catch {
      return fail(`"${key}" metadata is not valid JSON`);
    }
  };
  return { source, kind: metadata['kind'] ?? 'charlm', metadata, tensors, fail, json };
}

/** Every tensor the specs name is in the file with that shape and finite values. Allocates nothing. */
function checkTensors(ck: ParsedCheckpoint, specs: readonly ParamSpec[]): void {
  for (const s of specs) {
    const t = ck.tensors.get(s.name);
    if (!t) ck.fail(`tensor '${s.name}' is missing`);
    if (t!.shape.join(',') !== s.shape.join(',')) ck.fail(`tensor '${s.name}' has shape [${t!.shape}], expected [${s.shape}]`);
    const d = t!.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) ck.fail(`tensor '${s.name}' contains NaN or infinite values`);
  }
}

/** How a kind's codec turns a config into a model: validate (pure), list its tensors (pure), allocate. */
export interface ModelCodec<C extends { num_layers: number }, M extends { params: ParamSet }> {
  config(raw: Record<string, unknown>): C;
  specs(config: C): ParamSpec[];
  make(config: C): M;
}

/**
 * The model a checkpoint's config describes, with its weights. Nothing is sized from the
 * file before the file is known to hold it: the config is validated, its layer count
 * bounded by the file's tensor count (the tensor list is built per layer), and every
 * tensor it implies checked present with its shape; only then is the model allocated,
 * so it is never larger than the file's own data.
 */
export function buildModel<C extends { num_layers: number }, M extends { params: ParamSet }>(ck: ParsedCheckpoint, codec: ModelCodec<C, M>): M {
  const raw = ck.json('config');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) ck.fail('config metadata is not a JSON object');
  let config: C;
  try {
    config = codec.config(raw as Record<string, unknown>);
  } catch (e) {
    return ck.fail(`bad config: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (config.num_layers > ck.tensors.size) ck.fail(`config.num_layers is ${config.num_layers} but the file holds only ${ck.tensors.size} tensors`);
  checkTensors(ck, codec.specs(config));
  const model = codec.make(config);
  for (const v of model.params.views) v.data.set(ck.tensors.get(v.name)!.data);
  return model;
}

/** The checkpoint's tensors that are not model parameters (training state). */
export function extraTensors(ck: ParsedCheckpoint, params: ParamSet): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map([...ck.tensors].filter(([name]) => !params.view(name)));
}

/** Checkpoint bytes: the model's tensors, then extra ones; metadata beyond format/kind/config as given. */
export function encodeModel(kind: string, params: ParamSet, config: object, metadata: Record<string, string>, extra: TensorEntry[] = []): Uint8Array {
  const tensors: TensorEntry[] = params.views.map((v) => ({ name: v.name, shape: v.shape, data: toF32(v.data) }));
  return encodeSafetensors([...tensors, ...extra], { ...metadata, format: FORMAT, kind, config: JSON.stringify(config) });
}

function toF32(a: Float32Array | Float64Array): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}
