// rnnkit train <text-file>: char-rnn style training with validation, samples,
// best/latest checkpoints, exact resume, and a clean stop on Ctrl-C.
import { basename, dirname, join } from 'node:path';
import { parse, num, oneOf, positionals, type Options } from './args.js';
import { Progress, formatDuration } from './progress.js';
import { UserError } from '../core/errors.js';
import { readTextFile } from '../node/files.js';
import { readCheckpointFile, writeCheckpointFile } from '../node/checkpoint-file.js';
import { LanguageModel } from '../models/language-model.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { Trainer, DEFAULT_TRAIN, FEED_MODES, NonFiniteError, type TrainConfig, type TrainerMeta } from '../train/trainer.js';
import { SCHEDULES } from '../train/schedule.js';
import { INITIAL_STATES, isReferenceConfig, type InitialState } from '../models/char-lm.js';
import { open, type FileHandle } from 'node:fs/promises';
import { OPTIMIZERS } from '../train/optim.js';
import { runTraining, type EvalReport } from '../train/run.js';
import { splitText } from '../train/train-text.js';
import { getBackend } from '../backend/registry.js';

export const TRAIN_HELP = `Usage: rnnkit train <text-file> [options]

Trains a character-level language model on a UTF-8 text file. The text is split
90/5/5 in order into train/validation/test; the vocabulary is every character of
the file. B streams of the training text advance k1 steps per update, carrying
each stream's hidden state forward; each update backpropagates through the last
k2 steps (truncated BPTT(k1, k2); docs/training.md).

Model:
  --cell C             lstm | gru | rnn_tanh | rnn_relu          (lstm)
  --layers L           stacked recurrent layers                  (2)
  --hidden H           hidden units per layer                    (128)
  --embedding E        embedding size                            (64)
  --dropout P          dropout between layers, training only     (0)
  --recurrent-dropout P  variational dropout on h(t-1) -> W_hh, one mask
                       per sequence, training only               (0)
  --layer-norm         layer-normalised cells (Ba et al. 2016)
  --forget-bias X      LSTM forget-gate bias at init; 'none' keeps
                       PyTorch's uniform init                    (1)
  --init-state S       zero | learned | noisy: the state each stream
                       starts from                               (zero)
  --init-noise X       noisy: std of that noise, training only   (0.1)
  --sum-outputs        the output layer reads the sum of all layers' outputs
Data and BPTT:
  --batch B            parallel streams                          (32)
  --seq K1             steps per update (k1)                     (64)
  --bptt K2            steps each update backpropagates through (k2) (= K1)
  --feed F             teacher | free | scheduled: inputs are the true
                       characters, the model's own samples, or a schedule
                       rising from one to the other              (teacher)
  --schedule S         linear | inverse-sigmoid | exponential    (linear)
  --schedule-steps N   updates until the schedule feeds back 1/2 (linear: all) (10000)
  --feed-max P         the schedule never feeds back more than P (1)
Optimization:
  --optimizer O        sgd | adagrad | rmsprop | adam            (adam)
  --lr X               learning rate                             (0.002)
  --momentum X         sgd momentum                              (0.9)
  --alpha X            rmsprop squared-gradient decay            (0.99)
  --beta1 X, --beta2 X adam moment decays                        (0.9, 0.999)
  --eps X              adagrad/rmsprop/adam epsilon              (1e-8)
  --clip N             clip the global gradient norm to N, 0=off (5)
  --clip-value X       clip each gradient entry to [-X, X] instead
  --pascanu W          add W x Pascanu et al.'s gradient-norm regularizer
                       (rnn_tanh, rnn_relu)                      (0)
  --lr-decay F         multiply lr by F after each epoch ...     (1 = none)
  --lr-decay-after E   ... once E epochs are done                (0)
Run:
  --epochs N           epochs to train                           (10)
  --steps N            total updates instead of --epochs
  --time-limit S       stop after S seconds (checkpoint saved)
  --eval-every N       steps between validation, sample, checkpoint (250)
  --sample-length N    characters sampled at each evaluation     (200)
  --log-every N        steps between log lines when not on a terminal (50)
  --log-csv FILE       one line per update: step, loss, gradient norm before
                       clipping, clipped, lr, fed-back fraction, tokens/s
  --out DIR            checkpoint directory: DIR/latest.safetensors and
                       DIR/best.safetensors (lowest validation loss) (checkpoints)
  --resume CKPT        continue the run saved in CKPT exactly where it stopped
                       (checkpoints go to CKPT's directory unless --out is given)
  --seed S             same seed and options give the same run   (1)
  --preset NAME        demo: a 2x256 LSTM trained for two minutes
  --quiet              print nothing but errors
  -h, --help

Ctrl-C stops after the current step and writes DIR/latest.safetensors.
`;

