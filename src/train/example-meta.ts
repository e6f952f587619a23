// The training state in an example trainer's checkpoint (classify, tag, translate
// train): the 'train' metadata, JSON of { trainer, data, val, valFraction }. --resume
// reads it from a file, so every field is type- and range-checked here before a
// trainer is built or anything is allocated from it (docs/reliability.md).
import { UserError } from '../core/errors.js';
import { OPTIMIZERS } from './optim.js';
import { DEFAULT_EXAMPLE_TRAIN, type ExampleTrainConfig, type ExampleTrainerMeta } from './examples.js';
import { faultStateProblem } from './faults.js';
import { isInt, isNum, isObject, parseTrainMeta, rngProblem } from './meta-checks.js';

/** A data file's identity, so --resume refuses other data. */
export interface DataPrint { name: string; examples: number; hash: string }

/** What a training checkpoint's `train` metadata holds: the trainer's position and the data it trained and validated on. */
export interface RunState {
  trainer: ExampleTrainerMeta;
  data: DataPrint;
  /** The validation examples (absent in older checkpoints: not checked then). */
  val?: DataPrint;
  /** classify: the share held out for validation without --val. */
  valFraction?: number;
}

// Bounds on what a checkpoint may ask for: a batch is an array of this many indices.
const MAX_BATCH = 1 << 20, MAX_COUNT = 2 ** 40;


function printProblem(p: unknown, what: string): string | null {
  if (!isObject(p) || typeof p['name'] !== 'string' || p['name'].length > 4096 || !isInt(p['examples'], 0, MAX_COUNT) ||
    typeof p['hash'] !== 'string' || !/^[0-9a-f]{1,64}$/.test(p['hash'])) return `${what} is not {name, examples, hash}`;
  return null;
}

/** Every option of ExampleTrainConfig: its type (that of its default) and range. */
function configProblem(c: unknown): string | null {
  if (!isObject(c)) return 'trainer.config is not an object';
  for (const [k, def] of Object.entries(DEFAULT_EXAMPLE_TRAIN)) {
    const v = c[k];
    if (typeof def === 'number' ? !isNum(v, -Infinity, Infinity) : typeof v !== typeof def) return `trainer.config.${k} is not a ${typeof def === 'number' ? 'finite number' : typeof def}`;
  }
  const ranges: [keyof ExampleTrainConfig, boolean][] = [
    ['optimizer', (OPTIMIZERS as readonly unknown[]).includes(c['optimizer'])],
    ['lr', isNum(c['lr'], Number.MIN_VALUE, Infinity)], ['eps', isNum(c['eps'], Number.MIN_VALUE, Infinity)],
    ['momentum', isNum(c['momentum'], 0, 1)], ['alpha', isNum(c['alpha'], 0, 1)], ['beta1', isNum(c['beta1'], 0, 1)], ['beta2', isNum(c['beta2'], 0, 1)],
    ['clip', isNum(c['clip'], 0, Infinity)], ['clipValue', isNum(c['clipValue'], 0, Infinity)],
    ['lrDecay', isNum(c['lrDecay'], Number.MIN_VALUE, 1)], ['lrDecayAfter', isInt(c['lrDecayAfter'], 0, MAX_COUNT)],
    ['batch', isInt(c['batch'], 1, MAX_BATCH)], ['epochs', isInt(c['epochs'], 1, MAX_COUNT)], ['patience', isInt(c['patience'], 0, MAX_COUNT)],
    ['seed', isInt(c['seed'], 0, Number.MAX_SAFE_INTEGER)],
  ];
  const bad = ranges.find(([, ok]) => !ok);
  return bad ? `trainer.config.${bad[0]} is out of range (${JSON.stringify(c[bad[0]])})` : null;
}

function trainerProblem(t: unknown): string | null {
  if (!isObject(t)) return 'trainer is not an object';
  const why = configProblem(t['config']);
  if (why) return why;
  for (const k of ['epoch', 'pos', 'step', 'optimizerSteps']) if (!isInt(t[k], 0, Number.MAX_SAFE_INTEGER)) return `trainer.${k} is not a non-negative integer`;
  if (!isNum(t['lr'], 0, Infinity)) return 'trainer.lr is not a finite non-negative number';
  const rng = rngProblem(t['rng'], 'trainer.rng');
  if (rng) return rng;
  if (t['best'] !== null && !isNum(t['best'], -Infinity, Infinity)) return 'trainer.best is not a number or null';
  if (!isInt(t['bestEpoch'], 0, t['epoch'] as number)) return 'trainer.bestEpoch is not an integer from 0 to trainer.epoch';
  if (!isInt(t['sinceBest'], 0, MAX_COUNT)) return 'trainer.sinceBest is not a non-negative integer';
  const faults = faultStateProblem(t['faults']);
  return faults ? `trainer.${faults}` : null;
}

/** What is wrong with a parsed 'train' metadata object, or null. */
export function runStateProblem(m: unknown): string | null {
  if (!isObject(m)) return 'not an object with trainer and data';
  const why = trainerProblem(m['trainer']) ?? printProblem(m['data'], 'data') ?? (m['val'] === undefined ? null : printProblem(m['val'], 'val'));
  if (why) return why;
  if (m['valFraction'] !== undefined && !isNum(m['valFraction'], Number.MIN_VALUE, 0.5)) return 'valFraction is not a number in (0, 0.5]';
  return null;
}

/**
 * The run state in a checkpoint's 'train' metadata, checked (runStateProblem); only the
 * known fields are kept. A one-line UserError naming `source` when it is missing or invalid.
 */
export function parseRunState(raw: string | undefined, source: string): RunState {
  if (!raw) throw new UserError(`${source}: checkpoint has no training state to resume (it holds only model weights)`);
  const s = parseTrainMeta(raw, source, runStateProblem) as RunState, t = s.trainer;
  const config = Object.fromEntries(Object.keys(DEFAULT_EXAMPLE_TRAIN).map((k) => [k, t.config[k as keyof ExampleTrainConfig]])) as unknown as ExampleTrainConfig;
  const print = (p: DataPrint): DataPrint => ({ name: p.name, examples: p.examples, hash: p.hash });
  return {
    trainer: { config, epoch: t.epoch, pos: t.pos, step: t.step, lr: t.lr, optimizerSteps: t.optimizerSteps, rng: { s: [t.rng.s[0], t.rng.s[1], t.rng.s[2], t.rng.s[3]], spare: t.rng.spare },
      best: t.best, bestEpoch: t.bestEpoch, sinceBest: t.sinceBest,
      ...(t.faults ? { faults: { skipped: t.faults.skipped, consecutive: t.faults.consecutive, lossMean: t.faults.lossMean, lossSteps: t.faults.lossSteps } } : {}) },
    data: print(s.data),
    ...(s.val ? { val: print(s.val) } : {}),
    ...(s.valFraction !== undefined ? { valFraction: s.valFraction } : {}),
  };
}

/** Refuses validation data other than the run's (a checkpoint without a print of it accepts any). */
export function checkValidationData(state: RunState, val: DataPrint): void {
  if (state.val && state.val.hash !== val.hash) {
    throw new UserError(`${val.name}: not the validation data this checkpoint was trained with (${state.val.name}, ${state.val.examples} examples); pass the same --val as the run it continues`);
  }
}
