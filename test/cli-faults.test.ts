// Numerical faults end to end: `rnnkit train` and `classify train` on configurations
// that blow up, with --on-fault stop and skip and --spike (messages, exit codes,
// checkpoints left alone, the skip count across --resume); and models whose outputs
// overflow float32 refused at prediction time by every task command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { Rng } from '../src/core/rng.js';
import type { ParamSet } from '../src/core/params.js';
import { TokenVocab } from '../src/data/tokens.js';
import { Classifier } from '../src/models/classifier.js';
import { Tagger } from '../src/models/tagger.js';
import { Seq2Seq } from '../src/models/seq2seq.js';
import { Generator } from '../src/models/generator.js';
import { encodeClassifier } from '../src/models/classifier-checkpoint.js';
import { encodeGenerator, encodeSeq2Seq, encodeTagger } from '../src/models/task-checkpoints.js';
import { runBytes } from './checkpoint-fuzz.js';
import { assertUserError, cliRunner, ROOT, SHAKESPEARE } from './cli-helpers.js';

const run = cliRunner(() => dir);
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-cli-faults-'));
  await writeFile(join(dir, 't.txt'), (await readFile(SHAKESPEARE, 'utf8')).slice(0, 6000));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SMALL = ['--layers', '1', '--hidden', '16', '--embedding', '8', '--sample-length', '0'];
/** A ReLU RNN with a huge SGD step: its forward pass overflows from the second step on, every step. */
const EXPLODING = [...SMALL, '--batch', '4', '--seq', '16', '--cell', 'rnn_relu', '--optimizer', 'sgd', '--lr', '1e8', '--clip', '0', '--momentum', '0'];

const lines = (s: string) => s.trimEnd().split('\n');
function meta(path: string): { trainer: { step: number; faults?: { skipped: number } } } {
  return JSON.parse(decodeSafetensors(readFileSync(join(dir, path))).metadata['train']!);
}

/** An out directory holding files a faulty run must not touch. */
async function outDir(name: string): Promise<() => Promise<void>> {
  await mkdir(join(dir, name), { recursive: true });
  for (const f of ['latest.safetensors', 'best.safetensors']) await writeFile(join(dir, name, f), `earlier ${f}`);
  return async () => {
    for (const f of ['latest.safetensors', 'best.safetensors']) assert.equal(await readFile(join(dir, name, f), 'utf8'), `earlier ${f}`, `${name}/${f} untouched`);
  };
}

test('train --on-fault skip: a warning for each of the first ten skips, the count in the progress line, a stop after 20 in a row', async () => {
  const untouched = await outDir('skip');
  const r = await run(['train', 't.txt', ...EXPLODING, '--steps', '50', '--eval-every', '40', '--log-every', '10', '--on-fault', 'skip', '--out', 'skip']);
  const ctx = r.stderr;
  assert.equal(r.code, 1, ctx);
  const warnings = lines(r.stderr).filter((l) => l.startsWith('warning: '));
  assert.equal(warnings.length, 10, ctx);
  const first = Number(/^warning: loss became NaN at step (\d+) /.exec(warnings[0]!)?.[1]);
  warnings.forEach((w, i) => assert.match(w, new RegExp(`^warning: loss became NaN at step ${first + i} \\(every parameter is finite: the forward pass overflowed, ` +
    `first in layer 0's hidden state at time step \\d+ of 16\\); step skipped, no update \\(${i + 1} skipped so far${i === 9 ? '; further skips are only counted in the progress and evaluation lines' : ''}\\)$`)));
  assert.match(r.stderr, /^step 20\/50 \| .* \| skipped \d+$/m, ctx);
  assert.match(lines(r.stderr).at(-1)!, new RegExp(`^rnnkit: 20 steps in a row skipped \\(steps ${first}-${first + 19}\\), the last because the loss became NaN at step ${first + 19} .*; ` +
    'the run is not recovering: stopping without saving \\(try a lower --lr or --clip\\); checkpoints in skip are from earlier steps and untouched$'), ctx);
  await untouched();
});

