// rnnkit classify train | eval | predict: many-to-one text classification from
// `label<TAB>text` files.
import { basename } from 'node:path';
import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { UNITS, tokenize, type Tokenizer, type Units } from '../data/tokens.js';
import { parseLabelled, type Labelled } from '../data/datasets.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { POOLS, type Pool } from '../nn/pool.js';
import { Classifier } from '../models/classifier.js';
import { encodeClassifier, type ClassifierBundle } from '../models/classifier-checkpoint.js';
import { expectKind } from '../models/checkpoints.js';
import { ExampleTrainer } from '../train/examples.js';
import { checkValidationData, type RunState } from '../train/example-meta.js';
import { classifierTask, encodeText, evaluateClassifier, holdOut, textExamples, textVocabulary } from '../tasks/classify.js';
import { classificationMetrics, formatClassReport, formatConfusion } from '../metrics/classification.js';
import { trainBowLogReg } from '../baselines/bow-logreg.js';
import { readTextFile } from '../node/files.js';
import { readModelFile } from '../node/checkpoint-file.js';
import { getBackend } from '../backend/registry.js';
import { expectPositionals, flagHelp, parseFlags, type FlagTable } from './flags.js';
import { FIXED_ON_RESUME, OPTIM_FLAGS, RUN_FLAGS, checkResumable, exampleTrainConfig, faultPolicy, loadResume, outDirOf, runExamples } from './example-run.js';
import { fingerprint, noteUnknown, readLines } from './text-input.js';
import { dispatch } from './subcommands.js';

const TRAIN_FLAGS: FlagTable = {
  val: { arg: 'FILE', help: 'validation examples (default: hold out --val-fraction of the training file)', group: 'Data' },
  test: { arg: 'FILE', help: 'test examples, scored with the best checkpoint at the end' },
  baseline: { help: 'also score a bag-of-words logistic regression trained on the same split (validation and test)' },
  'val-fraction': { arg: 'F', help: 'share of each label held out for validation without --val', def: 0.1, min: 0, above: true, max: 0.5 },
  units: { arg: 'U', help: 'tokens', choices: UNITS, def: 'words' },
  lowercase: { help: 'lowercase the text before splitting it' },
  'min-count': { arg: 'N', help: 'tokens seen fewer times in training become <unk> (so <unk> is trained too)', def: 2, int: true, min: 1 },
  cell: { arg: 'C', help: 'recurrent cell', choices: CELL_TYPES, def: 'lstm', group: 'Model' },
  layers: { arg: 'L', help: 'stacked recurrent layers', def: 1, int: true, min: 1 },
  hidden: { arg: 'H', help: 'hidden units per layer and direction', def: 64, int: true, min: 1 },
  embedding: { arg: 'E', help: 'token embedding size', def: 16, int: true, min: 1 },
  bidirectional: { help: 'also read every text backwards' },
  pool: { arg: 'P', help: 'sequence summary: last state, or mean / max over the steps', choices: POOLS, def: 'mean' },
  dropout: { arg: 'P', help: 'dropout between layers and before the output layer, training only', def: 0.5, min: 0, max: 0.95 },
  'layer-norm': { help: 'layer-normalised cells (Ba et al. 2016)' },
  ...OPTIM_FLAGS,
  lr: { ...OPTIM_FLAGS['lr']!, def: 0.005 },
  ...RUN_FLAGS,
};

const MODEL_FLAGS = ['units', 'lowercase', 'min-count', 'cell', 'layers', 'hidden', 'embedding', 'bidirectional', 'pool', 'dropout', 'layer-norm', 'val-fraction'];

const TRAIN_HELP = `Usage: rnnkit classify train <train.tsv> [--val FILE] [--test FILE] [options]

Trains a many-to-one classifier: each line of the file is one example,
label<TAB>text (labels are any strings). The text is split into tokens (--units),
embedded, read by a recurrent network, summarised (--pool) and classified.
After every epoch the model is scored on the validation set; the best one is kept.
Tokens not seen in training map to <unk>; a label not seen in training is an error.

${flagHelp(TRAIN_FLAGS)}
Ctrl-C stops after the current step and writes DIR/latest.safetensors.
`;

const EVAL_HELP = `Usage: rnnkit classify eval <checkpoint> <file.tsv> [--json]

Scores a classifier on label<TAB>text examples: accuracy, per-class precision,
recall and F1, macro-F1, and the confusion matrix (rows: gold, columns: predicted).

  --json        print one JSON object with all of it
  --batch N     examples per forward (64)
  -h, --help
`;

const PREDICT_HELP = `Usage: rnnkit classify predict <checkpoint> [text ...]

Prints the predicted label and its probability for each text given, or for each
line of standard input when no text is given: label<TAB>probability<TAB>text.

  --json        one JSON object per text: {text, label, probabilities}
  -h, --help
`;

export async function classifyCommand(argv: string[]): Promise<number> {
  return dispatch('classify', argv, { train: trainCommand, eval: evalCommand, predict: predictCommand });
}

