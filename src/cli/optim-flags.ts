// The optimization options every training command shares, and the config they give.
import { OPTIMIZERS } from '../train/optim.js';
import type { UpdateConfig } from '../train/update.js';
import type { FlagTable, FlagValues } from './flags.js';

export const OPTIM_FLAGS: FlagTable = {
  optimizer: { arg: 'O', help: 'optimizer', choices: OPTIMIZERS, def: 'adam', group: 'Optimization' },
  lr: { arg: 'X', help: 'learning rate', def: 0.002, min: 0, above: true },
  momentum: { arg: 'X', help: 'sgd momentum', def: 0.9, min: 0, max: 1 },
  alpha: { arg: 'X', help: 'rmsprop squared-gradient decay', def: 0.99, min: 0, max: 1 },
  beta1: { arg: 'X', help: 'adam first-moment decay', def: 0.9, min: 0, max: 1 },
  beta2: { arg: 'X', help: 'adam second-moment decay', def: 0.999, min: 0, max: 1 },
  eps: { arg: 'X', help: 'adagrad/rmsprop/adam epsilon', def: 1e-8, min: 0, above: true },
  clip: { arg: 'N', help: 'clip the global gradient norm to N, 0 = off', def: 5, min: 0 },
  'clip-value': { arg: 'X', help: 'clip each gradient entry to [-X, X] instead', min: 0 },
  'lr-decay': { arg: 'F', help: 'multiply lr by F after each epoch ...', def: 1, min: 0, above: true, max: 1 },
  'lr-decay-after': { arg: 'E', help: '... once E epochs are done', def: 0, int: true, min: 0 },
};

export function updateConfig(f: FlagValues): UpdateConfig {
  return {
    optimizer: f.choice('optimizer'), lr: f.num('lr'), momentum: f.num('momentum'), alpha: f.num('alpha'),
    beta1: f.num('beta1'), beta2: f.num('beta2'), eps: f.num('eps'), clip: f.num('clip'),
    clipValue: f.set('clip-value') ? f.num('clip-value') : 0, lrDecay: f.num('lr-decay'), lrDecayAfter: f.num('lr-decay-after'),
  };
}
