// Optimizers as single loops over the flat parameter buffer (llm.c's gpt2_update).
// Each keeps its state ("slots") in ParamSets with the model's layout, so checkpoints
// store them as tensors named `optim.<slot>.<param>`. Formulas follow PyTorch's
// torch.optim (SGD, Adagrad, RMSprop, Adam) with their default hyperparameters.
import type { ParamSet } from '../core/params.js';
import { getBackend } from '../backend/registry.js';

export type OptimizerName = 'sgd' | 'adagrad' | 'rmsprop' | 'adam';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adagrad', 'rmsprop', 'adam'];

export interface OptimizerConfig {
  name: OptimizerName;
  momentum: number; // sgd: heavy-ball momentum (PyTorch: v = μv + g; p -= lr v)
  alpha: number;    // rmsprop: decay of the squared-gradient average
  beta1: number;    // adam
  beta2: number;    // adam
  eps: number;      // adagrad, rmsprop, adam
}

export const DEFAULT_OPTIMIZER: Omit<OptimizerConfig, 'name'> = { momentum: 0.9, alpha: 0.99, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

const SLOTS: Record<OptimizerName, string[]> = { sgd: ['momentum'], adagrad: ['sum'], rmsprop: ['square_avg'], adam: ['m', 'v'] };

export class Optimizer {
  readonly config: OptimizerConfig;
  readonly slots = new Map<string, ParamSet>();
  /** Updates taken so far (Adam's bias correction uses it). */
  t = 0;

  constructor(params: ParamSet, config: Partial<OptimizerConfig> & { name: OptimizerName }) {
    this.config = { ...DEFAULT_OPTIMIZER, ...config };
    if (!OPTIMIZERS.includes(this.config.name)) throw new Error(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got '${config.name}'`);
    for (const s of SLOTS[this.config.name]) this.slots.set(s, params.like());
  }

  /** One update of params from grads with learning rate lr. */
  step(params: ParamSet, grads: ParamSet, lr: number): void {
    const be = getBackend(), p = params.data, g = grads.data, n = p.length, c = this.config;
    const slot = (name: string) => this.slots.get(name)!.data;
    this.t++;
    switch (c.name) {
      case 'sgd': return be.sgdStep(p, g, slot('momentum'), n, lr, c.momentum);
      case 'adagrad': return be.adagradStep(p, g, slot('sum'), n, lr, c.eps);
      case 'rmsprop': return be.rmspropStep(p, g, slot('square_avg'), n, lr, c.alpha, c.eps);
      case 'adam': return be.adamStep(p, g, slot('m'), slot('v'), n, lr, c.beta1, c.beta2, c.eps, this.t);
    }
  }
}
