// One training step of a character LM over B parallel streams (truncated BPTT with
// k1 = k2 = T, state carried across chunks): forward -> backward -> clip -> update.
// Also holds everything a resumed run needs to continue exactly: optimizer slots,
// RNG, data position, carried state and learning rate.
import type { CharLM, RecurrentState } from '../models/char-lm.js';
import { Rng, type RngState } from '../core/rng.js';
import { UserError } from '../core/errors.js';
import { StreamBatches } from '../data/batches.js';
import type { TensorEntry } from '../io/safetensors.js';
import { Optimizer, type OptimizerName, DEFAULT_OPTIMIZER } from './optim.js';
import { clipByGlobalNorm, clipByValue, globalNorm } from './clip.js';

export interface TrainConfig {
  batch: number;         // B parallel streams
  seq: number;           // T steps per chunk = truncated BPTT length
  optimizer: OptimizerName;
  lr: number;            // initial learning rate
  momentum: number;      // sgd
  alpha: number;         // rmsprop
  beta1: number;         // adam
  beta2: number;         // adam
  eps: number;           // adagrad, rmsprop, adam
  clip: number;          // max global gradient norm; 0 = off
  clipValue: number;     // max |gradient entry|; 0 = off; replaces clip when set
  lrDecay: number;       // lr *= lrDecay at the end of each epoch once lrDecayAfter epochs are done
  lrDecayAfter: number;  // epochs
  seed: number;          // weights, dropout and data order all follow from it
}

export const DEFAULT_TRAIN: TrainConfig = {
  batch: 32, seq: 64, optimizer: 'adam', lr: 2e-3, ...DEFAULT_OPTIMIZER,
  clip: 5, clipValue: 0, lrDecay: 1, lrDecayAfter: 0, seed: 1,
};

export interface StepResult {
  loss: number;      // mean cross-entropy of the chunk (nats)
  gradNorm: number;  // global norm before clipping
  clipped: boolean;
  lr: number;        // learning rate used
}

/** Thrown before any update when the loss or gradient is not finite. */
export class NonFiniteError extends UserError {}

export class Trainer {
  readonly cfg: TrainConfig;
  readonly batches: StreamBatches;
  readonly opt: Optimizer;
  readonly rng: Rng;
  state: RecurrentState;
  step = 0;   // updates done
  epoch = 0;  // completed epochs
  chunk = 0;  // next chunk within the epoch
  lr: number;
  bestVal = Infinity; // best validation loss so far (kept by runTraining)
  private inputs: Int32Array;
  private targets: Int32Array;

  constructor(readonly model: CharLM, trainIds: Int32Array, cfg: Partial<TrainConfig> = {}) {
    this.cfg = { ...DEFAULT_TRAIN, ...cfg };
    const { batch: B, seq: T } = this.cfg;
    for (const k of ['batch', 'seq'] as const) {
      if (!Number.isInteger(this.cfg[k]) || this.cfg[k] < 1) throw new UserError(`${k} must be a positive integer, got ${this.cfg[k]}`);
    }
    if (!(this.cfg.lr > 0)) throw new UserError(`learning rate must be positive, got ${this.cfg.lr}`);
    this.batches = new StreamBatches(trainIds, B, T);
    this.opt = new Optimizer(model.params, { ...this.cfg, name: this.cfg.optimizer });
    this.rng = new Rng(this.cfg.seed ^ 0x5eed);
    this.state = model.newState(B);
    this.lr = this.cfg.lr;
    this.inputs = new Int32Array(B * T);
    this.targets = new Int32Array(B * T);
  }

  /** Fractional epochs done, for display. */
  get epochs(): number {
    return this.epoch + this.chunk / this.batches.chunksPerEpoch;
  }

  trainStep(): StepResult {
    const { model, cfg } = this, { batch: B, seq: T } = cfg;
    this.batches.fill(this.chunk, this.inputs, this.targets);
    model.zeroGrad();
    const r = model.forward(this.inputs, this.targets, T, B, this.state, { train: true, rng: this.rng });
    const loss = r.loss / r.count;
    if (!Number.isFinite(loss)) throw new NonFiniteError(`loss became ${loss} at step ${this.step + 1}; stopping without saving (try a lower --lr or --clip)`);
    model.backward();
    const g = model.grads.data;
    // clipping by value and by global norm are alternatives; value wins when both are set
    const { norm, clipped } = cfg.clipValue > 0 ? clipByValue(g, cfg.clipValue)
      : cfg.clip > 0 ? clipByGlobalNorm(g, cfg.clip) : { norm: globalNorm(g), clipped: false };
    if (!Number.isFinite(norm)) throw new NonFiniteError(`gradient norm became ${norm} at step ${this.step + 1}; stopping without saving (try a lower --lr or --clip)`);
    const lr = this.lr;
    this.opt.step(model.params, model.grads, lr);
    this.step++;
    if (++this.chunk === this.batches.chunksPerEpoch) {
      // streams wrap to their start, where the carried state means nothing
      this.chunk = 0;
      this.epoch++;
      this.state.h.fill(0); this.state.c.fill(0);
      if (this.epoch >= cfg.lrDecayAfter) this.lr *= cfg.lrDecay;
    }
    return { loss, gradNorm: norm, clipped, lr };
  }

  /** Tensors and JSON that restore() needs to continue this run exactly. */
  snapshot(): { tensors: TensorEntry[]; meta: TrainerMeta } {
    const tensors: TensorEntry[] = [];
    for (const [slot, ps] of this.opt.slots) {
      for (const v of ps.views) tensors.push({ name: `optim.${slot}.${v.name}`, shape: v.shape, data: f32(v.data) });
    }
    const { num_layers: L, hidden_size: H } = this.model.config, B = this.cfg.batch;
    tensors.push({ name: 'train.state.h', shape: [L, B, H], data: f32(this.state.h) });
    if (this.state.c.length) tensors.push({ name: 'train.state.c', shape: [L, B, H], data: f32(this.state.c) });
    return {
      tensors,
      meta: { config: this.cfg, step: this.step, epoch: this.epoch, chunk: this.chunk, lr: this.lr, optimizerSteps: this.opt.t, rng: this.rng.getState(), bestVal: Number.isFinite(this.bestVal) ? this.bestVal : null },
    };
  }

  restore(tensors: Map<string, { shape: number[]; data: Float32Array }>, meta: TrainerMeta): void {
    const need = (name: string, into: Float32Array | Float64Array) => {
      const t = tensors.get(name);
      if (!t || t.data.length !== into.length) throw new UserError(`cannot resume: checkpoint lacks training tensor '${name}' of the right size`);
      into.set(t.data);
    };
    for (const [slot, ps] of this.opt.slots) for (const v of ps.views) need(`optim.${slot}.${v.name}`, v.data);
    need('train.state.h', this.state.h);
    if (this.state.c.length) need('train.state.c', this.state.c);
    if (meta.chunk >= this.batches.chunksPerEpoch) throw new UserError('cannot resume: the data position is past the end of this text');
    this.step = meta.step; this.epoch = meta.epoch; this.chunk = meta.chunk; this.lr = meta.lr;
    this.opt.t = meta.optimizerSteps;
    this.bestVal = meta.bestVal ?? Infinity;
    this.rng.setState(meta.rng);
  }
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
}

function f32(a: Float32Array | Float64Array): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}
