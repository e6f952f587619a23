// One training update of a character LM over B parallel streams: forward -> backward
// -> clip -> update, checked for numerical faults before the update (faults.ts: the
// step stops the run, or is skipped with the carried state put back). Also holds
// everything a resumed run needs to continue exactly: optimizer slots, RNG, data
// position, carried state, learning rate and the fault counts.
//
// Truncated BPTT(k1, k2), k1 = cfg.seq, k2 = cfg.bptt (0 = k1): Williams & Peng's
// BPTT(h; h') with h' = k1, h = k2. The streams advance k1 steps per update and the
// hidden state is carried forward, reset (model.resetState) only where the streams wrap
// at the end of an epoch. Update u of an epoch ends at step e = (u+1)*k1 and:
//   window  = steps [max(0, e-k2), e): run forward and backpropagated through;
//   counted = its last min(k1, k2) steps (the ones new since the previous update): the
//             loss is their mean cross-entropy; the window's earlier steps get target -1,
//             so they only carry gradient back. With k2 >= k1 every loss term is used once.
//   k2 < k1: steps [e-k1, e-k2) run forward only first (no targets, no gradient).
//   k2 > k1: the window re-runs the k2-k1 steps before the new ones from the state saved
//            at its start after the previous update's forward (model.stateAt), i.e.
//            computed with the parameters of that time, as in any TBPTT.
// The carried state is always the one where the next update's first forward starts:
// step max(0, min(u*k1, e-k2)) for update u. k1 = k2 is char-rnn's chunked TBPTT, and
// (n, n) with n = the stream length is full BPTT over whole sequences.
//
// Inputs (cfg.feed): teacher forcing (the true previous token), free running (the
// model's own sample of the previous step, for every step of a forward after its first)
// or scheduled sampling (each input fed back with probability p(i) after i updates,
// see schedule.ts). The targets are always the true next tokens.
import type { BackwardOptions, ForwardOptions, RecurrentState } from '../models/char-lm.js';
import type { ParamSet } from '../core/params.js';
import { Rng, type RngState } from '../core/rng.js';
import { UserError } from '../core/errors.js';
import { StreamBatches } from '../data/batches.js';
import type { TokenIds } from '../data/token-ids.js';
import type { TensorEntry } from '../io/safetensors.js';
import type { Optimizer } from './optim.js';
import { DEFAULT_UPDATE, NonFiniteError, Updater, f32, restoreTensor, type UpdateConfig } from './update.js';
import { SCHEDULES, scheduledProbability, type ScheduleName } from './schedule.js';
import { FaultGuard, overflowSite, type Fault, type FaultState } from './faults.js';

export { NonFiniteError };

export type FeedMode = 'teacher' | 'free' | 'scheduled';
export const FEED_MODES: readonly FeedMode[] = ['teacher', 'free', 'scheduled'];

export interface TrainConfig extends UpdateConfig {
  batch: number;         // B parallel streams
  seq: number;           // k1: steps the streams advance per update
  bptt: number;          // k2: steps each update backpropagates through; 0 = seq
  feed: FeedMode;        // inputs: true tokens, own samples, or a schedule between them
  schedule: ScheduleName; // feed 'scheduled': how p rises with the update count
  scheduleSteps: number; // updates where p reaches 1/2 (linear: 1)
  feedMax: number;       // feed 'scheduled': p never exceeds this
  pascanu: number;       // weight of Pascanu et al.'s gradient-norm regularizer (vanilla RNNs); 0 = off
  seed: number;          // weights, dropout and data order all follow from it
}

export const DEFAULT_TRAIN: TrainConfig = {
  batch: 32, seq: 64, bptt: 0, ...DEFAULT_UPDATE,
  feed: 'teacher', schedule: 'linear', scheduleSteps: 10000, feedMax: 1, pascanu: 0, seed: 1,
};

export interface StepResult {
  loss: number;      // mean cross-entropy of the counted steps (nats)
  gradNorm: number;  // global norm before clipping
  clipped: boolean;
  lr: number;        // learning rate used
  feedback: number;  // probability of feeding back an input used by this update
  fed: number;       // fraction of the inputs run this update that were the model's samples
  regularizer: number; // Pascanu's Ω (unweighted) when cfg.pascanu > 0, else 0
  fault: Fault | null; // set when the step was skipped (faults.policy.onFault 'skip'): no update
}

/**
 * What the stream trainer needs of a model (CharLM is one): a state per stream,
 * forward over T steps of B streams from it, backward, and the state after any step.
 */
