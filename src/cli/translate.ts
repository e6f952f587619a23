// rnnkit translate train | eval | <checkpoint> [text ...]: sequence to sequence from
// source<TAB>target pairs (translation, transliteration, grapheme to phoneme, ...).
import { basename } from 'node:path';
import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { UNITS, tokenize, type Units } from '../data/tokens.js';
import { parsePairs, type Pair } from '../data/datasets.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { ATTENTIONS, Seq2Seq, type AttentionKind } from '../models/seq2seq.js';
import { encodeSeq2Seq, type Seq2SeqBundle } from '../models/task-checkpoints.js';
import { expectKind } from '../models/checkpoints.js';
import { ExampleTrainer, type ExampleTrainerMeta } from '../train/examples.js';
import { checkValidationData } from '../train/example-meta.js';
import { attentionMap, encodeSource, evaluateTranslation, pairExamples, seq2seqTask, translateText, translationVocabularies } from '../tasks/translate.js';
import { writeFileAtomic } from '../node/files.js';
import { svgToPng } from '../viz/png.js';
import { readTextFile } from '../node/files.js';
import { readModelFile } from '../node/checkpoint-file.js';
import { getBackend } from '../backend/registry.js';
import { expectPositionals, flagHelp, parseFlags, type FlagTable } from './flags.js';
import { FIXED_ON_RESUME, OPTIM_FLAGS, RUN_FLAGS, checkResumable, exampleTrainConfig, faultPolicy, loadResume, outDirOf, runExamples } from './example-run.js';
import { fingerprint, noteUnknown, readLines } from './text-input.js';
import { Progress } from './progress.js';

const DECODE_FLAGS: FlagTable = {
  beam: { arg: 'K', help: 'beam width; 1 = greedy decoding', def: 1, int: true, min: 1 },
  'length-norm': { arg: 'A', help: 'length normalisation of beam scores: log P / length^A (0 = none)', def: 1, min: 0 },
};

const TRAIN_FLAGS: FlagTable = {
  val: { arg: 'FILE', help: 'validation pairs (default: hold out every 20th pair of the training file)', group: 'Data' },
  test: { arg: 'FILE', help: 'test pairs, decoded with the best checkpoint at the end' },
  'source-units': { arg: 'U', help: 'source tokens', choices: UNITS, def: 'words' },
  'target-units': { arg: 'U', help: 'target tokens', choices: UNITS, def: 'words' },
  lowercase: { help: 'lowercase both sides' },
  'min-count': { arg: 'N', help: 'tokens seen fewer times in training become <unk>', def: 1, int: true, min: 1 },
  'val-max': { arg: 'N', help: 'validation pairs decoded for the score after each epoch', def: 500, int: true, min: 1 },
  cell: { arg: 'C', help: 'recurrent cell', choices: CELL_TYPES, def: 'lstm', group: 'Model' },
  layers: { arg: 'L', help: 'stacked layers, encoder and decoder', def: 1, int: true, min: 1 },
  hidden: { arg: 'H', help: 'hidden units', def: 256, int: true, min: 1 },
  embedding: { arg: 'E', help: 'embedding size, both sides', def: 128, int: true, min: 1 },
  bidirectional: { help: 'bidirectional encoder (a learned bridge gives the decoder its state)' },
  attention: { arg: 'A', help: "attention over the source: Luong et al.'s global attention with the general (luong) or Bahdanau et al.'s additive score, or none", choices: ATTENTIONS, def: 'luong' },
  'reverse-source': { help: 'read the source backwards (Sutskever et al. 2014)' },
  dropout: { arg: 'P', help: 'dropout between layers and before the output layer, training only', def: 0.3, min: 0, max: 0.95 },
  ...OPTIM_FLAGS,
  ...RUN_FLAGS,
  ...DECODE_FLAGS,
};
TRAIN_FLAGS['beam'] = { ...DECODE_FLAGS['beam']!, group: 'Decoding (validation and --test)' };

const MODEL_FLAGS = ['source-units', 'target-units', 'lowercase', 'min-count', 'cell', 'layers', 'hidden', 'embedding', 'bidirectional', 'attention', 'reverse-source', 'dropout'];

const TRAIN_HELP = `Usage: rnnkit translate train <pairs.tsv> [--val FILE] [--test FILE] [options]

Trains an encoder-decoder on source<TAB>target lines (words are whitespace-separated,
so "cat<TAB>K AE1 T" is a valid pair). Teacher forcing in training; after every
epoch the validation sources are decoded and scored by BLEU; the best model is kept.
Tokens not seen in training map to <unk>.

${flagHelp(TRAIN_FLAGS)}
Ctrl-C stops after the current step and writes DIR/latest.safetensors.
`;

