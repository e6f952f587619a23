// rnnkit checkpoints (docs/checkpoint-format.md): one safetensors file holding a model's
// tensors by name, with string metadata: format = "rnnkit/1", kind (the model kind;
// absent means "charlm", as in the reference checkpoints), config (JSON), and what
// the kind needs besides (vocabularies, labels, tokenizers). Training state rides along
// as tensors prefixed `optim.` / `train.` and a `train` metadata entry, which readers
// of the model ignore. This layer knows no model: the models register their codecs
// (models/checkpoints.ts).
import type { ParamSet } from '../core/params.js';
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

/** Parses the container and the common metadata; the kind's codec reads the rest. */
export function parseCheckpoint(bytes: Uint8Array, source: string): ParsedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const fail = (why: string): never => { throw new UserError(`${source}: ${why}`); };
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

/** Fills params from the checkpoint: every tensor present, of its shape, finite. */
export function readParams(ck: ParsedCheckpoint, params: ParamSet): void {
  for (const v of params.views) {
    const t = ck.tensors.get(v.name);
    if (!t) ck.fail(`tensor '${v.name}' is missing`);
    if (t!.shape.join(',') !== v.shape.join(',')) ck.fail(`tensor '${v.name}' has shape [${t!.shape}], expected [${v.shape}]`);
    const d = t!.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) ck.fail(`tensor '${v.name}' contains NaN or infinite values`);
    v.data.set(d);
  }
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