export interface StreamModel {
  readonly params: ParamSet;
  readonly grads: ParamSet;
  readonly config: { num_layers: number; hidden_size: number };
  newState(B: number): RecurrentState;
  resetState(state: RecurrentState, rng?: Rng): RecurrentState;
  forward(ids: Int32Array, targets: Int32Array | null, T: number, B: number, state: RecurrentState, opts?: ForwardOptions): { loss: number; count: number };
  backward(opts?: BackwardOptions): { regularizer: number };
  stateAt(k: number, into: RecurrentState): void;
  readonly fedBack: number;
  zeroGrad(): void;
  /** Layer l's hidden states of the last forward, time-major ((T+1)*B, H): where a non-finite loss came from. */
  hiddenStates?(l: number): ArrayLike<number>;
}

export class Trainer<M extends StreamModel = StreamModel> {
  readonly cfg: TrainConfig;
  readonly batches: StreamBatches;
  readonly updater: Updater;
  readonly rng: Rng;
  state: RecurrentState; // carried: the state where the next update's first forward starts
  step = 0;   // updates done
  epoch = 0;  // completed epochs
  chunk = 0;  // next update within the epoch: its new steps are [chunk*k1, (chunk+1)*k1)
  bestVal = Infinity; // best validation loss so far (kept by runTraining)
  /** Numerical faults: set faults.setPolicy({ onFault: 'skip', spike }) to skip faulty steps (default: stop the run). */
  readonly faults = new FaultGuard();
  private before: RecurrentState | null = null; // skip mode: the carried state before the step
  private inputs: Int32Array;
  private targets: Int32Array;

  constructor(readonly model: M, trainIds: TokenIds, cfg: Partial<TrainConfig> = {}) {
    this.cfg = { ...DEFAULT_TRAIN, ...cfg };
    const c = this.cfg;
    for (const k of ['batch', 'seq'] as const) {
      if (!Number.isInteger(c[k]) || c[k] < 1) throw new UserError(`${k} must be a positive integer, got ${c[k]}`);
    }
    if (!Number.isInteger(c.bptt) || c.bptt < 0) throw new UserError(`bptt must be a non-negative integer (0 = seq), got ${c.bptt}`);
    if (!FEED_MODES.includes(c.feed)) throw new UserError(`feed must be one of ${FEED_MODES.join(', ')}, got '${c.feed}'`);
    if (!SCHEDULES.includes(c.schedule)) throw new UserError(`schedule must be one of ${SCHEDULES.join(', ')}, got '${c.schedule}'`);
    if (!(c.scheduleSteps > 0 && Number.isFinite(c.scheduleSteps))) throw new UserError(`scheduleSteps must be positive, got ${c.scheduleSteps}`);
    if (!(c.feedMax >= 0 && c.feedMax <= 1)) throw new UserError(`feedMax must be in [0, 1], got ${c.feedMax}`);
    if (!(c.pascanu >= 0 && Number.isFinite(c.pascanu))) throw new UserError(`pascanu must be >= 0, got ${c.pascanu}`);
    const B = c.batch;
    this.batches = new StreamBatches(trainIds, B, c.seq);
    this.updater = new Updater(model.params, c);
    this.rng = new Rng(c.seed ^ 0x5eed);
    this.state = model.resetState(model.newState(B), this.rng);
    // one buffer pair serves the forward-only part and the window (forward reads T*B)
    const T = Math.min(Math.max(c.seq, this.k2), this.batches.streamLen);
    this.inputs = new Int32Array(B * T);
    this.targets = new Int32Array(B * T);
  }

  get opt(): Optimizer {
    return this.updater.opt;
  }

  /** The learning rate of the next update. */
  get lr(): number {
    return this.updater.lr;
  }

  /** Steps each update backpropagates through. */
  get k2(): number {
    return this.cfg.bptt || this.cfg.seq;
  }

  /** Fractional epochs done, for display. */
  get epochs(): number {
    return this.epoch + this.chunk / this.batches.updatesPerEpoch;
  }

  /** Probability of feeding back an input after i updates. */
  feedProbability(i: number): number {
    const c = this.cfg;
    switch (c.feed) {
      case 'teacher': return 0;
      case 'free': return 1;
      case 'scheduled': return Math.min(c.feedMax, scheduledProbability(c.schedule, i, c.scheduleSteps));
    }
  }

  /** Step where update u's first forward starts (and where the carried state is before it). */
  private startOf(u: number): number {
    const k1 = this.cfg.seq;
    return Math.max(0, Math.min(u * k1, (u + 1) * k1 - this.k2));
  }

