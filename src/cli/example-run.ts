// What every example-trained command shares (classify, tag, translate train): the
// optimization and run options, the live progress line, latest/best checkpoints after
// every epoch, Ctrl-C and --resume, exactly as `rnnkit train` does them.
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { OPTIM_FLAGS, updateConfig } from './optim-flags.js';
import { FAULT_FLAGS, SkipWarnings, faultPolicy, faultStop, skippedNote } from './fault-flags.js';
import type { FaultPolicy } from '../train/faults.js';

export { OPTIM_FLAGS, faultPolicy };
import { runExampleTraining, type EpochReport, type ExampleTrainConfig, type ExampleTrainer, type ValidationReport } from '../train/examples.js';
import { parseRunState, type DataPrint, type RunState } from '../train/example-meta.js';
import type { TensorEntry } from '../io/safetensors.js';
import { readModelFile, writeCheckpointFile } from '../node/checkpoint-file.js';
import { expectKind, type LoadedModel, type ModelKind } from '../models/checkpoints.js';
import type { FlagTable, FlagValues } from './flags.js';
import { Progress, formatDuration } from './progress.js';
import { cleanStaleTemps } from './stale-temps.js';

export const RUN_FLAGS: FlagTable = {
  batch: { arg: 'B', help: 'examples per update', def: 32, int: true, min: 1, group: 'Run' },
  epochs: { arg: 'N', help: 'epochs to train', def: 10, int: true, min: 1 },
  patience: { arg: 'N', help: 'stop after N epochs without a better validation score, 0 = never', def: 0, int: true, min: 0 },
  'no-bucket': { help: 'do not batch examples of similar length together' },
  'time-limit': { arg: 'S', help: 'stop after S seconds (validated and saved)', def: 0, min: 0 },
  ...FAULT_FLAGS,
  'log-every': { arg: 'N', help: 'steps between log lines when not on a terminal', def: 50, int: true, min: 1 },
  out: { arg: 'DIR', help: 'checkpoints: DIR/latest.safetensors and DIR/best.safetensors' },
  resume: { arg: 'CKPT', help: 'continue the run saved in CKPT exactly where it stopped' },
  seed: { arg: 'S', help: 'same seed and options give the same run', def: 1, int: true, min: 0 },
  quiet: { help: 'print nothing but errors and the final report' },
};

/** Options that a resumed run takes from its checkpoint. */
export const FIXED_ON_RESUME = [...Object.keys(OPTIM_FLAGS), 'batch', 'no-bucket', 'seed'];

export function exampleTrainConfig(f: FlagValues): Partial<ExampleTrainConfig> {
  return { ...updateConfig(f), batch: f.num('batch'), epochs: f.num('epochs'), patience: f.num('patience'), bucket: !f.bool('no-bucket'), seed: f.num('seed') };
}

/** Refuses options that cannot change on --resume (model and optimization come from the checkpoint). */
export function checkResumable(f: FlagValues, fixed: readonly string[]): void {
  const bad = fixed.find((k) => f.given(k));
  if (bad) throw new UserError(`--${bad} cannot be changed when resuming: model and optimizer options come from the checkpoint`);
}

export interface ExampleRun<E> {
  command: string;                     // e.g. 'classify train'
  trainer: ExampleTrainer<E>;
  validate: () => ValidationReport;
  /** The score as it should be printed, e.g. 'val accuracy 81.2%'. */
  describe: (v: ValidationReport) => string;
  /** Checkpoint bytes of the model with this training state. */
  encode: (tensors: TensorEntry[], meta: Record<string, string>) => Uint8Array;
  /** Everything besides the trainer that resume needs (the data's fingerprint, options), stored as JSON. */
  runInfo: Omit<RunState, 'trainer'>;
  outDir: string;
  resumeCommand: string;               // how to continue, for the interrupt message
  timeLimit: number;
  quiet: boolean;
  logEvery: number;
  faults: Partial<FaultPolicy>;        // from --on-fault and --spike (faultPolicy)
}

/** The model, training state and tensors of a checkpoint to resume, checked against the data. */
export async function loadResume<K extends ModelKind>(path: string, kind: K, command: string, data: DataPrint, file: string):
  Promise<{ loaded: Extract<LoadedModel, { kind: K }>; state: RunState; tensors: Map<string, { shape: number[]; data: Float32Array }> }> {
  const r = await readModelFile(path);
  const loaded = expectKind(r, kind, `${command} --resume`);
  const state = parseRunState(r.ck.metadata['train'], path);
  if (state.data.hash !== data.hash) throw new UserError(`${file}: not the data this checkpoint was trained on (${state.data.name}, ${state.data.examples} examples)`);
  return { loaded, state, tensors: r.ck.tensors };
}

