// `rnnkit train` with the training-toolbox options (docs/training.md): they reach the
// model and trainer, show in the log, and bad combinations are one-line errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { cliRunner, assertUserError, SHAKESPEARE, TINY } from './cli-helpers.js';

const run = cliRunner(() => dir);
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-cli-options-'));
  await writeFile(join(dir, 't.txt'), (await readFile(SHAKESPEARE, 'utf8')).slice(0, 6000));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const configOf = (path: string) => JSON.parse(decodeSafetensors(readFileSync(join(dir, path)), path).metadata['config']!);

test('model options land in the checkpoint config and the log header', async () => {
  const r = await run(['train', 't.txt', ...TINY, '--layers', '2', '--steps', '3', '--eval-every', '3', '--out', 'o1',
    '--layer-norm', '--recurrent-dropout', '0.25', '--forget-bias', '2', '--init-state', 'noisy', '--init-noise', '0.05', '--sum-outputs']);
  assert.equal(r.code, 0, r.stderr);
  const c = configOf('o1/latest.safetensors');
  assert.deepEqual([c.layer_norm, c.recurrent_dropout, c.forget_bias, c.initial_state, c.initial_noise, c.sum_outputs], [true, 0.25, 2, 'noisy', 0.05, true]);
  assert.match(r.stderr, /layer norm, recurrent dropout 0\.25, forget bias 2, initial state noisy \(std 0\.05\), head reads the sum of all layers/);
  assert.match(r.stderr, /PyTorch reference/);
  const d = await run(['train', 't.txt', ...TINY, '--steps', '1', '--out', 'o2', '--forget-bias', 'none', '--quiet']);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(configOf('o2/latest.safetensors').forget_bias, null);
});

test('the log reports gradient norms before clipping and the fraction of clipped updates; --log-csv has every update', async () => {
  const r = await run(['train', 't.txt', ...TINY, '--steps', '8', '--eval-every', '4', '--log-every', '1', '--clip', '0.01', '--out', 'o3', '--log-csv', 'log.csv']);
  assert.equal(r.code, 0, r.stderr);
  // a tiny clip threshold clips every update
  assert.match(r.stderr, /grad norm mean [\d.]+ max [\d.]+, clipped 4\/4 \(100%\)/);
  assert.match(r.stderr, /^step 1\/8 .*grad norm [\d.]+ \(clipped\)/m);
  const lines = (await readFile(join(dir, 'log.csv'), 'utf8')).trim().split('\n');
  assert.equal(lines[0], 'step,loss,grad_norm,clipped,lr,fed_back,tokens_per_s');
  assert.equal(lines.length, 9);
  const rows = lines.slice(1).map((l) => l.split(',').map(Number));
  assert.deepEqual(rows.map((x) => x[0]), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(rows.every((x) => x[2]! > 0.01 && x[3] === 1), 'pre-clip norms above the threshold, all clipped');
  const off = await run(['train', 't.txt', ...TINY, '--steps', '4', '--eval-every', '4', '--clip', '0', '--out', 'o4']);
  assert.match(off.stderr, /no clipping/);
  assert.doesNotMatch(off.stderr, /clipped \d/);
});

test('TBPTT and feedback options show in the log; scheduled sampling feeds back', async () => {
  const r = await run(['train', 't.txt', ...TINY, '--steps', '6', '--eval-every', '6', '--log-every', '1', '--out', 'o5',
    '--bptt', '40', '--feed', 'scheduled', '--schedule', 'linear', '--schedule-steps', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /TBPTT\(k1=16, k2=40\)/);
  assert.match(r.stderr, /scheduled sampling \(linear/);
  assert.match(r.stderr, /^step 6\/6 .*fed back [89]\d%/m, 'from step 2 on nearly all inputs but the first of each window are fed back');
  const p = await run(['train', 't.txt', ...TINY, '--cell', 'rnn_tanh', '--steps', '3', '--out', 'o6', '--pascanu', '0.5']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /Pascanu regularizer 0\.5/);
});

test('bad toolbox options are one-line errors', async () => {
  const cases: [string[], RegExp][] = [
    [['--pascanu', '1'], /--pascanu is for vanilla RNNs/],
    [['--cell', 'rnn_tanh', '--pascanu', '1', '--layer-norm'], /--pascanu cannot be combined with --layer-norm/],
    [['--feed', 'sometimes'], /--feed must be one of teacher, free, scheduled/],
    [['--schedule', 'linear'], /--schedule needs --feed scheduled/],
    [['--init-state', 'random'], /--init-state must be one of zero, learned, noisy/],
    [['--init-noise', '0.1'], /--init-noise needs --init-state noisy/],
    [['--cell', 'gru', '--forget-bias', '1'], /--forget-bias is for LSTM/],
    [['--bptt', '0'], /--bptt must be at least 1/],
    [['--recurrent-dropout', '1'], /--recurrent-dropout must be at most 0.99/],
    [['--log-csv', 'no/such/dir/log.csv', '--steps', '1'], /cannot write --log-csv/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(['train', 't.txt', ...TINY, '--out', 'bad', ...args])));
  results.forEach((r, i) => assertUserError(r, cases[i]![1]));
});

test('--log-csv on --resume continues the run\'s log: rows past the checkpoint (from a killed run) and a torn line are dropped, so every update appears once', async () => {
  const a = await run(['train', 't.txt', ...TINY, '--steps', '4', '--eval-every', '4', '--out', 'o9', '--log-csv', 'log9.csv', '--quiet']);
  assert.equal(a.code, 0, a.stderr);
  const path = join(dir, 'log9.csv');
  const first = await readFile(path, 'utf8');
  // what a run killed after its checkpoint at step 4 leaves: two more rows and half a line
  await writeFile(path, first + '5,4.1,0.3,0,0.002,0,100\n6,4.0,0.3,0,0.002,0,100\n7,3.9');
  const b = await run(['train', 't.txt', '--steps', '8', '--eval-every', '4', '--resume', 'o9/latest.safetensors', '--log-csv', 'log9.csv', '--quiet']);
  assert.equal(b.code, 0, b.stderr);
  const text = await readFile(path, 'utf8');
  assert.ok(text.startsWith(first), 'the rows up to the checkpoint are kept as they were');
  const lines = text.trim().split('\n');
  assert.equal(lines.filter((l) => l.startsWith('step,')).length, 1, 'one header');
  assert.deepEqual(lines.slice(1).map((l) => Number(l.split(',')[0])), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(lines.slice(1).every((l) => l.split(',').length === 7), 'every row complete');
  // a file that is not such a log is not appended to
  await writeFile(join(dir, 'other.csv'), 'name,value\n');
  const c = await run(['train', 't.txt', '--steps', '12', '--resume', 'o9/latest.safetensors', '--log-csv', 'other.csv']);
  assertUserError(c, /--log-csv other\.csv: not a log of rnnkit train/);
  assert.equal(await readFile(join(dir, 'other.csv'), 'utf8'), 'name,value\n');
});
