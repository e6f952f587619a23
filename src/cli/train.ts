// rnnkit train <text-file>: char-rnn style training with validation, samples,
// best/latest checkpoints, exact resume, and a clean stop on Ctrl-C.
import { basename, dirname, join } from 'node:path';
import { expectPositionals, flagHelp, parseFlags, type FlagTable } from './flags.js';
import { OPTIM_FLAGS, updateConfig } from './optim-flags.js';
import { FAULT_FLAGS, SkipWarnings, describePolicy, faultPolicy, faultStop, skippedNote } from './fault-flags.js';
import { checkResumable } from './example-run.js';
import { cleanStaleTemps } from './stale-temps.js';
import { Progress, formatBytes, formatDuration } from './progress.js';
import { UserError } from '../core/errors.js';
import { readCorpus, type CorpusPass } from '../node/corpus.js';
import { readCheckpointFile, writeCheckpointFile } from '../node/checkpoint-file.js';
import { LanguageModel } from '../models/language-model.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { Trainer, FEED_MODES, type FeedMode, type TrainConfig } from '../train/trainer.js';
import { encodeRun, fingerprint, resumeTrainer, runMeta, type TextInfo } from '../train/run-checkpoint.js';
import { recode, type TokenIds } from '../data/token-ids.js';
import { SCHEDULES, type ScheduleName } from '../train/schedule.js';
import { INITIAL_STATES, isReferenceConfig, type CharLM, type InitialState } from '../models/char-lm.js';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from '../node/files.js';
import { runTraining, type EvalReport } from '../train/run.js';
import { splitText } from '../train/train-text.js';
import { getBackend } from '../backend/registry.js';

const FLAGS: FlagTable = {
  cell: { arg: 'C', help: 'recurrent cell', choices: CELL_TYPES, def: 'lstm', group: 'Model' },
  layers: { arg: 'L', help: 'stacked recurrent layers', def: 2, int: true, min: 1 },
  hidden: { arg: 'H', help: 'hidden units per layer', def: 128, int: true, min: 1 },
  embedding: { arg: 'E', help: 'embedding size', def: 64, int: true, min: 1 },
  dropout: { arg: 'P', help: 'dropout between layers, training only', def: 0, min: 0, max: 0.99 },
  'recurrent-dropout': { arg: 'P', help: 'variational dropout on h(t-1) -> W_hh, one mask per sequence, training only', def: 0, min: 0, max: 0.99 },
  'layer-norm': { help: 'layer-normalised cells (Ba et al. 2016)' },
  'forget-bias': { arg: 'X', help: "LSTM forget-gate bias at init (e.g. 1); 'none' keeps PyTorch's uniform init", def: 'none' },
  'init-state': { arg: 'S', help: 'the state each stream starts from', choices: INITIAL_STATES, def: 'zero' },
  'init-noise': { arg: 'X', help: 'noisy: std of that noise, training only', def: 0.1, min: 0 },
  'sum-outputs': { help: "the output layer reads the sum of all layers' outputs" },
  batch: { arg: 'B', help: 'parallel streams', def: 32, int: true, min: 1, group: 'Data and BPTT' },
  seq: { arg: 'K1', help: 'steps per update (k1)', def: 64, int: true, min: 1 },
  bptt: { arg: 'K2', help: 'steps each update backpropagates through (k2; default K1)', int: true, min: 1 },
  feed: { arg: 'F', help: "inputs: the true characters, the model's own samples, or a schedule from one to the other", choices: FEED_MODES, def: 'teacher' },
  schedule: { arg: 'S', help: 'how the fed-back share rises', choices: SCHEDULES, def: 'linear' },
  'schedule-steps': { arg: 'N', help: 'updates until the schedule feeds back 1/2 (linear: all)', def: 10000, min: 0, above: true },
  'feed-max': { arg: 'P', help: 'the schedule never feeds back more than P', def: 1, min: 0, max: 1 },
  ...OPTIM_FLAGS,
  pascanu: { arg: 'W', help: "add W x Pascanu et al.'s gradient-norm regularizer (rnn_tanh, rnn_relu)", def: 0, min: 0 },
  epochs: { arg: 'N', help: 'epochs to train', def: 10, min: 0, above: true, group: 'Run' },
  steps: { arg: 'N', help: 'total updates instead of --epochs', int: true, min: 1 },
  'time-limit': { arg: 'S', help: 'stop after S seconds (checkpoint saved)', def: 0, min: 0 },
  ...FAULT_FLAGS,
  'eval-every': { arg: 'N', help: 'steps between validation, sample, checkpoint', def: 250, int: true, min: 1 },
  'val-max-chars': { arg: 'N', help: 'validate on at most the first N characters of the validation text', def: 1_000_000, int: true, min: 2 },
  'sample-length': { arg: 'N', help: 'characters sampled at each evaluation', def: 200, int: true, min: 0 },
  'log-every': { arg: 'N', help: 'steps between log lines when not on a terminal', def: 50, int: true, min: 1 },
  'log-csv': { arg: 'FILE', help: 'one line per update: step, loss, gradient norm before clipping, clipped, lr, fed-back fraction, tokens/s' },
  out: { arg: 'DIR', help: 'checkpoint directory: DIR/latest.safetensors and DIR/best.safetensors (lowest validation loss)', def: 'checkpoints' },
  resume: { arg: 'CKPT', help: "continue the run saved in CKPT exactly where it stopped (checkpoints go to CKPT's directory unless --out is given)" },
  seed: { arg: 'S', help: 'same seed and options give the same run', def: 1, int: true, min: 0 },
  preset: { arg: 'NAME', help: 'demo: a 2x256 LSTM trained for two minutes', choices: ['demo'] },
  quiet: { help: 'print nothing but errors' },
};