/** --out, else next to the resumed checkpoint, else checkpoints/<name>. */
export function outDirOf(f: FlagValues, name: string): string {
  const resume = f.str('resume');
  return f.str('out') ?? (resume ? resume.replace(/[/\\][^/\\]*$/, '') || '.' : join('checkpoints', name));
}

/** Trains with progress and checkpoints; returns the exit code (130 after Ctrl-C). */
export async function runExamples<E>(r: ExampleRun<E>): Promise<{ code: number; best: string; latest: string }> {
  const t = r.trainer, progress = new Progress(), say = (s: string) => { if (!r.quiet) progress.log(s); };
  t.faults.setPolicy(r.faults);
  const skips = new SkipWarnings(say);
  const latest = join(r.outDir, 'latest.safetensors'), best = join(r.outDir, 'best.safetensors');
  const save = async (path: string) => {
    const snap = t.snapshot(), state = { ...r.runInfo, trainer: snap.meta } as RunState;
    await writeCheckpointFile(path, r.encode(snap.tensors, { train: JSON.stringify(state) }));
  };
  await cleanStaleTemps(r.outDir, [latest, best], say);
  let stop = false;
  const onSignal = () => {
    if (stop) process.exit(130);
    stop = true;
    if (!r.quiet) progress.log('stopping after this step (Ctrl-C again to quit without saving)...');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = Date.now(), step0 = t.step;
  let smooth = NaN, examples = 0;
  try {
    const reason = await runExampleTraining(t, { validate: r.validate, timeLimit: r.timeLimit }, {
      shouldStop: () => stop,
      onStep(s) {
        if (s.fault) skips.skipped(s.fault, t.faults);
        else smooth = Number.isNaN(smooth) ? s.loss : 0.95 * smooth + 0.05 * s.loss;
        examples += s.examples;
        if (r.quiet) return;
        const el = (Date.now() - t0) / 1000, perStep = el / (t.step - step0);
        const left = (t.cfg.epochs - t.epochs) * t.batchesPerEpoch * perStep;
        const line = `epoch ${t.epochs.toFixed(2)}/${t.cfg.epochs} | step ${t.step} | loss ${smooth.toFixed(4)} | ` +
          `grad norm ${s.gradNorm.toPrecision(3)}${s.clipped ? ' (clipped)' : ''} | ${Math.round(examples / Math.max(el, 1e-3)).toLocaleString('en')} ex/s | ` +
          `ETA ${formatDuration(r.timeLimit ? Math.min(left, r.timeLimit - el) : left)}${skippedNote(t.faults)}`;
        if (progress.live) progress.status(line);
        else if (t.step % r.logEvery === 0) progress.log(line);
      },
      async onEpoch(e: EpochReport) {
        // best first: killed between the two, latest is the older one and the resumed run redoes both
        if (e.best) await save(best);
        await save(latest);
        say(`epoch ${e.epoch} | step ${e.step} | train loss ${e.trainLoss.toFixed(4)} | val loss ${e.loss.toFixed(4)} | ${r.describe(e)}${e.best ? ' *best*' : ''} | ` +
          `${formatDuration((Date.now() - t0) / 1000)}${skippedNote(t.faults)}`);
      },
    });
    if (reason === 'stopped') {
      await save(latest);
      say(`interrupted at step ${t.step}; saved ${latest}\nresume with: ${r.resumeCommand} --resume ${latest}`);
      return { code: 130, best, latest };
    }
    const why = { epochs: 'all epochs', early: `no better validation score for ${t.cfg.patience} epochs`, time: 'time limit' }[reason];
    const skipped = t.faults.skipped ? `, ${t.faults.skipped} steps skipped` : '';
    say(`done after ${t.epochs.toFixed(2)} epochs (${why}${skipped}) in ${formatDuration((Date.now() - t0) / 1000)}; best at epoch ${t.bestEpoch}\n` +
      `checkpoints: ${best} (best), ${latest} (latest)`);
    return { code: 0, best, latest };
  } catch (e) {
    throw faultStop(e, r.outDir, 'epochs');
  } finally {
    progress.clear();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
