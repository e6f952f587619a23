// Training on examples (classification, tagging, translation, images read as
// sequences): epochs of shuffled mini-batches, bucketed by length so a batch wastes
// little on padding-free packing, validation after every epoch, early stopping on the
// best validation score, and a position a resumed run continues from exactly.
//
// An epoch's batches follow from (seed, epoch) alone: shuffle every example, cut the
// shuffled list into windows of `bucketWindow` batches, sort each window by length,
// cut it into batches, shuffle the batches. So a snapshot needs only the epoch, the
// batch position within it, the optimizer state and the dropout RNG.
import type { ParamSet } from '../core/params.js';
import { Rng, type RngState } from '../core/rng.js';
import { UserError } from '../core/errors.js';
import type { TensorEntry } from '../io/safetensors.js';
import { DEFAULT_UPDATE, Updater, type UpdateConfig } from './update.js';
import { FaultGuard, validateDuringTraining, type Fault, type FaultState } from './faults.js';

/** A model trained on batches of examples of type E. */
export interface ExampleModel<E> {
  readonly params: ParamSet;
  readonly grads: ParamSet;
  zeroGrad(): void;
  /** Summed loss of a batch and the number of terms it sums (its mean is loss / count). */
  batchLoss(batch: readonly E[], opts: { train: boolean; rng: Rng }): { loss: number; count: number };
  /** Accumulates the gradient of the mean loss of the last batchLoss. */
  batchBackward(): void;
}

export interface ExampleTrainConfig extends UpdateConfig {
  batch: number;    // examples per update
  epochs: number;
  patience: number; // stop after this many epochs without a better validation score; 0 = never
  bucket: boolean;  // batch examples of similar length together
  seed: number;
}

export const DEFAULT_EXAMPLE_TRAIN: ExampleTrainConfig = { ...DEFAULT_UPDATE, lr: 1e-3, batch: 32, epochs: 10, patience: 0, bucket: true, seed: 1 };

const BUCKET_WINDOW = 50; // batches sorted together

/** fault: set when the step was skipped (faults.policy.onFault 'skip'): no update. */
export interface ExampleStep { loss: number; gradNorm: number; clipped: boolean; lr: number; examples: number; fault: Fault | null }

export interface ExampleTrainerMeta {
  config: ExampleTrainConfig;
  epoch: number; pos: number; step: number; lr: number; optimizerSteps: number;
  rng: { s: RngState; spare: number | null };
  best: number | null; bestEpoch: number; sinceBest: number;
  faults?: FaultState; // absent in checkpoints from before it was kept
}

export class ExampleTrainer<E> {
  readonly cfg: ExampleTrainConfig;
  readonly updater: Updater;
  readonly rng: Rng; // dropout
  epoch = 0;  // completed epochs
  pos = 0;    // next batch of the epoch
  step = 0;   // updates done
  best = -Infinity; bestEpoch = 0; sinceBest = 0; // validation score (higher is better)
  /** Numerical faults: set faults.setPolicy({ onFault: 'skip', spike }) to skip faulty steps (default: stop the run). */
  readonly faults = new FaultGuard();
  private plan: number[][];
  private lengths: Int32Array; // lengthOf each example, once (the sorts would call it millions of times)

  constructor(readonly model: ExampleModel<E>, readonly examples: readonly E[], readonly lengthOf: (e: E) => number, cfg: Partial<ExampleTrainConfig> = {}) {
    this.cfg = { ...DEFAULT_EXAMPLE_TRAIN, ...cfg };
    const c = this.cfg;
    for (const k of ['batch', 'epochs'] as const) if (!Number.isInteger(c[k]) || c[k] < 1) throw new UserError(`${k} must be a positive integer, got ${c[k]}`);
    if (!Number.isInteger(c.patience) || c.patience < 0) throw new UserError(`patience must be a non-negative integer, got ${c.patience}`);
    if (examples.length === 0) throw new UserError('no training examples');
    this.updater = new Updater(model.params, c);
    this.rng = new Rng(c.seed ^ 0x5eed);
    this.lengths = Int32Array.from(examples, lengthOf);
    this.plan = this.batchesOf(0);
  }

  get batchesPerEpoch(): number {
    return this.plan.length;
  }

  /** Fractional epochs done, for display. */
  get epochs(): number {
    return this.epoch + this.pos / this.plan.length;
  }

  get lr(): number {
    return this.updater.lr;
  }

  /** The batches of an epoch: index lists into examples. */
  batchesOf(epoch: number): number[][] {
    const n = this.examples.length, B = this.cfg.batch, rng = new Rng((this.cfg.seed * 1000003 + epoch * 7919) >>> 0);
    const order = shuffled(n, rng), batches: number[][] = [], lengths = this.lengths;
    const window = this.cfg.bucket ? B * BUCKET_WINDOW : n;
    for (let w = 0; w < n; w += window) {
      const part = order.slice(w, w + window);
      if (this.cfg.bucket) part.sort((a, b) => lengths[a]! - lengths[b]! || a - b);
      for (let s = 0; s < part.length; s += B) batches.push(part.slice(s, s + B));
    }
    if (this.cfg.bucket) {
      const perm = shuffled(batches.length, rng);
      return perm.map((i) => batches[i]!);
    }
    return batches;
  }

