// End to end: rnnkit classify, tag, translate and info on small data, as a user runs
// them: train -> eval (text and --json) -> predict; exact resume; Ctrl-C; every bad
// input a one-line error with nothing written.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliRunner, assertUserError, CLI } from './cli-helpers.js';
import { Rng } from '../src/core/rng.js';

let dir = '';
const run = cliRunner(() => dir);
const p = (f: string) => join(dir, f);

/** stdin given: the runner's children have none. */
function runStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
    c.stdin.end(input);
  });
}

const SMALL = ['--hidden', '12', '--embedding', '8', '--batch', '8', '--quiet'];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnnkit-tasks-'));
  const rng = new Rng(3), words = ['good', 'great', 'fine', 'bad', 'awful', 'poor', 'the', 'a', 'movie', 'food', 'was', 'very'];
  const line = () => {
    const ws = Array.from({ length: 3 + rng.int(5) }, () => words[rng.int(words.length)]!);
    const pos = ws.filter((w) => ['good', 'great', 'fine'].includes(w)).length, neg = ws.filter((w) => ['bad', 'awful', 'poor'].includes(w)).length;
    return `${pos >= neg ? 'positive' : 'negative'}\t${ws.join(' ')}`;
  };
  writeFileSync(p('train.tsv'), Array.from({ length: 200 }, line).join('\n') + '\n');
  writeFileSync(p('test.tsv'), Array.from({ length: 40 }, line).join('\n') + '\n');
  // tagging: a vowel/consonant tag per character
  const conll = (n: number) => Array.from({ length: n }, () => Array.from({ length: 3 + rng.int(8) }, () => 'abcdeiou'[rng.int(8)]!)
    .map((c) => `${c}\t${'aeiou'.includes(c) ? 'V' : 'C'}`).join('\n')).join('\n\n') + '\n';
  writeFileSync(p('train.conll'), conll(150));
  writeFileSync(p('test.conll'), conll(20));
  // translation: reverse a short word sequence
  const pair = () => { const ws = Array.from({ length: 1 + rng.int(4) }, () => words[rng.int(6)]!); return `${ws.join(' ')}\t${[...ws].reverse().join(' ')}`; };
  writeFileSync(p('pairs.tsv'), Array.from({ length: 300 }, pair).join('\n') + '\n');
  writeFileSync(p('empty.tsv'), '');
  writeFileSync(p('notab.tsv'), 'positive\tgood\nthis line has no tab\n');
  writeFileSync(p('unknown-label.tsv'), 'maybe\tgood movie\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('classify: train with a test set and the baseline, eval, predict, info', async () => {
  const r = await run(['classify', 'train', 'train.tsv', '--test', 'test.tsv', '--baseline', '--epochs', '6', '--out', 'cls', '--lr', '0.01', ...SMALL]);
  assert.equal(r.code, 0, r.stderr);
  const acc = Number(/test \(test\.tsv, best checkpoint\): accuracy ([\d.]+)%/.exec(r.stdout)![1]);
  assert.ok(acc > 80, r.stdout);
  assert.match(r.stdout, /bag-of-words logistic regression \([^)]*\) on the same split: val accuracy [\d.]+%, test accuracy [\d.]+%/);
  const e = await run(['classify', 'eval', 'cls/best.safetensors', 'test.tsv', '--json']);
  assert.equal(e.code, 0, e.stderr);
  const j = JSON.parse(e.stdout);
  assert.equal(j.examples, 40);
  assert.deepEqual(j.labels, ['negative', 'positive']);
  assert.equal(j.confusion.flat().reduce((a: number, b: number) => a + b, 0), 40);
  assert.ok(Math.abs(j.accuracy * 100 - acc) < 1e-9, 'eval agrees with the number train printed');
  const t = await run(['classify', 'eval', 'cls/best.safetensors', 'test.tsv']);
  assert.match(t.stdout, /precision/);
  assert.match(t.stdout, /confusion matrix \(rows: gold, columns: predicted\)/);
  const pr = await run(['classify', 'predict', 'cls/best.safetensors', 'great good movie', 'awful poor food']);
  assert.equal(pr.code, 0, pr.stderr);
  assert.match(pr.stdout, /^positive\t0\.\d{4}\tgreat good movie\nnegative\t0\.\d{4}\tawful poor food\n$/);
  const si = await runStdin(['classify', 'predict', 'cls/best.safetensors', '--json'], 'very good\nzzz unseen words\n');
  assert.equal(si.code, 0, si.stderr);
  const lines = si.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.ok(Math.abs(lines[1].probabilities.positive + lines[1].probabilities.negative - 1) < 1e-9, 'unknown words map to <unk>');
  const info = await run(['info', 'cls/best.safetensors']);
  assert.match(info.stdout, /kind: classifier/);
  assert.match(info.stdout, /labels: negative, positive/);
  assert.match(info.stdout, /training state: epochs \d+/);
});