async function readLabelled(path: string): Promise<Labelled[]> {
  return parseLabelled(await readTextFile(path, 'labelled text file'), path);
}

async function trainCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals, help } = parseFlags('classify train', argv, TRAIN_FLAGS);
  if (help) { process.stdout.write(TRAIN_HELP); return 0; }
  const [file] = expectPositionals('classify train', positionals, ['train.tsv']);
  const resume = f.str('resume');
  if (resume) checkResumable(f, [...FIXED_ON_RESUME, ...MODEL_FLAGS]);
  const all = await readLabelled(file!);
  // hashed character by character: no string per example is kept
  const print = (name: string, items: Labelled[]) => ({ name, examples: items.length, hash: fingerprint((function* () { for (const e of items) yield `${e.label}\t${e.text}`; })()) });
  const data = print(basename(file!), all);
  let bundle: ClassifierBundle, state: RunState | null = null, tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const seed = f.num('seed');
  let fraction = f.num('val-fraction');
  // the held-out split follows from the seed (fraction is settled before the first call); computed once: a million examples take seconds
  const held = new Map<number, { train: Labelled[]; val: Labelled[] }>();
  const heldOut = (s: number) => held.get(s) ?? held.set(s, holdOut(all, fraction, new Rng(s * 31 + 7))).get(s)!;
  if (resume) {
    const r = await loadResume(resume, 'classifier', 'classify train', data, file!);
    ({ classifier: bundle } = r.loaded);
    state = r.state; tensors = r.tensors;
    fraction = state.valFraction ?? fraction; // --val-fraction cannot change on resume: the run's split
  } else {
    const tokenizer: Tokenizer = { units: f.choice<Units>('units'), lowercase: f.bool('lowercase') };
    const { vocab, labels } = textVocabulary(f.given('val') ? all : heldOut(seed).train, tokenizer, f.num('min-count'));
    const model = new Classifier({
      input: 'tokens', vocab_size: vocab.size, embedding_size: f.num('embedding'), cell: f.choice<CellType>('cell'),
      hidden_size: f.num('hidden'), num_layers: f.num('layers'), bidirectional: f.bool('bidirectional'),
      dropout: f.num('dropout'), layer_norm: f.bool('layer-norm'), pool: f.choice<Pool>('pool'), num_classes: labels.length,
    }).init(new Rng(seed));
    bundle = { model, labels, vocab, tokenizer };
  }
  const meta = state?.trainer ?? null, cfg = meta?.config ?? exampleTrainConfig(f);
  const split = f.given('val') ? { train: all, val: await readLabelled(f.str('val')!) } : heldOut(cfg.seed!);
  if (split.val.length === 0) throw new UserError(`${file}: too few examples to hold out a validation set; pass --val FILE`);
  const val = print(f.str('val') ?? `${basename(file!)} (held out)`, split.val);
  if (state) checkValidationData(state, val);
  const trainEx = textExamples(bundle, split.train, file!), valEx = textExamples(bundle, split.val, f.str('val') ?? `${file} (held out)`);
  const task = classifierTask(bundle.model);
  const trainer = new ExampleTrainer(task, trainEx, task.lengthOf, { ...cfg, epochs: f.num('epochs') });
  if (meta) trainer.restore(tensors, meta);
  const m = bundle.model.config;
  const say = (s: string) => { if (!f.bool('quiet')) process.stderr.write(s + '\n'); };
  say(`rnnkit classify train: ${file} (${trainEx.length} train, ${valEx.length} validation${f.given('val') ? '' : ' held out'}; ${bundle.labels.length} labels; ` +
    `vocab ${bundle.vocab!.size} ${bundle.tokenizer!.units}), ${m.cell} ${m.num_layers}x${m.hidden_size}${m.bidirectional ? ' bidirectional' : ''}, pool ${m.pool}, ` +
    `${bundle.model.params.data.length.toLocaleString('en')} parameters, backend ${getBackend().name}`);
  say(`  batch ${trainer.cfg.batch}, ${trainer.cfg.optimizer} lr ${trainer.cfg.lr}, ${trainer.batchesPerEpoch} steps/epoch${meta ? `, resuming at epoch ${trainer.epochs.toFixed(2)}` : ''}`);
  const validate = () => {
    const e = evaluateClassifier(bundle.model, valEx);
    return { score: e.metrics.accuracy, loss: e.loss, metrics: { accuracy: e.metrics.accuracy, macroF1: e.metrics.macroF1 } };
  };
  const outDir = outDirOf(f, 'classify');
  const res = await runExamples({
    command: 'classify train', trainer, validate, outDir, timeLimit: f.num('time-limit'), quiet: f.bool('quiet'), logEvery: f.num('log-every'), faults: faultPolicy(f),
    describe: (v) => `val accuracy ${(100 * v.metrics['accuracy']!).toFixed(2)}% (macro-F1 ${v.metrics['macroF1']!.toFixed(3)})`,
    encode: (t, md) => encodeClassifier(bundle, t, md),
    runInfo: { data, val, valFraction: fraction },
    resumeCommand: `rnnkit classify train ${file}${f.given('val') ? ` --val ${f.str('val')}` : ''}`,
  });
  if (res.code !== 0) return res.code;
  const test = f.given('test') ? await readLabelled(f.str('test')!) : null;
  if (test) {
    const r = await readModelFile(res.best), best = expectKind(r, 'classifier', 'classify').classifier;
    const testEx = textExamples(best, test, f.str('test')!);
    const e = evaluateClassifier(best.model, testEx);
    process.stdout.write(`test (${f.str('test')}, best checkpoint): accuracy ${(100 * e.metrics.accuracy).toFixed(2)}% over ${testEx.length} examples, macro-F1 ${e.metrics.macroF1.toFixed(3)}\n`);
  }
  if (f.bool('baseline')) {
    // the same training examples, labels and lowercasing; whitespace words whatever --units says
    const index = new Map(bundle.labels.map((l, i) => [l, i])), lower = bundle.tokenizer!.lowercase;
    const bow = trainBowLogReg(split.train.map((e) => e.text), split.train.map((e) => index.get(e.label)!), bundle.labels.length, { lowercase: lower, seed: cfg.seed ?? 1 });
    const score = (items: Labelled[]) => classificationMetrics(Int32Array.from(items, (e) => index.get(e.label) ?? -1), bow.predict(items.map((e) => e.text)), bundle.labels.length).accuracy;
    process.stdout.write(`bag-of-words logistic regression (${lower ? 'lowercased ' : ''}whitespace words, present or not) on the same split: val accuracy ${(100 * score(split.val)).toFixed(2)}%` +
      `${test ? `, test accuracy ${(100 * score(test)).toFixed(2)}%` : ''}\n`);
  }
  return 0;
}

