// Reading any rnnkit checkpoint: the kind in its metadata picks the codec.
import { UserError } from '../core/errors.js';
import { parseCheckpoint, type ParsedCheckpoint } from '../io/checkpoint.js';
import { readCharLM, type DecodedCheckpoint } from './charlm-checkpoint.js';
import { readClassifier, type ClassifierBundle } from './classifier-checkpoint.js';
import { readGenerator, readSeq2Seq, readTagger, type GeneratorBundle, type Seq2SeqBundle, type TaggerBundle } from './task-checkpoints.js';

export type LoadedModel =
  | { kind: 'charlm'; charlm: DecodedCheckpoint }
  | { kind: 'classifier'; classifier: ClassifierBundle }
  | { kind: 'tagger'; tagger: TaggerBundle }
  | { kind: 'generator'; generator: GeneratorBundle }
  | { kind: 'seq2seq'; seq2seq: Seq2SeqBundle };

export type ModelKind = LoadedModel['kind'];

const READERS: { [K in ModelKind]: (ck: ParsedCheckpoint) => LoadedModel } = {
  charlm: (ck) => ({ kind: 'charlm', charlm: readCharLM(ck) }),
  classifier: (ck) => ({ kind: 'classifier', classifier: readClassifier(ck) }),
  tagger: (ck) => ({ kind: 'tagger', tagger: readTagger(ck) }),
  generator: (ck) => ({ kind: 'generator', generator: readGenerator(ck) }),
  seq2seq: (ck) => ({ kind: 'seq2seq', seq2seq: readSeq2Seq(ck) }),
};

export const MODEL_KINDS = Object.keys(READERS) as ModelKind[];

export interface ReadModel { loaded: LoadedModel; ck: ParsedCheckpoint }

export function readModel(bytes: Uint8Array, source: string): ReadModel {
  const ck = parseCheckpoint(bytes, source);
  // own keys only: a kind like 'constructor' must not find Object.prototype's
  if (!Object.hasOwn(READERS, ck.kind)) ck.fail(`unknown model kind '${ck.kind}' (this rnnkit reads ${MODEL_KINDS.join(', ')})`);
  return { loaded: READERS[ck.kind as ModelKind](ck), ck };
}

/** The model of the expected kind, or a one-line error saying what the file holds instead. */
export function expectKind<K extends ModelKind>(r: ReadModel, kind: K, command: string): Extract<LoadedModel, { kind: K }> {
  if (r.loaded.kind !== kind) throw new UserError(`${r.ck.source}: is a ${r.loaded.kind} checkpoint; ${command} needs a ${kind} (see rnnkit info ${r.ck.source})`);
  return r.loaded as Extract<LoadedModel, { kind: K }>;
}