test('classify: a run interrupted between epochs and resumed gives the same checkpoint as one straight run', async () => {
  const args = ['classify', 'train', 'train.tsv', '--seed', '4', ...SMALL];
  assert.equal((await run([...args, '--epochs', '3', '--out', 'straight'])).code, 0);
  assert.equal((await run([...args, '--epochs', '1', '--out', 'pieces'])).code, 0);
  const res = await run(['classify', 'train', 'train.tsv', '--resume', 'pieces/latest.safetensors', '--epochs', '3', '--quiet']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(readFileSync(p('pieces/latest.safetensors')), readFileSync(p('straight/latest.safetensors')));
  assertUserError(await run(['classify', 'train', 'test.tsv', '--resume', 'pieces/latest.safetensors', '--epochs', '4']), /test\.tsv: not the data this checkpoint was trained on/);
  assertUserError(await run(['classify', 'train', 'train.tsv', '--resume', 'pieces/latest.safetensors', '--hidden', '8']), /--hidden cannot be changed when resuming/);
});

test('classify: Ctrl-C mid-epoch saves latest and says how to resume; the resumed run finishes', async () => {
  let sent = false;
  const r = await run(['classify', 'train', 'train.tsv', '--epochs', '50', '--log-every', '1', '--out', 'int', '--hidden', '12', '--embedding', '8', '--batch', '8'], {
    onOutput(all, child) { if (!sent && /^epoch 0\.\d+\/50 \| step 3 /m.test(all)) { sent = true; child.kill('SIGINT'); } },
  });
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted at step \d+; saved int\/latest\.safetensors\nresume with: rnnkit classify train train\.tsv --resume int\/latest\.safetensors/);
  const info = await run(['info', 'int/latest.safetensors', '--json']);
  assert.ok(JSON.parse(info.stdout).training.step >= 3);
  const res = await run(['classify', 'train', 'train.tsv', '--resume', 'int/latest.safetensors', '--epochs', '2', '--quiet']);
  assert.equal(res.code, 0, res.stderr);
});

test('tag: per-tag accuracy next to the most-frequent-tag baseline; predict writes conll', async () => {
  const r = await run(['tag', 'train', 'train.conll', '--test', 'test.conll', '--units', 'chars', '--epochs', '5', '--out', 'tag', '--lr', '0.01', ...SMALL]);
  assert.equal(r.code, 0, r.stderr);
  const m = /accuracy ([\d.]+)% over \d+ tokens; most-frequent-tag baseline ([\d.]+)%/.exec(r.stdout)!;
  assert.ok(Number(m[1]) > 95, r.stdout);
  const e = await run(['tag', 'eval', 'tag/best.safetensors', 'test.conll', '--json']);
  const j = JSON.parse(e.stdout);
  assert.deepEqual(Object.keys(j.per_tag), ['C', 'V']);
  assert.equal(j.baseline_accuracy, 1, 'each character always has the same tag here');
  const pr = await run(['tag', 'predict', 'tag/best.safetensors', 'abe']);
  assert.equal(pr.stdout, 'a\tV\nb\tC\ne\tV\n\n');
  assertUserError(await run(['tag', 'eval', 'tag/best.safetensors', 'train.tsv']), /train\.tsv:1: token "\w+" is not one character/);
});

test('translate: train, eval with greedy and beam decoding, translate text, heat map', async () => {
  const r = await run(['translate', 'train', 'pairs.tsv', '--epochs', '12', '--hidden', '32', '--embedding', '16', '--batch', '16', '--lr', '0.01', '--out', 'tr', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  for (const beam of ['1', '4']) {
    const e = await run(['translate', 'eval', 'tr/best.safetensors', 'pairs.tsv', '--beam', beam, '--json']);
    assert.equal(e.code, 0, e.stderr);
    const j = JSON.parse(e.stdout);
    assert.equal(j.outputs.length, 300);
    assert.ok(j.bleu > 50 && j.exact_match > 0.5, `beam ${beam}: BLEU ${j.bleu}, exact ${j.exact_match}`);
    assert.ok(j.token_error_rate < 0.3);
  }
  const t = await run(['translate', 'tr/best.safetensors', 'good awful', '--heatmap', 'att.svg']);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(t.stdout, 'awful good\n');
  assert.match(readFileSync(p('att.svg'), 'utf8'), /^<svg[^>]*>[\s\S]*<\/svg>$/);
});

describe('bad input: one line, exit 1, nothing written', { concurrency: 4 }, () => {
  const cases: [string, string[], RegExp][] = [
    ['a line without a tab', ['classify', 'train', 'notab.tsv', '--out', 'x1'], /notab\.tsv:2: no tab; each line must be label<TAB>text/],
    ['an empty file', ['classify', 'train', 'empty.tsv', '--out', 'x2'], /empty\.tsv: file is empty/],
    ['a missing file', ['tag', 'train', 'nope.conll', '--out', 'x3'], /nope\.conll: no such file/],
    ['an unknown label at eval', ['classify', 'eval', 'cls/best.safetensors', 'unknown-label.tsv'], /unknown-label\.tsv:1: label 'maybe' is not one of the model's labels \(negative, positive\)/],
    ['a checkpoint of another kind', ['translate', 'eval', 'cls/best.safetensors', 'pairs.tsv'], /cls\/best\.safetensors: is a classifier checkpoint; translate eval needs a seq2seq/],
    ['a classifier checkpoint given to sample', ['sample', 'cls/best.safetensors'], /is a classifier checkpoint, not a character language model/],
    ['a pairs file without a tab', ['translate', 'train', 'notab.tsv', '--out', 'x4'], /notab\.tsv:1: no tab|notab\.tsv:\d+: \d+ tab-separated fields|no tab/],
    ['an unknown subcommand', ['classify', 'fit', 'train.tsv'], /classify: unknown subcommand 'fit' \(train, eval, predict\)/],
    ['a bad option value', ['classify', 'train', 'train.tsv', '--pool', 'sum'], /--pool must be one of last, mean, max, got 'sum'/],
    ['an unknown option', ['tag', 'train', 'train.conll', '--bogus'], /tag train: Unknown option '--bogus'/],
  ];
  for (const [name, args, pattern] of cases) {
    test(name, async () => {
      assertUserError(await run(args), pattern);
      for (const out of ['x1', 'x2', 'x3', 'x4']) assert.ok(!existsSync(p(out)), `${out} was written`);
    });
  }
});
