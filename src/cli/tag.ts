// rnnkit tag train | eval | predict: a label per token (many-to-many, aligned) from
// conll files: token<TAB>tag per line, a blank line between sequences.
import { basename } from 'node:path';
import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { UNITS, tokenize, type Tokenizer, type Units } from '../data/tokens.js';
import { parseConll, type TaggedSequence } from '../data/datasets.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { Tagger } from '../models/tagger.js';
import { encodeTagger, type TaggerBundle } from '../models/task-checkpoints.js';
import { expectKind } from '../models/checkpoints.js';
import { ExampleTrainer, type ExampleTrainerMeta } from '../train/examples.js';
import { checkValidationData } from '../train/example-meta.js';
import { evaluateTagger, predictTags, tagExamples, tagVocabulary, taggerTask, tokenKey, type TagEvaluation } from '../tasks/tag.js';
import { readTextFile } from '../node/files.js';
import { readModelFile } from '../node/checkpoint-file.js';
import { getBackend } from '../backend/registry.js';
import { expectPositionals, flagHelp, parseFlags, type FlagTable } from './flags.js';
import { FIXED_ON_RESUME, OPTIM_FLAGS, RUN_FLAGS, checkResumable, exampleTrainConfig, faultPolicy, loadResume, outDirOf, runExamples } from './example-run.js';
import { fingerprint, noteUnknown, readLines } from './text-input.js';
import { dispatch } from './subcommands.js';

const TRAIN_FLAGS: FlagTable = {
  val: { arg: 'FILE', help: 'validation sequences (default: hold out every 10th sequence of the training file)', group: 'Data' },
  test: { arg: 'FILE', help: 'test sequences, scored with the best checkpoint at the end' },
  units: { arg: 'U', help: 'how a token is embedded: chars (each token is one character) or words', choices: UNITS, def: 'words' },
  lowercase: { help: 'lowercase tokens before looking them up' },
  'min-count': { arg: 'N', help: 'tokens seen fewer times in training become <unk>', def: 1, int: true, min: 1 },
  cell: { arg: 'C', help: 'recurrent cell', choices: CELL_TYPES, def: 'lstm', group: 'Model' },
  layers: { arg: 'L', help: 'stacked recurrent layers', def: 1, int: true, min: 1 },
  hidden: { arg: 'H', help: 'hidden units per layer and direction', def: 128, int: true, min: 1 },
  embedding: { arg: 'E', help: 'token embedding size', def: 32, int: true, min: 1 },
  unidirectional: { help: 'read left to right only (default: both directions)' },
  dropout: { arg: 'P', help: 'dropout between layers and before the output layer, training only', def: 0, min: 0, max: 0.95 },
  'layer-norm': { help: 'layer-normalised cells (Ba et al. 2016)' },
  ...OPTIM_FLAGS,
  ...RUN_FLAGS,
};

const MODEL_FLAGS = ['units', 'lowercase', 'min-count', 'cell', 'layers', 'hidden', 'embedding', 'unidirectional', 'dropout', 'layer-norm'];

const TRAIN_HELP = `Usage: rnnkit tag train <train.conll> [--val FILE] [--test FILE] [options]

Trains a tagger that labels every token: the file holds one token<TAB>tag per line
and a blank line between sequences (a line is split at its last tab, so a token may
be a space or a tab). Reads each sequence in both directions by default. Tokens not
seen in training map to <unk>; a tag not seen in training is an error. Scored by
per-token accuracy on the validation set after every epoch; the best model is kept.

${flagHelp(TRAIN_FLAGS)}
Ctrl-C stops after the current step and writes DIR/latest.safetensors.
`;

const EVAL_HELP = `Usage: rnnkit tag eval <checkpoint> <file.conll> [--json]

Per-token accuracy, overall and per gold tag, next to the baseline that gives each
token the tag it carried most often in training (unseen tokens: the most frequent tag).

  --json        print one JSON object
  -h, --help
`;

const PREDICT_HELP = `Usage: rnnkit tag predict <checkpoint> [text ...]

Tags each text given, or each line of standard input: split into characters or
whitespace-separated words as the model was trained (--units), printed as
token<TAB>tag lines with a blank line after each sequence.

  -h, --help
`;

