// --resume of the example trainers (classify, tag, translate train): the training state
// in the checkpoint is checked field by field before anything is built from it (one-line
// errors, exit 1, nothing written), and the data split is the run's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliRunner, assertUserError } from './cli-helpers.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { parseRunState, type RunState } from '../src/train/example-meta.js';
import { UserError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';

let dir = '';
const run = cliRunner(() => dir);
const p = (f: string) => join(dir, f);
const SMALL = ['--hidden', '8', '--embedding', '4', '--batch', '8', '--quiet'];
let state: RunState & Record<string, unknown>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rnnkit-example-resume-'));
  const rng = new Rng(5), words = ['good', 'bad', 'the', 'movie', 'was', 'very'];
  const line = () => { const ws = Array.from({ length: 2 + rng.int(4) }, () => words[rng.int(words.length)]!); return `${ws.includes('good') ? 'pos' : 'neg'}\t${ws.join(' ')}`; };
  writeFileSync(p('train.tsv'), Array.from({ length: 60 }, line).join('\n') + '\n');
  writeFileSync(p('val.tsv'), Array.from({ length: 10 }, line).join('\n') + '\n');
  const r = await run(['classify', 'train', 'train.tsv', ...SMALL, '--epochs', '1', '--out', 'base']);
  assert.equal(r.code, 0, r.stderr);
  state = JSON.parse(decodeSafetensors(readFileSync(p('base/latest.safetensors'))).metadata['train']!);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const edit = (f: (m: any) => void): string => { const m = structuredClone(state); f(m); return JSON.stringify(m); }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every field with a wrong type or range, and what the error names (a function: it edits the state `before` read). */
const bad = (): [string, string, RegExp][] => [
  ['not JSON', '{"trainer": ', /is not valid JSON$/],
  ['an array', '[]', /not an object with trainer and data/],
  ['no trainer', edit((m) => { delete m.trainer; }), /trainer is not an object/],
  ['no config', edit((m) => { delete m.trainer.config; }), /trainer\.config is not an object/],
  ...(['lr', 'momentum', 'alpha', 'beta1', 'beta2', 'eps', 'clip', 'clipValue', 'lrDecay', 'lrDecayAfter', 'batch', 'epochs', 'patience', 'seed'].map((k) =>
    [`config.${k} a string`, edit((m) => { m.trainer.config[k] = '1'; }), new RegExp(`trainer\\.config\\.${k} is not a finite number`)] as [string, string, RegExp])),
  ['config.optimizer unknown', edit((m) => { m.trainer.config.optimizer = 'lbfgs'; }), /trainer\.config\.optimizer is out of range \("lbfgs"\)/],
  ['config.bucket a string', edit((m) => { m.trainer.config.bucket = 'false'; }), /trainer\.config\.bucket is not a boolean/],
  ['config.batch huge', edit((m) => { m.trainer.config.batch = 1e12; }), /trainer\.config\.batch is out of range \(1000000000000\)/],
  ['config.batch 0', edit((m) => { m.trainer.config.batch = 0; }), /trainer\.config\.batch is out of range/],
  ['config.batch fractional', edit((m) => { m.trainer.config.batch = 2.5; }), /trainer\.config\.batch is out of range/],
  ['config.lr 0', edit((m) => { m.trainer.config.lr = 0; }), /trainer\.config\.lr is out of range/],
  ['config.beta2 above 1', edit((m) => { m.trainer.config.beta2 = 1.5; }), /trainer\.config\.beta2 is out of range/],
  ['config.lrDecay 0', edit((m) => { m.trainer.config.lrDecay = 0; }), /trainer\.config\.lrDecay is out of range/],
  ['config.patience negative', edit((m) => { m.trainer.config.patience = -1; }), /trainer\.config\.patience is out of range/],
  ['config.seed negative', edit((m) => { m.trainer.config.seed = -1; }), /trainer\.config\.seed is out of range/],
  ...(['epoch', 'pos', 'step', 'optimizerSteps'].map((k) =>
    [`${k} negative`, edit((m) => { m.trainer[k] = -1; }), new RegExp(`trainer\\.${k} is not a non-negative integer`)] as [string, string, RegExp])),
  ['pos fractional', edit((m) => { m.trainer.pos = 0.5; }), /trainer\.pos is not a non-negative integer/],
  ['lr null', edit((m) => { m.trainer.lr = null; }), /trainer\.lr is not a finite non-negative number/],
  ['rng short', edit((m) => { m.trainer.rng.s = [1, 2, 3]; }), /trainer\.rng\.s is not four 32-bit integers/],
  ['rng over 32 bits', edit((m) => { m.trainer.rng.s[0] = 2 ** 32; }), /trainer\.rng\.s is not four 32-bit integers/],
  ['rng spare a string', edit((m) => { m.trainer.rng.spare = 'x'; }), /trainer\.rng\.spare is not a number or null/],
  ['best a string', edit((m) => { m.trainer.best = '0.9'; }), /trainer\.best is not a number or null/],
  ['bestEpoch past epoch', edit((m) => { m.trainer.bestEpoch = m.trainer.epoch + 1; }), /trainer\.bestEpoch is not an integer from 0 to trainer\.epoch/],
  ['sinceBest negative', edit((m) => { m.trainer.sinceBest = -1; }), /trainer\.sinceBest is not a non-negative integer/],
  ['no data', edit((m) => { delete m.data; }), /data is not \{name, examples, hash\}/],
  ['data.hash not hex', edit((m) => { m.data.hash = 'zz\n'; }), /data is not \{name, examples, hash\}/],
  ['data.examples fractional', edit((m) => { m.data.examples = 1.5; }), /data is not \{name, examples, hash\}/],
  ['val.name a number', edit((m) => { m.val.name = 3; }), /val is not \{name, examples, hash\}/],
  ['valFraction 0.9', edit((m) => { m.valFraction = 0.9; }), /valFraction is not a number in \(0, 0\.5\]/],
];

test('every field of the training state is type- and range-checked, with a one-line error', () => {
  assert.deepEqual(parseRunState(JSON.stringify(state), 'x').trainer, state.trainer, 'the real state passes');
  for (const [name, raw, pattern] of bad()) {
    assert.throws(() => parseRunState(raw, 'ck.safetensors'), (e: unknown) => {
      assert.ok(e instanceof UserError, name);
      assert.match(e.message, /^ck\.safetensors: the checkpoint's training state \('train' metadata\) is not/, name);
      assert.match(e.message, pattern, name);
      assert.doesNotMatch(e.message, /\n/, name);
      return true;
    }, name);
  }
  assert.throws(() => parseRunState(undefined, 'w.safetensors'), /w\.safetensors: checkpoint has no training state to resume/);
  // unknown fields are dropped; a checkpoint from before the validation print resumes without the check
  const old = parseRunState(edit((m) => { delete m.val; delete m.valFraction; m.trainer.config.extra = 1; m.extra = {}; }), 'old');
  assert.deepEqual(Object.keys(old).sort(), ['data', 'trainer']);
  assert.ok(!('extra' in old.trainer.config));
});

test('classify train --resume refuses corrupt training state through the CLI: one line, exit 1, nothing written', async () => {
  const base = decodeSafetensors(readFileSync(p('base/latest.safetensors')));
  const tensors = [...base.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data as Float32Array }));
  const picks = bad().filter((_, i) => i % 6 === 0); // a sample: every check is tested above
  picks.forEach(([, train], i) => writeFileSync(p(`bad-${i}.safetensors`), encodeSafetensors(tensors, { ...base.metadata, train })));
  const results = await Promise.all(picks.map((_, i) => run(['classify', 'train', 'train.tsv', '--resume', `bad-${i}.safetensors`, '--out', 'never'])));
  results.forEach((r, i) => assertUserError(r, new RegExp(`bad-${i}\\.safetensors: the checkpoint's training state.*${picks[i]![2].source}`, 'm')));
  assert.ok(!existsSync(p('never')), 'nothing written');
});

test('classify train --resume: the split is the run\'s (--val-fraction kept, another --val refused)', async () => {
  const args = ['classify', 'train', 'train.tsv', ...SMALL, '--val-fraction', '0.3'];
  const [straight, piece, withVal] = await Promise.all([run([...args, '--epochs', '3', '--out', 'vf-a']), run([...args, '--epochs', '1', '--out', 'vf-b']),
    run(['classify', 'train', 'train.tsv', ...SMALL, '--val', 'val.tsv', '--epochs', '1', '--out', 'vf-c'])]);
  for (const r of [straight, piece, withVal]) assert.equal(r.code, 0, r.stderr);
  const res = await run(['classify', 'train', 'train.tsv', '--resume', 'vf-b/latest.safetensors', '--epochs', '3', '--quiet']);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(readFileSync(p('vf-b/latest.safetensors')).equals(readFileSync(p('vf-a/latest.safetensors'))), 'resumed with the run\'s 30% split, not the default 10%');
  assertUserError(await run(['classify', 'train', 'train.tsv', '--resume', 'vf-c/latest.safetensors', '--epochs', '2']),
    /train\.tsv \(held out\): not the validation data this checkpoint was trained with \(val\.tsv, 10 examples\); pass the same --val/);
});
