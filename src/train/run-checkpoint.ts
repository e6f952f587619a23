// A character LM's run checkpoint: the model, its vocabulary, and everything the trainer
// needs to continue exactly (metadata 'train' = RunMeta, extra tensors = optimizer
// slots and carried state). The CLI's latest.safetensors and best.safetensors and the
// playground's downloads are such files; `rnnkit sample` reads only the model part.
import type { LanguageModel } from '../models/language-model.js';
import type { DecodedCheckpoint } from '../models/charlm-checkpoint.js';
import type { CharLM } from '../models/char-lm.js';
import { UserError } from '../core/errors.js';
import { Trainer, type TrainerMeta } from './trainer.js';
import { splitText } from './train-text.js';

/** The text a run trained on: enough to tell whether a resumed run got the same one. */
export interface TextInfo { name: string; chars: number; hash: string }

export interface RunMeta { trainer: TrainerMeta; text: TextInfo }

/** FNV-1a over the token ids. */
export function fingerprint(ids: Int32Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < ids.length; i++) h = Math.imul(h ^ ids[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function textInfo(name: string, ids: Int32Array): TextInfo {
  return { name, chars: ids.length, hash: fingerprint(ids) };
}

/** Checkpoint bytes of a run: the model and the trainer's state. */
export function encodeRun(lm: LanguageModel, trainer: Trainer<CharLM>, text: TextInfo): Uint8Array {
  const snap = trainer.snapshot();
  const meta: RunMeta = { trainer: snap.meta, text };
  return lm.toBytes(snap.tensors, { train: JSON.stringify(meta) });
}

/** The run state in a decoded checkpoint, or null when it holds only model weights. */
export function runMeta(ck: Pick<DecodedCheckpoint, 'metadata'>, source: string): RunMeta | null {
  const raw = ck.metadata['train'];
  if (!raw) return null;
  try {
    const meta = JSON.parse(raw) as RunMeta;
    if (typeof meta?.trainer?.step === 'number' && typeof meta.text?.hash === 'string') return meta;
  } catch { /* reported below */ }
  throw new UserError(`${source}: the checkpoint's training state ('train' metadata) is not valid JSON of a run`);
}

/**
 * A trainer that continues the run saved in ck on ids (the whole text, encoded with the
 * checkpoint's vocabulary), after checking that ids is the text it was trained on.
 */
export function resumeTrainer(model: CharLM, ck: Pick<DecodedCheckpoint, 'extra'>, meta: RunMeta, ids: Int32Array, textName: string): Trainer<CharLM> {
  const info = textInfo(textName, ids);
  if (info.chars !== meta.text.chars || info.hash !== meta.text.hash) {
    throw new UserError(`${textName}: not the text this checkpoint was trained on (${meta.text.name}, ${meta.text.chars} characters)`);
  }
  const trainer = new Trainer(model, splitText(ids).train, meta.trainer.config);
  trainer.restore(ck.extra, meta.trainer);
  return trainer;
}