export const TRAIN_HELP = `Usage: rnnkit train <text-file> [options]

Trains a character-level language model on a UTF-8 text file. The text is split
90/5/5 in order into train/validation/test; the vocabulary is every character of
the file. The file is read in chunks, never as one string: memory is the model
plus 1, 2 or 4 bytes per character (by vocabulary size). B streams of the
training text advance k1 steps per update, carrying each stream's hidden state
forward; each update backpropagates through the last k2 steps (truncated
BPTT(k1, k2); docs/training.md).

${flagHelp(FLAGS)}
Ctrl-C stops after the current step and writes DIR/latest.safetensors.
`;

/** Options that fix the model or the optimization; a resumed run takes them from its checkpoint. */
const FIXED_ON_RESUME = ['cell', 'layers', 'hidden', 'embedding', 'dropout', 'batch', 'seq', ...Object.keys(OPTIM_FLAGS), 'seed', 'preset',
  'recurrent-dropout', 'layer-norm', 'forget-bias', 'init-state', 'init-noise', 'sum-outputs', 'bptt', 'feed', 'schedule',
  'schedule-steps', 'feed-max', 'pascanu', 'val-max-chars'];

const PRESETS: Record<string, Record<string, string>> = {
  // Sized so two minutes on two cores (native or wasm backend) give play-like samples.
  demo: { cell: 'lstm', layers: '2', hidden: '256', embedding: '64', batch: '32', seq: '64', lr: '0.003',
    'time-limit': '120', epochs: '10', 'eval-every': '100', 'sample-length': '300' },
};