export async function tagCommand(argv: string[]): Promise<number> {
  return dispatch('tag', argv, { train: trainCommand, eval: evalCommand, predict: predictCommand });
}

async function readConll(path: string): Promise<TaggedSequence[]> {
  return parseConll(await readTextFile(path, 'conll file'), path);
}

async function trainCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals, help } = parseFlags('tag train', argv, TRAIN_FLAGS);
  if (help) { process.stdout.write(TRAIN_HELP); return 0; }
  const [file] = expectPositionals('tag train', positionals, ['train.conll']);
  const resume = f.str('resume');
  if (resume) checkResumable(f, [...FIXED_ON_RESUME, ...MODEL_FLAGS]);
  const all = await readConll(file!);
  const print = (name: string, items: TaggedSequence[]) => ({ name, examples: items.length, hash: fingerprint(items.map((s) => s.tokens.join('\u0001') + '\t' + s.tags.join('\u0001'))) });
  const data = print(basename(file!), all);
  const split = f.given('val') ? { train: all, val: await readConll(f.str('val')!) } : { train: all.filter((_, i) => i % 10 !== 9), val: all.filter((_, i) => i % 10 === 9) };
  if (split.val.length === 0) throw new UserError(`${file}: too few sequences to hold out a validation set; pass --val FILE`);
  const val = print(f.str('val') ?? `${basename(file!)} (held out)`, split.val);
  let bundle: TaggerBundle, meta: ExampleTrainerMeta | null = null, tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  if (resume) {
    const r = await loadResume(resume, 'tagger', 'tag train', data, file!);
    ({ tagger: bundle } = r.loaded);
    meta = r.state.trainer; tensors = r.tensors;
    checkValidationData(r.state, val);
  } else {
    const t: Tokenizer = { units: f.choice<Units>('units'), lowercase: f.bool('lowercase') };
    const v = tagVocabulary(split.train, t, f.num('min-count'), file!);
    const model = new Tagger({
      input: 'tokens', vocab_size: v.vocab.size, embedding_size: f.num('embedding'), cell: f.choice<CellType>('cell'), hidden_size: f.num('hidden'),
      num_layers: f.num('layers'), bidirectional: !f.bool('unidirectional'), dropout: f.num('dropout'), layer_norm: f.bool('layer-norm'), num_classes: v.tags.length,
    }).init(new Rng(f.num('seed')));
    bundle = { model, ...v };
  }
  const trainEx = tagExamples(bundle, split.train, file!), valEx = tagExamples(bundle, split.val, f.str('val') ?? `${file} (held out)`);
  const task = taggerTask(bundle.model);
  const trainer = new ExampleTrainer(task, trainEx, task.lengthOf, { ...(meta?.config ?? exampleTrainConfig(f)), epochs: f.num('epochs') });
  if (meta) trainer.restore(tensors, meta);
  const m = bundle.model.config, say = (s: string) => { if (!f.bool('quiet')) process.stderr.write(s + '\n'); };
  say(`rnnkit tag train: ${file} (${trainEx.length} train, ${valEx.length} validation sequences, ${trainEx.reduce((n, e) => n + e.seq.length, 0).toLocaleString('en')} tokens; ` +
    `${bundle.tags.length} tags; vocab ${bundle.vocab.size} ${bundle.tokenizer.units}), ${m.cell} ${m.num_layers}x${m.hidden_size}${m.bidirectional ? ' bidirectional' : ''}, ` +
    `${bundle.model.params.data.length.toLocaleString('en')} parameters, backend ${getBackend().name}`);
  const validate = () => {
    const e = evaluateTagger(bundle, valEx);
    return { score: e.accuracy, loss: e.loss, metrics: { accuracy: e.accuracy, baseline: e.baselineAccuracy } };
  };
  const res = await runExamples({
    command: 'tag train', trainer, validate, outDir: outDirOf(f, 'tag'), timeLimit: f.num('time-limit'), quiet: f.bool('quiet'), logEvery: f.num('log-every'), faults: faultPolicy(f),
    describe: (v) => `val accuracy ${(100 * v.metrics['accuracy']!).toFixed(2)}% (baseline ${(100 * v.metrics['baseline']!).toFixed(2)}%)`,
    encode: (t, md) => encodeTagger(bundle, t, md), runInfo: { data, val },
    resumeCommand: `rnnkit tag train ${file}${f.given('val') ? ` --val ${f.str('val')}` : ''}`,
  });
  if (res.code !== 0) return res.code;
  if (f.given('test')) {
    const best = expectKind(await readModelFile(res.best), 'tagger', 'tag').tagger;
    const e = evaluateTagger(best, tagExamples(best, await readConll(f.str('test')!), f.str('test')!));
    process.stdout.write(`test (${f.str('test')}, best checkpoint): accuracy ${(100 * e.accuracy).toFixed(2)}% over ${e.tokens} tokens; most-frequent-tag baseline ${(100 * e.baselineAccuracy).toFixed(2)}%\n\n` +
      perTagTable(e));
  }
  return 0;
}