async function evalCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals, help } = parseFlags('classify eval', argv, {
    json: { help: 'JSON output' }, batch: { arg: 'N', help: 'examples per forward', def: 64, int: true, min: 1 },
  });
  if (help) { process.stdout.write(EVAL_HELP); return 0; }
  const [ckpt, file] = expectPositionals('classify eval', positionals, ['checkpoint', 'file.tsv']);
  const b = expectKind(await readModelFile(ckpt!), 'classifier', 'classify eval').classifier;
  if (!b.vocab) throw new UserError(`${ckpt}: this classifier reads float vectors, not text; evaluate it from code (docs/tasks.md)`);
  const ex = textExamples(b, await readLabelled(file!), file!);
  const e = evaluateClassifier(b.model, ex, f.num('batch')), m = e.metrics;
  if (f.bool('json')) {
    const perClass = Object.fromEntries(b.labels.map((l, c) => [l, { precision: m.precision[c], recall: m.recall[c], f1: m.f1[c], support: m.support[c] }]));
    process.stdout.write(JSON.stringify({
      examples: ex.length, accuracy: m.accuracy, loss: e.loss, macro_precision: m.macroPrecision, macro_recall: m.macroRecall, macro_f1: m.macroF1,
      weighted_f1: m.weightedF1, per_class: perClass, labels: b.labels, confusion: m.confusion.map((r) => Array.from(r)),
    }) + '\n');
    return 0;
  }
  process.stdout.write(`${file}: ${ex.length} examples, accuracy ${(100 * m.accuracy).toFixed(2)}%, loss ${e.loss.toFixed(4)} nats\n\n` +
    `${formatClassReport(b.labels, m)}\nconfusion matrix (rows: gold, columns: predicted)\n${formatConfusion(b.labels, m.confusion)}`);
  return 0;
}

async function predictCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals, help } = parseFlags('classify predict', argv, { json: { help: 'JSON output' } });
  if (help) { process.stdout.write(PREDICT_HELP); return 0; }
  const [ckpt, ...texts] = positionals;
  if (!ckpt) throw new UserError('classify predict: expected <checkpoint> [text ...] (see rnnkit classify predict --help)');
  const b = expectKind(await readModelFile(ckpt), 'classifier', 'classify predict').classifier;
  if (!b.vocab) throw new UserError(`${ckpt}: this classifier reads float vectors, not text`);
  const inputs = texts.length ? texts : await readLines(process.stdin);
  const C = b.labels.length;
  for (let s = 0; s < inputs.length; s += 64) {
    const chunk = inputs.slice(s, s + 64);
    b.model.forward(chunk.map((t, i) => {
      noteUnknown(`text ${s + i + 1}`, b.vocab!.unknown(tokenize(t, b.tokenizer!)));
      return encodeText(b, t, `text ${s + i + 1}`);
    }), null);
    const p = b.model.probabilities();
    let out = '';
    chunk.forEach((t, i) => {
      let best = 0;
      for (let c = 1; c < C; c++) if (p[i * C + c]! > p[i * C + best]!) best = c;
      if (f.bool('json')) out += JSON.stringify({ text: t, label: b.labels[best], probabilities: Object.fromEntries(b.labels.map((l, c) => [l, p[i * C + c]])) }) + '\n';
      else out += `${b.labels[best]}\t${p[i * C + best]!.toFixed(4)}\t${t}\n`;
    });
    process.stdout.write(out);
  }
  return 0;
}