const EVAL_HELP = `Usage: rnnkit translate eval <checkpoint> <pairs.tsv> [--beam K] [--json]

Decodes every source and scores the outputs against the targets: corpus BLEU-4
(sacreBLEU's definition and tokenisation), exact match, token error rate (edit
distance in target tokens over reference tokens), and the teacher-forced loss.

${flagHelp({ ...DECODE_FLAGS, json: { help: 'one JSON object, with every output' } })}`;

const TRANSLATE_FLAGS: FlagTable = {
  ...DECODE_FLAGS,
  heatmap: { arg: 'FILE', help: 'attention of the first output on its source, as an SVG (or .png) heat map' },
};

const TRANSLATE_HELP = `Usage: rnnkit translate <checkpoint> [text ...]

Translates each text given, or each line of standard input, one output per line.

${flagHelp(TRANSLATE_FLAGS)}`;

export async function translateCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'train': return trainCommand(rest);
    case 'eval': return evalCommand(rest);
    case undefined: case '-h': case '--help':
      process.stdout.write(`Usage: rnnkit translate train|eval ... | rnnkit translate <checkpoint> [text ...]\n\n${TRANSLATE_HELP}`);
      return sub === undefined ? 1 : 0;
    default: return translateText_(argv);
  }
}

async function readPairs(path: string): Promise<Pair[]> {
  return parsePairs(await readTextFile(path, 'pairs file'), path);
}

async function trainCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals, help } = parseFlags('translate train', argv, TRAIN_FLAGS);
  if (help) { process.stdout.write(TRAIN_HELP); return 0; }
  const [file] = expectPositionals('translate train', positionals, ['pairs.tsv']);
  const resume = f.str('resume');
  if (resume) checkResumable(f, [...FIXED_ON_RESUME, ...MODEL_FLAGS]);
  const all = await readPairs(file!);
  const print = (name: string, items: Pair[]) => ({ name, examples: items.length, hash: fingerprint(items.map((p) => `${p.source}\t${p.target}`)) });
  const data = print(basename(file!), all);
  const split = f.given('val') ? { train: all, val: await readPairs(f.str('val')!) } : { train: all.filter((_, i) => i % 20 !== 19), val: all.filter((_, i) => i % 20 === 19) };
  if (split.val.length === 0) throw new UserError(`${file}: too few pairs to hold out a validation set; pass --val FILE`);
  const val = print(f.str('val') ?? `${basename(file!)} (held out)`, split.val);
  let bundle: Seq2SeqBundle, meta: ExampleTrainerMeta | null = null, tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  if (resume) {
    const r = await loadResume(resume, 'seq2seq', 'translate train', data, file!);
    ({ seq2seq: bundle } = r.loaded);
    meta = r.state.trainer; tensors = r.tensors;
    checkValidationData(r.state, val);
  } else {
    const lc = f.bool('lowercase');
    const st = { units: f.choice<Units>('source-units'), lowercase: lc }, tt = { units: f.choice<Units>('target-units'), lowercase: lc };
    const { source, target } = translationVocabularies(split.train, st, tt, f.num('min-count'));
    const model = new Seq2Seq({
      cell: f.choice<CellType>('cell'), src_vocab_size: source.size, tgt_vocab_size: target.size, embedding_size: f.num('embedding'),
      hidden_size: f.num('hidden'), num_layers: f.num('layers'), bidirectional: f.bool('bidirectional'), dropout: f.num('dropout'),
      attention: f.choice<AttentionKind>('attention'), reverse_source: f.bool('reverse-source'), bos: 1, eos: 2,
    }).init(new Rng(f.num('seed')));
    bundle = { model, source, target, sourceTokenizer: st, targetTokenizer: tt };
  }
  const trainEx = pairExamples(bundle, split.train, file!);
  const valPairs = split.val.slice(0, f.num('val-max')), valEx = pairExamples(bundle, valPairs, f.str('val') ?? `${file} (held out)`);
  const task = seq2seqTask(bundle.model);
  const trainer = new ExampleTrainer(task, trainEx, task.lengthOf, { ...(meta?.config ?? exampleTrainConfig(f)), epochs: f.num('epochs') });
  if (meta) trainer.restore(tensors, meta);
  const m = bundle.model.config, dec = { beam: f.num('beam'), alpha: f.num('length-norm') };
  const say = (s: string) => { if (!f.bool('quiet')) process.stderr.write(s + '\n'); };
  say(`rnnkit translate train: ${file} (${trainEx.length} train, ${split.val.length} validation pairs${valEx.length < split.val.length ? ` (${valEx.length} decoded per epoch, --val-max)` : ''}; vocab ${bundle.source.size} ${bundle.sourceTokenizer.units} -> ` +
    `${bundle.target.size} ${bundle.targetTokenizer.units}), ${m.cell} ${m.num_layers}x${m.hidden_size}${m.bidirectional ? ', bidirectional encoder' : ''}, attention ${m.attention}` +
    `${m.reverse_source ? ', reversed source' : ''}, ${bundle.model.params.data.length.toLocaleString('en')} parameters, backend ${getBackend().name}`);
  const validate = () => {
    const e = evaluateTranslation(bundle, valPairs, valEx, dec);
    return { score: e.bleu, loss: e.loss, metrics: { bleu: e.bleu, exact: e.exactMatch } };
  };
  const res = await runExamples({
    command: 'translate train', trainer, validate, outDir: outDirOf(f, 'translate'), timeLimit: f.num('time-limit'), quiet: f.bool('quiet'), logEvery: f.num('log-every'), faults: faultPolicy(f),
    describe: (v) => `val BLEU ${v.metrics['bleu']!.toFixed(2)}, exact ${(100 * v.metrics['exact']!).toFixed(1)}%`,
    encode: (t, md) => encodeSeq2Seq(bundle, t, md), runInfo: { data, val },
    resumeCommand: `rnnkit translate train ${file}${f.given('val') ? ` --val ${f.str('val')}` : ''}`,
  });
  if (res.code !== 0) return res.code;
  if (f.given('test')) {
    const best = expectKind(await readModelFile(res.best), 'seq2seq', 'translate').seq2seq, pairs = await readPairs(f.str('test')!);
    const e = evaluateTranslation(best, pairs, pairExamples(best, pairs, f.str('test')!), dec);
    process.stdout.write(`test (${f.str('test')}, best checkpoint, beam ${dec.beam}): BLEU ${e.bleu.toFixed(2)}, exact match ${(100 * e.exactMatch).toFixed(2)}%, ` +
      `token error rate ${(100 * e.tokenErrorRate).toFixed(2)}% over ${pairs.length} pairs\n`);
  }
  return 0;
}