function report(file: string, e: TagEvaluation): string {
  return `${file}: ${e.tokens} tokens, accuracy ${(100 * e.accuracy).toFixed(2)}% (most-frequent-tag baseline ${(100 * e.baselineAccuracy).toFixed(2)}%), loss ${e.loss.toFixed(4)} nats\n\n` + perTagTable(e);
}

/** Accuracy on the tokens of each gold tag, model next to baseline. */
function perTagTable(e: TagEvaluation): string {
  const w = Math.max(3, ...e.perTag.map((p) => p.tag.length));
  let s = `${'tag'.padEnd(w)}  ${'tokens'.padStart(8)}  ${'model'.padStart(8)}  ${'baseline'.padStart(8)}\n`;
  for (const p of e.perTag) s += `${p.tag.padEnd(w)}  ${String(p.support).padStart(8)}  ${(100 * p.accuracy).toFixed(2).padStart(7)}%  ${(100 * p.baseline).toFixed(2).padStart(7)}%\n`;
  return s;
}

async function evalCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals, help } = parseFlags('tag eval', argv, { json: { help: 'JSON output' } });
  if (help) { process.stdout.write(EVAL_HELP); return 0; }
  const [ckpt, file] = expectPositionals('tag eval', positionals, ['checkpoint', 'file.conll']);
  const b = expectKind(await readModelFile(ckpt!), 'tagger', 'tag eval').tagger;
  const e = evaluateTagger(b, tagExamples(b, await readConll(file!), file!));
  if (f.bool('json')) {
    process.stdout.write(JSON.stringify({ tokens: e.tokens, accuracy: e.accuracy, baseline_accuracy: e.baselineAccuracy, loss: e.loss,
      per_tag: Object.fromEntries(e.perTag.map((p) => [p.tag, { tokens: p.support, accuracy: p.accuracy, baseline: p.baseline }])) }) + '\n');
  } else process.stdout.write(report(file!, e));
  return 0;
}

async function predictCommand(argv: string[]): Promise<number> {
  const { positionals, help } = parseFlags('tag predict', argv, {});
  if (help) { process.stdout.write(PREDICT_HELP); return 0; }
  const [ckpt, ...texts] = positionals;
  if (!ckpt) throw new UserError('tag predict: expected <checkpoint> [text ...] (see rnnkit tag predict --help)');
  const b = expectKind(await readModelFile(ckpt), 'tagger', 'tag predict').tagger;
  const lines = texts.length ? texts : await readLines(process.stdin);
  const seqs: TaggedSequence[] = lines.map((l, i) => {
    const tokens = tokenize(l, { units: b.tokenizer.units, lowercase: false });
    if (!tokens.length) throw new UserError(`text ${i + 1} has no tokens`);
    noteUnknown(`text ${i + 1}`, b.vocab.unknown(tokens.map((t) => tokenKey(t, b.tokenizer, `text ${i + 1}`))));
    return { tokens, tags: tokens.map(() => b.tags[0]!), line: i + 1 };
  });
  const ex = tagExamples(b, seqs, 'input', false), { predicted } = predictTags(b.model, ex, 64, false);
  let out = '';
  seqs.forEach((s, i) => { out += s.tokens.map((tok, t) => `${tok}\t${b.tags[predicted[i]![t]!]}`).join('\n') + '\n\n'; });
  process.stdout.write(out);
  return 0;
}
