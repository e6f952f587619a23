// Optimizers as single loops over the flat parameter buffer (llm.c's gpt2_update).
// Each keeps its state ("slots") in ParamSets with the model's layout, so checkpoints
// store them as tensors named `optim.<slot>.<param>`. Formulas follow PyTorch's
// torch.optim (SGD, Adagrad, RMSprop, Adam) with their default hyperparameters.
import type { ParamSet } from '../core/params.js';

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
    const p = params.data, g = grads.data, n = p.length, c = this.config;
    this.t++;
    switch (c.name) {
      case 'sgd': {
        const v = this.slots.get('momentum')!.data, mu = c.momentum;
        for (let i = 0; i < n; i++) { v[i] = mu * v[i]! + g[i]!; p[i] -= lr * v[i]!; }
        break;
      }
      case 'adagrad': {
        const s = this.slots.get('sum')!.data;
        for (let i = 0; i < n; i++) { s[i] += g[i]! * g[i]!; p[i] -= lr * g[i]! / (Math.sqrt(s[i]!) + c.eps); }
        break;
      }
      case 'rmsprop': {
        const s = this.slots.get('square_avg')!.data, a = c.alpha;
        for (let i = 0; i < n; i++) { s[i] = a * s[i]! + (1 - a) * g[i]! * g[i]!; p[i] -= lr * g[i]! / (Math.sqrt(s[i]!) + c.eps); }
        break;
      }
      case 'adam': {
        const m = this.slots.get('m')!.data, v = this.slots.get('v')!.data, b1 = c.beta1, b2 = c.beta2;
        const bc1 = 1 - Math.pow(b1, this.t), bc2 = 1 - Math.pow(b2, this.t), step = lr / bc1, sq = Math.sqrt(bc2);
        for (let i = 0; i < n; i++) {
          const gi = g[i]!;
          m[i] = b1 * m[i]! + (1 - b1) * gi;
          v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
          p[i] -= step * m[i]! / (Math.sqrt(v[i]!) / sq + c.eps);
        }
        break;
      }
    }
  }
}