const OPTIONS: Options = {
  cell: { type: 'string' }, layers: { type: 'string' }, hidden: { type: 'string' }, embedding: { type: 'string' },
  dropout: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' }, optimizer: { type: 'string' },
  lr: { type: 'string' }, momentum: { type: 'string' }, alpha: { type: 'string' }, beta1: { type: 'string' },
  beta2: { type: 'string' }, eps: { type: 'string' }, clip: { type: 'string' }, 'clip-value': { type: 'string' },
  'lr-decay': { type: 'string' }, 'lr-decay-after': { type: 'string' }, epochs: { type: 'string' }, steps: { type: 'string' },
  'time-limit': { type: 'string' }, 'eval-every': { type: 'string' }, 'sample-length': { type: 'string' },
  'log-every': { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' }, seed: { type: 'string' },
  preset: { type: 'string' }, quiet: { type: 'boolean' }, backend: { type: 'string' },
  'recurrent-dropout': { type: 'string' }, 'layer-norm': { type: 'boolean' }, 'forget-bias': { type: 'string' },
  'init-state': { type: 'string' }, 'init-noise': { type: 'string' }, 'sum-outputs': { type: 'boolean' },
  bptt: { type: 'string' }, feed: { type: 'string' }, schedule: { type: 'string' }, 'schedule-steps': { type: 'string' },
  'feed-max': { type: 'string' }, pascanu: { type: 'string' }, 'log-csv': { type: 'string' },
};

/** Options that fix the model or the optimization; a resumed run takes them from its checkpoint. */
const FIXED_ON_RESUME = ['cell', 'layers', 'hidden', 'embedding', 'dropout', 'batch', 'seq', 'optimizer', 'lr', 'momentum',
  'alpha', 'beta1', 'beta2', 'eps', 'clip', 'clip-value', 'lr-decay', 'lr-decay-after', 'seed', 'preset',
  'recurrent-dropout', 'layer-norm', 'forget-bias', 'init-state', 'init-noise', 'sum-outputs', 'bptt', 'feed', 'schedule',
  'schedule-steps', 'feed-max', 'pascanu'];

const PRESETS: Record<string, Record<string, string>> = {
  // Sized so two minutes on two cores (native or wasm backend) give play-like samples.
  demo: { cell: 'lstm', layers: '2', hidden: '256', embedding: '64', batch: '32', seq: '64', lr: '0.003',
    'time-limit': '120', epochs: '10', 'eval-every': '100', 'sample-length': '300' },
};

interface RunMeta { trainer: TrainerMeta; text: { name: string; chars: number; hash: string } }

export async function trainCommand(argv: string[]): Promise<number> {
  const { values: given, positionals: pos } = parse('train', argv, OPTIONS);
  if (given['help']) { process.stdout.write(TRAIN_HELP); return 0; }
  const [file] = positionals('train', pos, ['text-file']);
  const presetName = given['preset'] as string | undefined;
  if (presetName !== undefined && !PRESETS[presetName]) throw new UserError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${presetName}'`);
  const v: Record<string, unknown> = { ...(presetName ? PRESETS[presetName] : {}), ...given };
  const resume = v['resume'] as string | undefined;
  if (resume) {
    const fixed = FIXED_ON_RESUME.filter((k) => given[k] !== undefined);
    if (fixed.length) throw new UserError(`--${fixed[0]} cannot be changed when resuming: model and optimizer options come from the checkpoint`);
  }
  const quiet = !!v['quiet'];
  // a resumed run keeps writing next to the checkpoint it came from
  const outDir = (v['out'] as string | undefined) ?? (resume ? dirname(resume) : 'checkpoints');
  const evalEvery = num(v, 'eval-every', 250, { int: true, min: 1 });
  const sampleLength = num(v, 'sample-length', 200, { int: true, min: 0 });
  const logEvery = num(v, 'log-every', 50, { int: true, min: 1 });
  const timeLimit = num(v, 'time-limit', 0, { min: 0 });

  const text = await readTextFile(file!, 'text file');
  let lm: LanguageModel, trainer: Trainer;
  let ids: Int32Array;
  const textInfo = (ids: Int32Array) => ({ name: basename(file!), chars: ids.length, hash: fingerprint(ids) });
  if (resume) {
    const ck = await readCheckpointFile(resume);
    const raw = ck.metadata['train'];
    if (!raw) throw new UserError(`${resume}: checkpoint has no training state to resume (it holds only model weights)`);
    const meta = JSON.parse(raw) as RunMeta;
    lm = new LanguageModel(ck.model, ck.vocab);
    ids = lm.vocab.encode(text, file!);
    const info = textInfo(ids);
    if (info.chars !== meta.text.chars || info.hash !== meta.text.hash) {
      throw new UserError(`${file}: not the text this checkpoint was trained on (${meta.text.name}, ${meta.text.chars} characters)`);
    }
    trainer = new Trainer(lm.net, splitText(ids).train, meta.trainer.config);
    trainer.restore(ck.extra, meta.trainer);
  } else {
    const cfg: Partial<TrainConfig> = {
      batch: num(v, 'batch', DEFAULT_TRAIN.batch, { int: true, min: 1 }),
      seq: num(v, 'seq', DEFAULT_TRAIN.seq, { int: true, min: 1 }),
      optimizer: oneOf(v, 'optimizer', DEFAULT_TRAIN.optimizer, OPTIMIZERS),
      lr: num(v, 'lr', DEFAULT_TRAIN.lr, { min: 0, minExclusive: true }),
      momentum: num(v, 'momentum', DEFAULT_TRAIN.momentum, { min: 0, max: 1 }),
      alpha: num(v, 'alpha', DEFAULT_TRAIN.alpha, { min: 0, max: 1 }),
      beta1: num(v, 'beta1', DEFAULT_TRAIN.beta1, { min: 0, max: 1 }),
      beta2: num(v, 'beta2', DEFAULT_TRAIN.beta2, { min: 0, max: 1 }),
      eps: num(v, 'eps', DEFAULT_TRAIN.eps, { min: 0, minExclusive: true }),
      clip: num(v, 'clip', DEFAULT_TRAIN.clip, { min: 0 }),
      clipValue: num(v, 'clip-value', 0, { min: 0 }),
      lrDecay: num(v, 'lr-decay', 1, { min: 0, max: 1, minExclusive: true }),
      lrDecayAfter: num(v, 'lr-decay-after', 0, { int: true, min: 0 }),
      bptt: num(v, 'bptt', 0, { int: true, min: 1 }),
      feed: oneOf(v, 'feed', DEFAULT_TRAIN.feed, FEED_MODES),
      schedule: oneOf(v, 'schedule', DEFAULT_TRAIN.schedule, SCHEDULES),
      scheduleSteps: num(v, 'schedule-steps', DEFAULT_TRAIN.scheduleSteps, { min: 0, minExclusive: true }),
      feedMax: num(v, 'feed-max', DEFAULT_TRAIN.feedMax, { min: 0, max: 1 }),
      pascanu: num(v, 'pascanu', 0, { min: 0 }),
      seed: num(v, 'seed', DEFAULT_TRAIN.seed, { int: true, min: 0 }),
    };
    for (const k of ['schedule', 'schedule-steps', 'feed-max'] as const) {
      if (v[k] !== undefined && cfg.feed !== 'scheduled') throw new UserError(`--${k} needs --feed scheduled`);
    }
    const cell = oneOf<CellType>(v, 'cell', 'lstm', CELL_TYPES);
    const initState = oneOf<InitialState>(v, 'init-state', 'zero', INITIAL_STATES);
    if (v['init-noise'] !== undefined && initState !== 'noisy') throw new UserError('--init-noise needs --init-state noisy');
    if (cfg.pascanu && !cell.startsWith('rnn_')) throw new UserError(`--pascanu is for vanilla RNNs (--cell rnn_tanh or rnn_relu), not ${cell}`);
    if (cfg.pascanu && v['layer-norm']) throw new UserError('--pascanu cannot be combined with --layer-norm');
    if (cfg.pascanu && v['recurrent-dropout'] !== undefined) throw new UserError('--pascanu cannot be combined with --recurrent-dropout');
    const fb = v['forget-bias'] as string | undefined;
    if (fb !== undefined && cell !== 'lstm') throw new UserError(`--forget-bias is for LSTM cells, not ${cell}`);
    lm = LanguageModel.create(text, {
      cell,
      num_layers: num(v, 'layers', 2, { int: true, min: 1 }),
      hidden_size: num(v, 'hidden', 128, { int: true, min: 1 }),
      embedding_size: num(v, 'embedding', 64, { int: true, min: 1 }),
      dropout: num(v, 'dropout', 0, { min: 0, max: 0.99 }),
      recurrent_dropout: num(v, 'recurrent-dropout', 0, { min: 0, max: 0.99 }),
      layer_norm: !!v['layer-norm'],
      forget_bias: fb === 'none' ? null : num(v, 'forget-bias', 1, {}),
      initial_state: initState,
      initial_noise: num(v, 'init-noise', initState === 'noisy' ? 0.1 : 0, { min: 0 }),
      sum_outputs: !!v['sum-outputs'],
    }, cfg.seed);
    ids = lm.vocab.encode(text, file!);
    trainer = new Trainer(lm.net, splitText(ids).train, cfg);
  }
  const { val } = splitText(ids);
  const steps = v['steps'] !== undefined ? num(v, 'steps', 0, { int: true, min: 1 })
    : Math.max(1, Math.round(num(v, 'epochs', 10, { min: 0, minExclusive: true }) * trainer.batches.chunksPerEpoch));
  if (resume && trainer.step >= steps) throw new UserError(`${resume}: already at step ${trainer.step}; pass a larger --steps or --epochs to continue`);

  const csv = v['log-csv'] ? await openLog(v['log-csv'] as string, !!resume) : null;
  const progress = new Progress();
  const say = (line: string) => { if (!quiet) progress.log(line); };
  const c = lm.config, cfg = trainer.cfg;
  say(`rnnkit train: ${file} (${ids.length.toLocaleString('en')} chars, vocab ${lm.vocab.size}), ` +
    `${c.cell} ${c.num_layers}x${c.hidden_size}, embedding ${c.embedding_size}, ${lm.net.params.data.length.toLocaleString('en')} parameters, backend ${getBackend().name}`);
  const k2 = cfg.bptt || cfg.seq;
  say(`  batch ${cfg.batch}, TBPTT(k1=${cfg.seq}, k2=${k2}), ${cfg.optimizer} lr ${cfg.lr}, ${trainer.batches.updatesPerEpoch} steps/epoch, ` +
    `${resume ? `resuming at step ${trainer.step}, ` : ''}training to step ${steps}${timeLimit ? ` or ${formatDuration(timeLimit)}` : ''}`);
  const extras = describeOptions(lm.config, cfg);
  if (extras) say(`  ${extras}`);

  const save = async (path: string) => {
    const snap = trainer.snapshot();
    const meta: RunMeta = { trainer: snap.meta, text: textInfo(ids) };
    await writeCheckpointFile(path, lm.toBytes(snap.tensors, { train: JSON.stringify(meta) }));
  };
  const latest = join(outDir, 'latest.safetensors'), best = join(outDir, 'best.safetensors');

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
  const rate = () => ((trainer.step - step0) * tokensPerStep) / Math.max(1e-3, (Date.now() - t0) / 1000);
  try {
    const reason = await runTraining(trainer, val, lm.vocab, { steps, evalEvery, sampleLength, timeLimit }, {
      shouldStop: () => stop,
      onStep(r, t) {
        smooth = Number.isNaN(smooth) ? r.loss : 0.95 * smooth + 0.05 * r.loss;
        clipStats.n++; clipStats.normSum += r.gradNorm; clipStats.normMax = Math.max(clipStats.normMax, r.gradNorm);
        if (r.clipped) clipStats.clipped++;
        csv?.write(`${t.step},${r.loss},${r.gradNorm},${r.clipped ? 1 : 0},${r.lr},${r.fed},${Math.round(rate())}\n`);
        if (quiet) return;
        const elapsed = (Date.now() - t0) / 1000, perStep = elapsed / (t.step - step0);
        let eta = (steps - t.step) * perStep;
        if (timeLimit) eta = Math.min(eta, timeLimit - elapsed);
        const line = `step ${t.step}/${steps} | epoch ${t.epochs.toFixed(2)} | loss ${smooth.toFixed(4)} | ` +
          `grad norm ${r.gradNorm.toPrecision(3)}${r.clipped ? ' (clipped)' : ''} | ` +
          `${cfg.feed === 'teacher' ? '' : `fed back ${(100 * r.fed).toFixed(0)}% | `}` +
          `${cfg.pascanu ? `Ω ${r.regularizer.toFixed(4)} | ` : ''}` +
          `${Math.round(rate()).toLocaleString('en')} tok/s | ETA ${formatDuration(eta)}`;
        if (progress.live) progress.status(line);
        else if (t.step % logEvery === 0) progress.log(line);
      },
      async onEval(e: EvalReport) {
        await save(latest);
        if (e.best) await save(best);
        if (quiet) return;
        const val = Number.isNaN(e.valLoss) ? 'n/a' : `${e.valLoss.toFixed(4)} nats (${(e.valLoss / Math.LN2).toFixed(3)} bpc)${e.best ? ' *best*' : ''}`;
        const cs = clipStats, clipOn = cfg.clip > 0 || cfg.clipValue > 0;
        say(`step ${e.step} | epoch ${e.epochs.toFixed(2)} | train loss ${e.trainLoss.toFixed(4)} | val loss ${val} | ` +
          `grad norm mean ${(cs.normSum / Math.max(1, cs.n)).toPrecision(3)} max ${cs.normMax.toPrecision(3)}` +
          `${clipOn ? `, clipped ${cs.clipped}/${cs.n} (${((100 * cs.clipped) / Math.max(1, cs.n)).toFixed(0)}%)` : ''} | ` +
          `${Math.round(rate()).toLocaleString('en')} tok/s`);
        Object.assign(clipStats, { n: 0, clipped: 0, normSum: 0, normMax: 0 });
        if (e.sample) say(`---- sample at step ${e.step} ----\n${e.sample}\n----`);
      },
    });
    if (reason === 'stopped') {
      await save(latest);
      say(`interrupted at step ${trainer.step}; saved ${latest}\nresume with: rnnkit train ${file} --resume ${latest}`);
      return 130;
    }
    const bestVal = Number.isFinite(trainer.bestVal) ? `, best val loss ${trainer.bestVal.toFixed(4)} nats (${(trainer.bestVal / Math.LN2).toFixed(3)} bpc)` : '';
    say(`done at step ${trainer.step} (${reason === 'time' ? 'time limit' : 'all steps'}) in ${formatDuration((Date.now() - t0) / 1000)}${bestVal}\n` +
      `checkpoints: ${best} (best), ${latest} (latest)\nsample more with: rnnkit sample ${best} --length 1000`);
    return 0;
  } catch (e) {
    if (e instanceof NonFiniteError) {
      progress.clear();
      throw new UserError(`${e.message}; checkpoints in ${outDir} are from earlier steps and untouched`);
    }
    throw e;
  } finally {
    progress.clear();
    await csv?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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

/** A CSV log, appended to when resuming (the header is written once). */
async function openLog(path: string, append: boolean): Promise<{ write(line: string): void; close(): Promise<void> }> {
  let fh: FileHandle;
  try {
    fh = await open(path, append ? 'a' : 'w');
  } catch (e) {
    throw new UserError(`cannot write --log-csv ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let buf = (await fh.stat()).size === 0 ? 'step,loss,grad_norm,clipped,lr,fed_back,tokens_per_s\n' : '';
  // buffered, and writes chained: a write per step would cost more than a small model's step
  let pending: Promise<unknown> = Promise.resolve();
  return {
    write(line) { buf += line; if (buf.length > 1 << 16) { const b = buf; buf = ''; pending = pending.then(() => fh.write(b)); } },
    async close() { const b = buf; buf = ''; await pending; if (b) await fh.write(b); await fh.close(); },
  };
}

/** FNV-1a over the token ids: tells a resumed run whether it got the same text. */
function fingerprint(ids: Int32Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < ids.length; i++) h = Math.imul(h ^ ids[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
