// A character LM's run checkpoint: the model, its vocabulary, and everything the trainer
// needs to continue exactly (metadata 'train' = RunMeta, extra tensors = optimizer
// slots and carried state). The CLI's latest.safetensors and best.safetensors and the
// playground's downloads are such files; `rnnkit sample` reads only the model part.
import type { LanguageModel } from '../models/language-model.js';
import type { DecodedCheckpoint } from '../models/charlm-checkpoint.js';
import type { CharLM } from '../models/char-lm.js';
import { UserError } from '../core/errors.js';
import { DEFAULT_TRAIN, Trainer, type TrainerMeta } from './trainer.js';
import { splitText } from './train-text.js';
import { faultStateProblem } from './faults.js';
import { isInt, isObject, parseTrainMeta, rngProblem } from './meta-checks.js';
import type { TokenIds } from '../data/token-ids.js';

/**
 * The text a run trained on: enough to tell whether a resumed run got the same one.
 * valChars: validation reads only the first valChars characters of the validation split
 * (absent: all of it), so a resumed run validates on the same characters.
 */
export interface TextInfo { name: string; chars: number; hash: string; valChars?: number }

export interface RunMeta { trainer: TrainerMeta; text: TextInfo }

/** FNV-1a over the token ids (the same hash for the same values in any array type). */
export function fingerprint(ids: TokenIds): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < ids.length; i++) h = Math.imul(h ^ ids[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function textInfo(name: string, ids: TokenIds): TextInfo {
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
  return parseTrainMeta(raw, source, runMetaProblem) as RunMeta;
}

// Bounds on what a run checkpoint may ask the trainer to allocate (B x max(k1, k2) ids).
const MAX_STREAMS = 1 << 16, MAX_STEPS = 1 << 16, MAX_WINDOW = 1 << 26;


/** What is wrong with a parsed 'train' metadata object, or null: checked before the trainer allocates from it. */
function runMetaProblem(m: unknown): string | null {
  if (!isObject(m) || !isObject(m['trainer']) || !isObject(m['text'])) return 'not an object with trainer and text';
  const t = m['trainer'], text = m['text'], c = t['config'];
  if (typeof text['name'] !== 'string' || !isInt(text['chars'], 0, 2 ** 40) || typeof text['hash'] !== 'string') return 'text is not {name, chars, hash}';
  if (text['valChars'] !== undefined && !isInt(text['valChars'], 0, text['chars'])) return 'text.valChars is not an integer up to text.chars';
  for (const k of ['step', 'epoch', 'chunk', 'optimizerSteps']) if (!isInt(t[k], 0, Number.MAX_SAFE_INTEGER)) return `trainer.${k} is not a non-negative integer`;
  if (typeof t['lr'] !== 'number' || !(t['lr'] >= 0 && Number.isFinite(t['lr']))) return 'trainer.lr is not a finite non-negative number';
  if (t['bestVal'] !== null && !(typeof t['bestVal'] === 'number' && Number.isFinite(t['bestVal']))) return 'trainer.bestVal is not a number or null';
  const rng = rngProblem(t['rng'], 'trainer.rng');
  if (rng) return rng;
  const faults = faultStateProblem(t['faults']);
  if (faults) return `trainer.${faults}`;
  if (!isObject(c)) return 'trainer.config is not an object';
  // every option of the trainer, with its default's type (the trainer checks the values' ranges)
  for (const [k, def] of Object.entries(DEFAULT_TRAIN)) {
    const v = c[k];
    if (typeof def === 'number' ? !(typeof v === 'number' && Number.isFinite(v)) : typeof v !== typeof def) return `trainer.config.${k} is not a ${typeof def === 'number' ? 'finite number' : typeof def}`;
  }
  if (!isInt(c['batch'], 1, MAX_STREAMS) || !isInt(c['seq'], 1, MAX_STEPS) || !isInt(c['bptt'], 0, MAX_STEPS)) return `batch, seq and bptt must be integers up to ${MAX_STEPS}`;
  if ((c['batch'] as number) * Math.max(c['seq'] as number, c['bptt'] as number) > MAX_WINDOW) return `batch x steps is over ${MAX_WINDOW}`;
  return null;
}

/**
 * A trainer that continues the run saved in ck on ids (the whole text, encoded with the
 * checkpoint's vocabulary), after checking that ids is the text it was trained on.
 */
export function resumeTrainer(model: CharLM, ck: Pick<DecodedCheckpoint, 'extra'>, meta: RunMeta, ids: TokenIds, textName: string): Trainer<CharLM> {
  const info = textInfo(textName, ids);
  if (info.chars !== meta.text.chars || info.hash !== meta.text.hash) {
    throw new UserError(`${textName}: not the text this checkpoint was trained on (${meta.text.name}, ${meta.text.chars} characters)`);
  }
  const trainer = new Trainer(model, splitText(ids).train, meta.trainer.config);
  trainer.restore(ck.extra, meta.trainer);
  return trainer;
}