  /** One update on the next batch of the epoch. */
  trainStep(): ExampleStep {
    if (this.pos >= this.plan.length) throw new Error('trainStep: the epoch is over (call endEpoch)');
    const batch = this.plan[this.pos]!.map((i) => this.examples[i]!);
    this.model.zeroGrad();
    const r = this.model.batchLoss(batch, { train: true, rng: this.rng });
    const { params, grads } = this.model, loss = r.loss / r.count, step = this.step + 1, faults = this.faults;
    const { fault, norm, clipped, lr } = faults.update(step, loss, params, grads, this.updater, () => this.model.batchBackward());
    this.step++; this.pos++;
    return { loss, gradNorm: norm, clipped, lr, examples: batch.length, fault };
  }

  endEpoch(): void {
    this.epoch++;
    this.pos = 0;
    this.updater.endEpoch(this.epoch);
    this.plan = this.batchesOf(this.epoch);
  }

  /** Records the validation score of the epoch just ended; true when it is the best so far. */
  recordScore(score: number): boolean {
    if (score > this.best) { this.best = score; this.bestEpoch = this.epoch; this.sinceBest = 0; return true; }
    this.sinceBest++;
    return false;
  }

  snapshot(): { tensors: TensorEntry[]; meta: ExampleTrainerMeta } {
    return {
      tensors: this.updater.tensors(),
      meta: {
        config: this.cfg, epoch: this.epoch, pos: this.pos, step: this.step, lr: this.updater.lr, optimizerSteps: this.updater.opt.t,
        rng: this.rng.getState(), best: Number.isFinite(this.best) ? this.best : null, bestEpoch: this.bestEpoch, sinceBest: this.sinceBest,
        faults: this.faults.state(),
      },
    };
  }

  restore(tensors: Map<string, { shape: number[]; data: Float32Array }>, meta: ExampleTrainerMeta): void {
    this.updater.restore(tensors, meta.lr, meta.optimizerSteps);
    this.epoch = meta.epoch; this.step = meta.step;
    this.plan = this.batchesOf(this.epoch);
    if (!(meta.pos >= 0 && meta.pos <= this.plan.length)) throw new UserError('cannot resume: the batch position is past the end of this training set');
    this.pos = meta.pos;
    this.best = meta.best ?? -Infinity; this.bestEpoch = meta.bestEpoch; this.sinceBest = meta.sinceBest;
    this.faults.restore(meta.faults);
    this.rng.setState(meta.rng);
  }
}

function shuffled(n: number, rng: Rng): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!; a[i] = a[j]!; a[j] = t;
  }
  return a;
}

// ---- the loop ----

export interface ValidationReport {
  score: number;            // higher is better: early stopping and the best checkpoint follow it
  loss: number;             // mean loss on the validation set (NaN when not computed)
  metrics: Record<string, number>;
}

export interface EpochReport extends ValidationReport {
  epoch: number;            // epochs completed
  step: number;
  trainLoss: number;        // mean training loss since the previous report
  best: boolean;
}

export interface ExampleRunOptions {
  /** Scores the model on validation data after each epoch (and when time runs out). */
  validate: () => ValidationReport;
  timeLimit?: number;       // seconds; 0 = none
}

export interface ExampleRunHooks<E> {
  onStep?(r: ExampleStep, t: ExampleTrainer<E>): void;
  /** After each validation; awaited, so it can write checkpoints. */
  onEpoch?(r: EpochReport, t: ExampleTrainer<E>): void | Promise<void>;
  /** Polled after every step; true ends the run (mid-epoch: the position is kept). */
  shouldStop?(): boolean;
}

export type ExampleStopReason = 'epochs' | 'early' | 'time' | 'stopped';

const tick = () => new Promise<void>((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * Trains until the configured epochs are done, patience runs out, time is up or
 * shouldStop. A run stopped by time is validated first (the last weights may be the best).
 */
export async function runExampleTraining<E>(t: ExampleTrainer<E>, o: ExampleRunOptions, hooks: ExampleRunHooks<E> = {}): Promise<ExampleStopReason> {
  const start = Date.now(), limit = (o.timeLimit ?? 0) * 1000;
  let sum = 0, n = 0;
  const report = async () => {
    const v = validateDuringTraining(`at step ${t.step}`, o.validate);
    const best = t.recordScore(v.score);
    await hooks.onEpoch?.({ ...v, epoch: t.epoch, step: t.step, trainLoss: n ? sum / n : NaN, best }, t);
    sum = 0; n = 0;
  };
  const patienceOut = () => t.cfg.patience > 0 && t.sinceBest >= t.cfg.patience;
  // resumed from the checkpoint an early stop wrote last: the run is over, as it was then
  if (t.pos === 0 && patienceOut()) return 'early';
  while (t.epoch < t.cfg.epochs) {
    while (t.pos < t.batchesPerEpoch) {
      const r = t.trainStep();
      if (!r.fault) { sum += r.loss; n++; } // a skipped step's loss is not training's
      hooks.onStep?.(r, t);
      if (limit > 0 && Date.now() - start >= limit) { await report(); return 'time'; }
      await tick(); // lets signals (Ctrl-C) and UI events in
      if (hooks.shouldStop?.()) return 'stopped';
    }
    t.endEpoch();
    await report();
    if (patienceOut()) return 'early';
  }
  return 'epochs';
}