  trainStep(): StepResult {
    const { model, cfg, batches, inputs, targets } = this, B = cfg.batch, k1 = cfg.seq;
    const end = (this.chunk + 1) * k1;           // this update's new steps are [end-k1, end)
    const from = this.startOf(this.chunk);       // this.state is the state at step `from`
    const win = Math.max(0, end - this.k2);      // backpropagate through steps [win, end)
    const p = this.feedProbability(this.step);
    const opts = { train: true, rng: this.rng, feedback: p };
    if (this.faults.policy.onFault === 'skip') copyState(this.state, this.before ??= model.newState(B));
    let fed = 0;
    if (win > from) {
      // k2 < k1: the steps before the window only move the state on
      batches.fillWindow(from, win - from, inputs, targets);
      model.forward(inputs, null, win - from, B, this.state, opts);
      fed += model.fedBack;
    }
    batches.fillWindow(win, end - win, inputs, targets);
    targets.fill(-1, 0, Math.max(0, end - k1 - win) * B); // counted by an earlier update: gradient path only
    model.zeroGrad();
    const r = model.forward(inputs, targets, end - win, B, this.state, opts);
    fed += model.fedBack;
    // carry the state at the next update's start; with overlapping windows it lies inside this one
    const next = this.startOf(this.chunk + 1);
    if (next < end) model.stateAt(next - win, this.state);
    const loss = r.loss / r.count, step = this.step + 1, faults = this.faults;
    const site = Number.isFinite(loss) || !model.hiddenStates ? undefined // where a non-finite loss came from
      : () => overflowSite(model.config.num_layers, end - win, B, model.config.hidden_size, (l) => model.hiddenStates!(l));
    let regularizer = 0;
    const { fault, norm, clipped, lr } = faults.update(step, loss, model.params, model.grads, this.updater,
      () => { ({ regularizer } = model.backward(cfg.pascanu > 0 ? { pascanu: cfg.pascanu } : {})); }, site);
    if (fault) copyState(this.before!, this.state); // skipped: the carried state is the one before the step
    this.step++;
    if (++this.chunk === batches.updatesPerEpoch) {
      // streams wrap to their start, where the carried state means nothing
      this.chunk = 0;
      this.epoch++;
      model.resetState(this.state, this.rng);
      this.updater.endEpoch(this.epoch);
    }
    return { loss, gradNorm: norm, clipped, lr, feedback: p, fed: fed / ((end - from) * B), regularizer, fault };
  }

  /**
   * Tensors and JSON that restore() needs to continue this run exactly. The data
   * position is meta.chunk (chunk*k1 steps into every stream); train.state.* is the
   * carried state, at step max(0, min(chunk*k1, (chunk+1)*k1 - k2)).
   */
  snapshot(): { tensors: TensorEntry[]; meta: TrainerMeta } {
    const tensors: TensorEntry[] = this.updater.tensors();
    const { num_layers: L, hidden_size: H } = this.model.config, B = this.cfg.batch;
    tensors.push({ name: 'train.state.h', shape: [L, B, H], data: f32(this.state.h) });
    if (this.state.c.length) tensors.push({ name: 'train.state.c', shape: [L, B, H], data: f32(this.state.c) });
    return {
      tensors,
      meta: {
        config: this.cfg, step: this.step, epoch: this.epoch, chunk: this.chunk, lr: this.lr, optimizerSteps: this.opt.t, rng: this.rng.getState(),
        bestVal: Number.isFinite(this.bestVal) ? this.bestVal : null, faults: this.faults.state(),
      },
    };
  }

  restore(tensors: Map<string, { shape: number[]; data: Float32Array }>, meta: TrainerMeta): void {
    this.updater.restore(tensors, meta.lr, meta.optimizerSteps);
    restoreTensor(tensors, 'train.state.h', this.state.h);
    if (this.state.c.length) restoreTensor(tensors, 'train.state.c', this.state.c);
    if (meta.chunk >= this.batches.updatesPerEpoch) throw new UserError('cannot resume: the data position is past the end of this text');
    this.step = meta.step; this.epoch = meta.epoch; this.chunk = meta.chunk;
    // the carried state is the initial one (a learned h0 gets gradient) until the windows leave step 0
    this.state.fresh = this.startOf(this.chunk) === 0;
    this.bestVal = meta.bestVal ?? Infinity;
    this.faults.restore(meta.faults);
    this.rng.setState(meta.rng);
  }
}

function copyState(from: RecurrentState, to: RecurrentState): void {
  to.h.set(from.h);
  to.c.set(from.c);
  to.fresh = !!from.fresh;
}

export interface TrainerMeta {
  config: TrainConfig;
  step: number;
  epoch: number;
  chunk: number;
  lr: number;
  optimizerSteps: number;
  rng: { s: RngState; spare: number | null };
  bestVal: number | null;
  faults?: FaultState; // absent in checkpoints from before it was kept
}
