// Training a character LM on a text from code, in one call.
import { LanguageModel } from '../models/language-model.js';
import type { CharLM, CharLMConfig } from '../models/char-lm.js';
import { Trainer, type TrainConfig } from './trainer.js';
import { ensureBackend } from '../backend/init.js';
import { runTraining, type RunHooks, type StopReason } from './run.js';

/** The 90/5/5 split in order (counted in tokens = code points), as char-rnn does it. */
export function splitText<A extends { length: number; subarray(a: number, b?: number): A }>(ids: A): { train: A; val: A; test: A } {
  const n = ids.length, a = Math.floor(0.9 * n), b = Math.floor(0.95 * n);
  return { train: ids.subarray(0, a), val: ids.subarray(a, b), test: ids.subarray(b) };
}

export interface TrainTextOptions {
  model?: Partial<Omit<CharLMConfig, 'vocab_size'>>;
  train?: Partial<TrainConfig>;
  epochs?: number;        // default 1; ignored when steps is given
  steps?: number;
  evalEvery?: number;     // default 100
  sampleLength?: number;  // default 0
  timeLimit?: number;     // seconds, default none
  hooks?: RunHooks;
  backend?: string;       // compute backend; default: the fastest available (see initBackend)
}

/**
 * Builds the vocabulary from text, splits it 90/5/5, and trains. Returns the model
 * (the final weights), the trainer (for its state) and why training stopped.
 */
export async function trainLanguageModel(text: string, o: TrainTextOptions = {}): Promise<{ model: LanguageModel; trainer: Trainer<CharLM>; stopReason: StopReason }> {
  await ensureBackend(o.backend);
  const model = LanguageModel.create(text, o.model ?? {}, o.train?.seed ?? 1);
  const { train, val } = splitText(model.vocab.encode(text));
  const trainer = new Trainer(model.net, train, o.train ?? {});
  const steps = o.steps ?? Math.max(1, Math.round((o.epochs ?? 1) * trainer.batches.chunksPerEpoch));
  const stopReason = await runTraining(trainer, val, model.vocab,
    { steps, evalEvery: o.evalEvery ?? 100, sampleLength: o.sampleLength ?? 0, timeLimit: o.timeLimit ?? 0 }, o.hooks ?? {});
  return { model, trainer, stopReason };
}