test('train --spike with --on-fault skip: the spike is skipped with a warning, the run finishes, and --resume carries the count exactly', async () => {
  const args = ['train', 't.txt', ...SMALL, '--batch', '2', '--seq', '8', '--lr', '0.01', '--eval-every', '20', '--spike', '1.05', '--on-fault', 'skip', '--log-every', '100'];
  const whole = await run([...args, '--steps', '50', '--out', 'whole']);
  assert.equal(whole.code, 0, whole.stderr);
  assert.match(whole.stderr, /^warning: loss spiked at step \d+: \d\.\d{4} is \d\.\dx the recent mean \d\.\d{4} \(threshold 1\.05x\); step skipped, no update \(1 skipped so far\)$/m);
  const skipped = Number(/done at step 50 \(all steps, (\d+) skipped\)/.exec(whole.stderr)?.[1]);
  assert.ok(skipped >= 1, whole.stderr);
  assert.match(whole.stderr, new RegExp(`^step 40 \\| .* tok/s \\| skipped \\d+$`, 'm'), 'in the evaluation line');
  assert.equal(meta('whole/latest.safetensors').trainer.faults?.skipped, skipped);
  const part = await run([...args, '--steps', '40', '--out', 'part']);
  assert.equal(part.code, 0, part.stderr);
  const resumed = await run(['train', 't.txt', '--resume', 'part/latest.safetensors', '--steps', '50', '--eval-every', '20', '--sample-length', '0', '--spike', '1.05', '--on-fault', 'skip']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(meta('part/latest.safetensors'), meta('whole/latest.safetensors'));
  assert.ok(readFileSync(join(dir, 'part/latest.safetensors')).equals(readFileSync(join(dir, 'whole/latest.safetensors'))), 'the resumed run ends where the whole one does');
});

test('--spike and --on-fault are checked', async () => {
  assertUserError(await run(['train', 't.txt', ...SMALL, '--spike', '0.5']), /^rnnkit: --spike must be 0 \(off\) or above 1, got 0\.5$/m);
  assertUserError(await run(['train', 't.txt', '--on-fault', 'ignore']), /^rnnkit: --on-fault must be one of stop, skip, got 'ignore'$/m);
});

test('classify train with an absurd learning rate: stop names the step; skip with --spike stops after 20 skips in a row, without it at the validation; checkpoints untouched', async () => {
  const data = join(ROOT, 'data', 'sentiment', 'train.tsv');
  const args = ['classify', 'train', data, '--cell', 'rnn_relu', '--hidden', '16', '--lr', '1e4', '--clip', '0', '--epochs', '1'];
  const untouched = await outDir('cls');
  const stop = await run([...args, '--out', 'cls']);
  assert.equal(stop.code, 1, stop.stderr);
  assert.match(lines(stop.stderr).at(-1)!, /^rnnkit: loss became NaN at step \d+ \(every parameter is finite: the forward pass overflowed\); stopping without saving \(try a lower --lr or --clip, or --on-fault skip\); checkpoints in cls are from earlier epochs and untouched$/);
  const skip = await run([...args, '--on-fault', 'skip', '--spike', '5', '--out', 'cls']);
  assert.equal(skip.code, 1, skip.stderr);
  assert.match(skip.stderr, /^warning: loss spiked at step 2: \d.*is \d.*x the recent mean 0\.\d{4} \(threshold 5x\); step skipped, no update \(1 skipped so far\)$/m);
  assert.match(lines(skip.stderr).at(-1)!, /^rnnkit: 20 steps in a row skipped \(steps 2-21\), the last because the loss (spiked|became NaN) at step 21.*; checkpoints in cls are from earlier epochs and untouched$/);
  // without --spike the losses that stay finite are trained on, and the validation finds the model's outputs overflowing
  const diverged = await run([...args, '--on-fault', 'skip', '--out', 'cls']);
  assert.equal(diverged.code, 1, diverged.stderr);
  assert.match(lines(diverged.stderr).at(-1)!, /^rnnkit: validation at step \d+: the model's outputs are NaN or infinite \(training diverged\); stopping without saving \(try a lower --lr or --clip, or --spike X with --on-fault skip\); checkpoints in cls are from earlier epochs and untouched$/);
  await untouched();
});

// ---- prediction: finite weights whose outputs overflow float32 ----

const vocab = new TokenVocab(['<unk>', '<s>', '</s>', 'a', 'b', 'c']), TOK = { units: 'words', lowercase: false } as const;
/** ReLU RNN weights of 1e37: every activation overflows. */
function blowUp<M extends { params: ParamSet }>(m: M): M {
  for (const v of m.params.views) if (/(^|\.)(rnn|embedding)\./.test(v.name)) v.data.fill(1e37);
  return m;
}
const rng = new Rng(5), relu = { cell: 'rnn_relu' as const, hidden_size: 4 };
const OVERFLOWING = {
  classifier: encodeClassifier({ model: blowUp(new Classifier({ num_classes: 2, vocab_size: 6, embedding_size: 3, ...relu }).init(rng)), labels: ['neg', 'pos'], vocab, tokenizer: TOK }),
  tagger: encodeTagger({ model: blowUp(new Tagger({ num_classes: 2, vocab_size: 6, embedding_size: 3, ...relu }).init(rng)), vocab, tokenizer: TOK, tags: ['X', 'Y'], baseline: new Int32Array(6) }),
  seq2seq: encodeSeq2Seq({ model: blowUp(new Seq2Seq({ src_vocab_size: 6, tgt_vocab_size: 6, embedding_size: 3, attention: 'luong', ...relu }).init(rng)), source: vocab, target: vocab, sourceTokenizer: TOK, targetTokenizer: TOK }),
  'generator tokens': encodeGenerator({ model: blowUp(new Generator({ output: 'tokens', cond_size: 2, vocab_size: 6, embedding_size: 3, ...relu }).init(rng)), vocab, tokenizer: TOK }),
  'generator rows': encodeGenerator({ model: blowUp(new Generator({ output: 'bernoulli', cond_size: 2, input_size: 3, ...relu }).init(rng)), vocab: null, tokenizer: null }),
};

test('task models whose outputs overflow are refused when used (classifier, tagger, seq2seq, generators)', () => {
  for (const [kind, bytes] of Object.entries(OVERFLOWING)) assert.equal(runBytes(bytes, 'x.safetensors').outcome, 'refused on use', kind);
});

test('classify predict, tag predict and translate on a model whose outputs overflow: one line, exit 1', async () => {
  for (const k of ['classifier', 'tagger', 'seq2seq'] as const) await writeFile(join(dir, `${k}.safetensors`), OVERFLOWING[k]);
  const nonFinite = (what: string) => new RegExp(`^rnnkit: the model computed non-finite values \\(NaN or infinity\\) ${what}: its weights overflow float32`);
  assertUserError(await run(['classify', 'predict', 'classifier.safetensors', 'a b c']), nonFinite('on this input'));
  assertUserError(await run(['tag', 'predict', 'tagger.safetensors', 'a b c']), nonFinite('on this input'));
  assertUserError(await run(['translate', 'seq2seq.safetensors', 'a b c']), nonFinite('while decoding'));
});
