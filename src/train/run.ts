// The training loop, as pseudo-code:
//   repeat until steps done, time up or stopped:
//     train one chunk; report progress
//     every evalEvery steps: validation loss, sample, hand checkpoints to the caller
// Environment-free: the caller (CLI, web page) does printing and file writes in hooks.
import type { Trainer, StepResult } from './trainer.js';
import type { CharLM } from '../models/char-lm.js';
import type { Vocab } from '../data/vocab.js';
import type { TokenIds } from '../data/token-ids.js';
import { streamLoss } from '../models/lm-loss.js';
import { generate, nonFiniteError } from '../models/sample.js';
import { Rng } from '../core/rng.js';
import { validateDuringTraining } from './faults.js';

export interface RunOptions {
  steps: number;          // stop when trainer.step reaches this
  evalEvery: number;      // steps between evaluations (and checkpoints)
  sampleLength: number;   // characters sampled at each evaluation (0 = none)
  timeLimit: number;      // seconds; 0 = none
}

export interface EvalReport {
  step: number;
  epochs: number;
  trainLoss: number;      // mean training loss since the previous evaluation (of the steps not skipped; NaN: none)
  valLoss: number;        // NaN without validation data
  best: boolean;          // valLoss improved on every earlier one
  sample: string;
}

export interface RunHooks {
  onStep?(r: StepResult, t: Trainer<CharLM>): void;
  /** Called after each evaluation; awaited, so it can write checkpoints. */
  onEval?(e: EvalReport, t: Trainer<CharLM>): void | Promise<void>;
  /** Polled every step; true ends the run after the current step. */
  shouldStop?(): boolean;
}

export type StopReason = 'steps' | 'time' | 'stopped';

const tick = () => new Promise<void>((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

export async function runTraining(t: Trainer<CharLM>, valIds: TokenIds, vocab: Vocab, opts: RunOptions, hooks: RunHooks = {}): Promise<StopReason> {
  const start = Date.now();
  let sum = 0, n = 0;
  while (t.step < opts.steps) {
    const r = t.trainStep();
    if (!r.fault) { sum += r.loss; n++; } // a skipped step's loss is not training's
    hooks.onStep?.(r, t);
    const timeUp = opts.timeLimit > 0 && Date.now() - start >= opts.timeLimit * 1000;
    if (t.step % opts.evalEvery === 0 || t.step === opts.steps || timeUp) {
      await hooks.onEval?.(evaluate(t, valIds, vocab, opts, sum / n), t);
      sum = 0; n = 0;
    }
    if (timeUp) return 'time';
    await tick(); // lets signals (Ctrl-C) and UI events in
    if (hooks.shouldStop?.()) return 'stopped';
  }
  return 'steps';
}

function evaluate(t: Trainer<CharLM>, valIds: TokenIds, vocab: Vocab, opts: RunOptions, trainLoss: number): EvalReport {
  return validateDuringTraining(`at step ${t.step}`, () => evaluateNow(t, valIds, vocab, opts, trainLoss));
}

function evaluateNow(t: Trainer<CharLM>, valIds: TokenIds, vocab: Vocab, opts: RunOptions, trainLoss: number): EvalReport {
  const valLoss = valIds.length > 1 ? streamLoss(t.model, valIds, t.cfg.batch, t.cfg.seq) : NaN;
  if (valIds.length > 1 && !Number.isFinite(valLoss)) throw nonFiniteError('on the validation text');
  const best = valLoss < t.bestVal;
  if (best) t.bestVal = valLoss;
  let sample = '';
  if (opts.sampleLength > 0) {
    // its own RNG, derived from the step, so sampling never shifts the training RNG
    for (const ch of generate(t.model, vocab, { length: opts.sampleLength, temperature: 0.8, rng: new Rng(t.cfg.seed * 7919 + t.step) })) sample += ch;
  }
  return { step: t.step, epochs: t.epochs, trainLoss, valLoss, best, sample };
}