export async function trainCommand(argv: string[]): Promise<number> {
  const { flags: given, positionals: pos, help } = parseFlags('train', argv, FLAGS);
  if (help) { process.stdout.write(TRAIN_HELP); return 0; }
  const [file] = expectPositionals('train', pos, ['text-file']);
  const f = given.set('preset') ? given.withPreset(PRESETS[given.choice('preset')]!) : given;
  const resume = f.str('resume');
  if (resume) checkResumable(given, FIXED_ON_RESUME);
  const quiet = f.bool('quiet');
  // a resumed run keeps writing next to the checkpoint it came from
  const outDir = f.given('out') || !resume ? f.str('out')! : dirname(resume);
  const evalEvery = f.num('eval-every'), sampleLength = f.num('sample-length'), logEvery = f.num('log-every'), timeLimit = f.num('time-limit');

  const progress = new Progress();
  const corpus = await readCorpus(file!, quiet ? { what: 'text file' } : { what: 'text file', onProgress: readingProgress(progress, file!) });
  let lm: LanguageModel, trainer: Trainer<CharLM>;
  let ids: TokenIds = corpus.ids, resumedText: TextInfo | null = null;
  if (resume) {
    const ck = await readCheckpointFile(resume);
    const meta = runMeta(ck, resume);
    if (!meta) throw new UserError(`${resume}: checkpoint has no training state to resume (it holds only model weights)`);
    lm = new LanguageModel(ck.model, ck.vocab);
    ids = recode(ids, corpus.vocab, lm.vocab, file!);
    trainer = resumeTrainer(lm.net, ck, meta, ids, file!);
    resumedText = meta.text;
  } else {
    const cfg: Partial<TrainConfig> = {
      ...updateConfig(f), batch: f.num('batch'), seq: f.num('seq'), bptt: f.set('bptt') ? f.num('bptt') : 0,
      feed: f.choice<FeedMode>('feed'), schedule: f.choice<ScheduleName>('schedule'), scheduleSteps: f.num('schedule-steps'),
      feedMax: f.num('feed-max'), pascanu: f.num('pascanu'), seed: f.num('seed'),
    };
    for (const k of ['schedule', 'schedule-steps', 'feed-max'] as const) {
      if (f.set(k) && cfg.feed !== 'scheduled') throw new UserError(`--${k} needs --feed scheduled`);
    }
    const cell = f.choice<CellType>('cell');
    const initState = f.choice<InitialState>('init-state');
    if (f.set('init-noise') && initState !== 'noisy') throw new UserError('--init-noise needs --init-state noisy');
    if (cfg.pascanu && !cell.startsWith('rnn_')) throw new UserError(`--pascanu is for vanilla RNNs (--cell rnn_tanh or rnn_relu), not ${cell}`);
    if (cfg.pascanu && f.bool('layer-norm')) throw new UserError('--pascanu cannot be combined with --layer-norm');
    if (cfg.pascanu && f.set('recurrent-dropout')) throw new UserError('--pascanu cannot be combined with --recurrent-dropout');
    if (f.set('forget-bias') && cell !== 'lstm') throw new UserError(`--forget-bias is for LSTM cells, not ${cell}`);
    lm = LanguageModel.withVocab(corpus.vocab, {
      cell, num_layers: f.num('layers'), hidden_size: f.num('hidden'), embedding_size: f.num('embedding'),
      dropout: f.num('dropout'), recurrent_dropout: f.num('recurrent-dropout'), layer_norm: f.bool('layer-norm'),
      forget_bias: f.str('forget-bias') === 'none' ? null : f.num('forget-bias'),
      initial_state: initState, initial_noise: initState === 'noisy' ? f.num('init-noise') : 0, sum_outputs: f.bool('sum-outputs'),
    }, cfg.seed);
    trainer = new Trainer(lm.net, splitText(ids).train, cfg);
  }
  trainer.faults.setPolicy(faultPolicy(f));
  // validation reads a bounded prefix of its split: 5% of a 1 GB corpus would take minutes per evaluation
  const valAll = splitText(ids).val;
  const val = valAll.subarray(0, resume ? resumedText!.valChars ?? valAll.length : Math.min(valAll.length, f.num('val-max-chars')));
  // the hash over every id is computed once (resumeTrainer has checked the checkpoint's)
  const info: TextInfo = { name: basename(file!), chars: ids.length, hash: resumedText?.hash ?? fingerprint(ids), ...(val.length < valAll.length ? { valChars: val.length } : {}) };
  const steps = f.set('steps') ? f.num('steps') : Math.max(1, Math.round(f.num('epochs') * trainer.batches.chunksPerEpoch));
  if (resume && trainer.step >= steps) throw new UserError(`${resume}: already at step ${trainer.step}; pass a larger --steps or --epochs to continue`);

  const csv = f.set('log-csv') ? await openLog(f.str('log-csv')!, resume ? trainer.step : null) : null;
  const say = (line: string) => { if (!quiet) progress.log(line); };
  const c = lm.config, cfg = trainer.cfg;
  say(`rnnkit train: ${file} (${ids.length.toLocaleString('en')} chars, vocab ${lm.vocab.size}), ` +
    `${c.cell} ${c.num_layers}x${c.hidden_size}, embedding ${c.embedding_size}, ${lm.net.params.data.length.toLocaleString('en')} parameters, backend ${getBackend().name}`);
  const k2 = cfg.bptt || cfg.seq;
  say(`  batch ${cfg.batch}, TBPTT(k1=${cfg.seq}, k2=${k2}), ${cfg.optimizer} lr ${cfg.lr}, ${trainer.batches.updatesPerEpoch} steps/epoch, ` +
    `${resume ? `resuming at step ${trainer.step}, ` : ''}training to step ${steps}${timeLimit ? ` or ${formatDuration(timeLimit)}` : ''}`);
  const extras = [describeOptions(lm.config, cfg), describePolicy(trainer.faults.policy)].filter(Boolean).join(', ');
  if (extras) say(`  ${extras}`);
  if (val.length < valAll.length) say(`  validation on the first ${val.length.toLocaleString('en')} of ${valAll.length.toLocaleString('en')} validation characters (--val-max-chars)`);

  const save = (path: string) => writeCheckpointFile(path, encodeRun(lm, trainer, info));
  const latest = join(outDir, 'latest.safetensors'), best = join(outDir, 'best.safetensors');
  await cleanStaleTemps(outDir, [latest, best], say);

  let stop = false;
  const onSignal = () => {
    if (stop) process.exit(130); // second Ctrl-C: give up at once
    stop = true;
    if (!quiet) progress.log('stopping after this step (Ctrl-C again to quit without saving)...');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const t0 = Date.now(), step0 = trainer.step, tokensPerStep = cfg.batch * cfg.seq;
  let smooth = NaN;
  // clipping statistics since the last evaluation: how often, and the norms before clipping
  const clipStats = { n: 0, clipped: 0, normSum: 0, normMax: 0 };
  const skips = new SkipWarnings(say);
  const rate = () => ((trainer.step - step0) * tokensPerStep) / Math.max(1e-3, (Date.now() - t0) / 1000);
  try {
    const reason = await runTraining(trainer, val, lm.vocab, { steps, evalEvery, sampleLength, timeLimit }, {
      shouldStop: () => stop,
      onStep(r, t) {
        if (r.fault) skips.skipped(r.fault, t.faults); // no update: not in the smoothed loss, the clipping statistics or the CSV
        else {
          smooth = Number.isNaN(smooth) ? r.loss : 0.95 * smooth + 0.05 * r.loss;
          clipStats.n++; clipStats.normSum += r.gradNorm; clipStats.normMax = Math.max(clipStats.normMax, r.gradNorm);
          if (r.clipped) clipStats.clipped++;
          csv?.write(`${t.step},${r.loss},${r.gradNorm},${r.clipped ? 1 : 0},${r.lr},${r.fed},${Math.round(rate())}\n`);
        }
        if (quiet) return;
        const elapsed = (Date.now() - t0) / 1000, perStep = elapsed / (t.step - step0);
        let eta = (steps - t.step) * perStep;
        if (timeLimit) eta = Math.min(eta, timeLimit - elapsed);
        const line = `step ${t.step}/${steps} | epoch ${t.epochs.toFixed(2)} | loss ${smooth.toFixed(4)} | ` +
          `grad norm ${r.gradNorm.toPrecision(3)}${r.clipped ? ' (clipped)' : ''} | ` +
          `${cfg.feed === 'teacher' ? '' : `fed back ${(100 * r.fed).toFixed(0)}% | `}` +
          `${cfg.pascanu ? `Ω ${r.regularizer.toFixed(4)} | ` : ''}` +
          `${Math.round(rate()).toLocaleString('en')} tok/s | ETA ${formatDuration(eta)}${skippedNote(t.faults)}`;
        if (progress.live) progress.status(line);
        else if (t.step % logEvery === 0) progress.log(line);
      },
      async onEval(e: EvalReport) {
        await csv?.flush();
        // best first: killed between the two, latest is the older one and the resumed run redoes both
        if (e.best) await save(best);
        await save(latest);
        if (quiet) return;
        const val = Number.isNaN(e.valLoss) ? 'n/a' : `${e.valLoss.toFixed(4)} nats (${(e.valLoss / Math.LN2).toFixed(3)} bpc)${e.best ? ' *best*' : ''}`;
        const cs = clipStats, clipOn = cfg.clip > 0 || cfg.clipValue > 0;
        say(`step ${e.step} | epoch ${e.epochs.toFixed(2)} | train loss ${e.trainLoss.toFixed(4)} | val loss ${val} | ` +
          `grad norm mean ${(cs.normSum / Math.max(1, cs.n)).toPrecision(3)} max ${cs.normMax.toPrecision(3)}` +
          `${clipOn ? `, clipped ${cs.clipped}/${cs.n} (${((100 * cs.clipped) / Math.max(1, cs.n)).toFixed(0)}%)` : ''} | ` +
          `${Math.round(rate()).toLocaleString('en')} tok/s${skippedNote(trainer.faults)}`);
        Object.assign(clipStats, { n: 0, clipped: 0, normSum: 0, normMax: 0 });
        if (e.sample) say(`---- sample at step ${e.step} ----\n${e.sample}\n----`);
      },
    });
    if (reason === 'stopped') {
      await csv?.flush();
      await save(latest);
      say(`interrupted at step ${trainer.step}; saved ${latest}\nresume with: rnnkit train ${file} --resume ${latest}`);
      return 130;
    }
    const bestVal = Number.isFinite(trainer.bestVal) ? `, best val loss ${trainer.bestVal.toFixed(4)} nats (${(trainer.bestVal / Math.LN2).toFixed(3)} bpc)` : '';
    const skipped = trainer.faults.skipped ? `, ${trainer.faults.skipped} skipped` : '';
    say(`done at step ${trainer.step} (${reason === 'time' ? 'time limit' : 'all steps'}${skipped}) in ${formatDuration((Date.now() - t0) / 1000)}${bestVal}\n` +
      `checkpoints: ${best} (best), ${latest} (latest)\nsample more with: rnnkit sample ${best} --length 1000`);
    return 0;
  } catch (e) {
    progress.clear();
    throw faultStop(e, outDir, 'steps');
  } finally {
    progress.clear();
    await csv?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Progress of reading a big corpus: a live line on a terminal, a line per pass elsewhere. */
function readingProgress(progress: Progress, file: string): (pass: CorpusPass, done: number, total: number) => void {
  let shown: CorpusPass | null = null;
  return (pass, done, total) => {
    if (total < 32e6) return; // small files read in well under a second
    const what = pass === 'vocabulary' ? 'pass 1 of 2 (characters)' : 'pass 2 of 2 (token ids)';
    if (progress.live) progress.status(`reading ${file} (${formatBytes(total)}): ${what} ${Math.floor((100 * done) / total)}%`);
    else if (shown !== pass) progress.log(`reading ${file} (${formatBytes(total)}): ${what}...`);
    shown = pass;
  };
}

/** The non-default model and training options, for the header of the log. */
function describeOptions(c: LanguageModel['config'], t: TrainConfig): string {
  const parts: string[] = [];
  if (c.layer_norm) parts.push('layer norm');
  if (c.recurrent_dropout) parts.push(`recurrent dropout ${c.recurrent_dropout}`);
  if (c.dropout) parts.push(`dropout ${c.dropout}`);
  if (c.cell === 'lstm') parts.push(`forget bias ${c.forget_bias ?? 'PyTorch init'}`);
  if (c.initial_state !== 'zero') parts.push(`initial state ${c.initial_state}${c.initial_state === 'noisy' ? ` (std ${c.initial_noise})` : ''}`);
  if (c.sum_outputs) parts.push('head reads the sum of all layers');
  if (t.feed !== 'teacher') parts.push(t.feed === 'free' ? 'free running' : `scheduled sampling (${t.schedule}, 1/2 at step ${t.scheduleSteps}, max ${t.feedMax})`);
  parts.push(t.clipValue ? `clip value ${t.clipValue}` : t.clip ? `clip norm ${t.clip}` : 'no clipping');
  if (t.pascanu) parts.push(`Pascanu regularizer ${t.pascanu}`);
  if (!isReferenceConfig(c)) parts.push('(checkpoints need rnnkit: the PyTorch reference model lacks these layers)');
  return parts.join(', ');
}

/**
 * A CSV log. On --resume it continues the run's file: rows past the checkpoint's step
 * (logged by the run that was stopped or killed after it) and a torn last line are
 * dropped first, so every update appears once. flush() is called before each checkpoint,
 * so the rows up to a checkpoint's step are on disk whenever the checkpoint is.
 */
async function openLog(path: string, resumeStep: number | null): Promise<{ write(line: string): void; flush(): Promise<void>; close(): Promise<void> }> {
  const header = 'step,loss,grad_norm,clipped,lr,fed_back,tokens_per_s\n';
  let fh: FileHandle;
  try {
    if (resumeStep !== null) await trimLog(path, header, resumeStep);
    fh = await open(path, resumeStep !== null ? 'a' : 'w');
  } catch (e) {
    throw e instanceof UserError ? e : new UserError(`cannot write --log-csv ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let buf = (await fh.stat()).size === 0 ? header : '';
  // buffered, and writes chained: a write per step would cost more than a small model's step
  let pending: Promise<unknown> = Promise.resolve();
  const flush = async () => { const b = buf; buf = ''; if (b) pending = pending.then(() => fh.write(b)); await pending; };
  return {
    write(line) { buf += line; if (buf.length > 1 << 16) { const b = buf; buf = ''; pending = pending.then(() => fh.write(b)); } },
    flush,
    async close() { await flush(); await fh.close(); },
  };
}

/** Keeps the header and the complete rows up to `step` of an existing log (atomically); a missing file is left missing. */
async function trimLog(path: string, header: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (text !== '' && !text.startsWith(header)) throw new UserError(`--log-csv ${path}: not a log of rnnkit train (its first line is not the header), not appending to it`);
  const rows = text.slice(header.length).split('\n').slice(0, -1); // the part after the last newline is torn
  const kept = rows.filter((r) => Number(r.slice(0, r.indexOf(','))) <= step);
  if (kept.length !== rows.length || !text.endsWith('\n')) await writeFileAtomic(path, header + kept.map((r) => r + '\n').join(''));
}