async function evalCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals, help } = parseFlags('translate eval', argv, { ...DECODE_FLAGS, json: { help: 'JSON output' } });
  if (help) { process.stdout.write(EVAL_HELP); return 0; }
  const [ckpt, file] = expectPositionals('translate eval', positionals, ['checkpoint', 'pairs.tsv']);
  const b = expectKind(await readModelFile(ckpt!), 'seq2seq', 'translate eval').seq2seq, pairs = await readPairs(file!);
  const progress = new Progress();
  const e = evaluateTranslation(b, pairs, pairExamples(b, pairs, file!), { beam: f.num('beam'), alpha: f.num('length-norm') },
    (n) => progress.status(`decoding ${n}/${pairs.length}`));
  progress.clear();
  if (f.bool('json')) {
    process.stdout.write(JSON.stringify({ pairs: pairs.length, beam: f.num('beam'), length_norm: f.num('length-norm'), bleu: e.bleu, exact_match: e.exactMatch,
      token_error_rate: e.tokenErrorRate, loss: e.loss, outputs: e.hypotheses }) + '\n');
  } else {
    process.stdout.write(`${file}: ${pairs.length} pairs, beam ${f.num('beam')}: BLEU ${e.bleu.toFixed(2)}, exact match ${(100 * e.exactMatch).toFixed(2)}%, ` +
      `token error rate ${(100 * e.tokenErrorRate).toFixed(2)}%, loss ${e.loss.toFixed(4)} nats/token\n`);
  }
  return 0;
}

async function translateText_(argv: string[]): Promise<number> {
  const { flags: f, positionals, help } = parseFlags('translate', argv, TRANSLATE_FLAGS);
  if (help) { process.stdout.write(TRANSLATE_HELP); return 0; }
  const [ckpt, ...texts] = positionals;
  const b = expectKind(await readModelFile(ckpt!), 'seq2seq', 'translate').seq2seq;
  const heat = f.str('heatmap');
  if (heat && b.model.config.attention === 'none') throw new UserError(`--heatmap: ${ckpt} has no attention (trained with --attention none)`);
  const lines = texts.length ? texts : await readLines(process.stdin);
  let out = '';
  const outputs = lines.map((t, i) => {
    noteUnknown(`text ${i + 1}`, b.source.unknown(tokenize(t, b.sourceTokenizer)));
    return translateText(b, encodeSource(b, t, `text ${i + 1}`), { beam: f.num('beam'), alpha: f.num('length-norm') });
  });
  for (const o of outputs) out += o + '\n';
  process.stdout.write(out);
  if (heat && lines.length) {
    const { svg } = attentionMap(b, lines[0]!, outputs[0]!);
    await writeFileAtomic(heat, heat.endsWith('.png') ? await svgToPng(svg, { scale: 2 }) : svg);
    process.stderr.write(`wrote ${heat}\n`);
  }
  return 0;
}
