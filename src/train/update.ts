// The update every trainer shares: clip the gradient, refuse a non-finite one, take an
// optimizer step, decay the learning rate per epoch; and the optimizer state a resumed
// run needs (tensors `optim.<slot>.<param>`).
import type { ParamSet } from '../core/params.js';
import { UserError } from '../core/errors.js';
import type { TensorEntry } from '../io/safetensors.js';
import { Optimizer, OPTIMIZERS, DEFAULT_OPTIMIZER, type OptimizerName } from './optim.js';
import { clipByGlobalNorm, clipByValue, globalNorm } from './clip.js';
import { NonFiniteError, gradientFault } from './faults.js';

export { NonFiniteError };

export interface UpdateConfig {
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
}

export const DEFAULT_UPDATE: UpdateConfig = { optimizer: 'adam', lr: 2e-3, ...DEFAULT_OPTIMIZER, clip: 5, clipValue: 0, lrDecay: 1, lrDecayAfter: 0 };

export function checkUpdateConfig(c: UpdateConfig): void {
  if (!OPTIMIZERS.includes(c.optimizer)) throw new UserError(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got '${c.optimizer}'`);
  if (!(c.lr > 0)) throw new UserError(`learning rate must be positive, got ${c.lr}`);
  if (!(c.clip >= 0) || !(c.clipValue >= 0)) throw new UserError('clip and clipValue must be >= 0');
}

export class Updater {
  readonly opt: Optimizer;
  lr: number;

  constructor(params: ParamSet, readonly cfg: UpdateConfig) {
    checkUpdateConfig(cfg);
    this.opt = new Optimizer(params, { ...cfg, name: cfg.optimizer });
    this.lr = cfg.lr;
  }

  /**
   * Clips grads (by value when clipValue is set, else by global norm when clip is);
   * returns the global norm before clipping (not finite: some entry is not).
   */
  clip(grads: ParamSet): { norm: number; clipped: boolean } {
    const g = grads.data, c = this.cfg;
    return c.clipValue > 0 ? clipByValue(g, c.clipValue) : c.clip > 0 ? clipByGlobalNorm(g, c.clip) : { norm: globalNorm(g), clipped: false };
  }

  /** An optimizer step on the (clipped) gradient; returns the learning rate used. */
  update(params: ParamSet, grads: ParamSet): number {
    const lr = this.lr;
    this.opt.step(params, grads, lr);
    return lr;
  }

  /**
   * clip, then update, refusing a gradient that is not finite (NonFiniteError naming
   * its parameters). step is the 1-based update number, for the message. The
   * trainers do the same through their FaultGuard (faults.ts), which can also skip.
   */
  apply(params: ParamSet, grads: ParamSet, step: number): { norm: number; clipped: boolean; lr: number } {
    const { norm, clipped } = this.clip(grads);
    if (!Number.isFinite(norm)) {
      const f = gradientFault(step, null, norm, grads);
      throw new NonFiniteError(`${f.message}; stopping without saving (try a lower --lr or --clip)`, f);
    }
    return { norm, clipped, lr: this.update(params, grads) };
  }

  /** Learning-rate decay after `epochs` completed epochs. */
  endEpoch(epochs: number): void {
    if (epochs >= this.cfg.lrDecayAfter) this.lr *= this.cfg.lrDecay;
  }

  tensors(): TensorEntry[] {
    const out: TensorEntry[] = [];
    for (const [slot, ps] of this.opt.slots) {
      for (const v of ps.views) out.push({ name: `optim.${slot}.${v.name}`, shape: v.shape, data: f32(v.data) });
    }
    return out;
  }

  restore(tensors: Map<string, { shape: number[]; data: Float32Array }>, lr: number, steps: number): void {
    for (const [slot, ps] of this.opt.slots) for (const v of ps.views) restoreTensor(tensors, `optim.${slot}.${v.name}`, v.data);
    this.lr = lr;
    this.opt.t = steps;
  }
}

/** Copies a training tensor of a checkpoint into `into`, which it must match in size. */
export function restoreTensor(tensors: Map<string, { data: Float32Array }>, name: string, into: Float32Array | Float64Array): void {
  const t = tensors.get(name);
  if (!t || t.data.length !== into.length) throw new UserError(`cannot resume: checkpoint lacks training tensor '${name}' of the right size`);
  into.set(t.data);
}

export function f32(a: Float32Array | Float64Array): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}
