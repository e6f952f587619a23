// The checkpoint reader under a short seeded fuzz campaign (the long one is
// scripts/fuzz-checkpoints.mjs), and regression tests for what the fuzzer found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from '../src/io/safetensors.js';
import { MUTATION_KINDS, mutateCheckpoint } from '../src/testing/checkpoint-mutations.js';
import { GOOD_OUTCOMES, runBytes, runCase, seedCheckpoints, tally, type CaseResult } from './checkpoint-fuzz.js';
import { assertUserError, cliRunner } from './cli-helpers.js';

const SEEDS = seedCheckpoints();
const CASES = 2200;
const SRC = 'fuzz.safetensors';

test('every seed checkpoint loads and works', () => {
  for (const s of SEEDS) assert.equal(runBytes(s.bytes, SRC).outcome, 'works', s.name);
});

test(`${CASES} seeded mutated checkpoints: each a one-line error or a working model`, (t) => {
  const results: CaseResult[] = [];
  for (let i = 0; i < CASES; i++) results.push(runCase(SEEDS, 7, i));
  const bad = results.filter((r) => !GOOD_OUTCOMES.includes(r.outcome)).map((r) => `${r.kind} (${r.seed}: ${r.what}): ${r.outcome}: ${r.detail}`);
  assert.deepEqual(bad, []);
  for (const [kind, row] of tally(results)) {
    assert.ok((row.get('rejected') ?? 0) > 0, `${kind}: nothing rejected`);
    t.diagnostic(`${kind}: ${JSON.stringify(Object.fromEntries(row))}`);
  }
  const works = results.filter((r) => r.outcome === 'works').length;
  assert.ok(works > CASES / 50 && works < CASES / 2, `${works} of ${CASES} mutants load and work`);
  const slowest = Math.max(...results.map((r) => r.ms));
  assert.ok(slowest < 2000, `slowest case ${slowest.toFixed(0)} ms`);
});

// --- regressions: each of these was a crash, hang, huge allocation or bad message before

/** The seed named `name` with its metadata (and tensors) changed, re-encoded. */
function variant(name: string, change: (meta: Record<string, string>, tensors: TensorEntry[]) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(SEEDS.find((s) => s.name.startsWith(name))!.bytes);
  const list = [...tensors].map(([n, t]) => ({ name: n, ...t }));
  const meta = { ...metadata };
  change(meta, list);
  return encodeSafetensors(list, meta);
}

function withConfig(name: string, fields: Record<string, unknown>): Uint8Array {
  return variant(name, (m) => { m['config'] = JSON.stringify({ ...JSON.parse(m['config']!), ...fields }); });
}

function assertRejected(bytes: Uint8Array, pattern: RegExp): void {
  const r = runBytes(bytes, SRC);
  assert.equal(r.outcome, 'rejected', `${r.outcome}: ${r.detail}`);
  assert.match(r.detail, pattern);
}

test('a huge layer count is refused before the per-layer tensor list is built (was a hang)', () => {
  for (const n of [2 ** 31, 1e12, 2 ** 53 - 1]) {
    assertRejected(withConfig('charlm rnn_tanh', { num_layers: n }), /num_layers is \d+ but the file holds only \d+ tensors/);
    assertRejected(withConfig('seq2seq luong', { num_layers: n }), /num_layers/);
  }
  assertRejected(withConfig('charlm rnn_tanh', { num_layers: 2 ** 53 }), /num_layers must be a positive integer, got 9007199254740992/);
});

test('sizes in a config are checked against the tensors before anything is allocated (was an allocation from the config)', () => {
  // runBytes fails any case that allocates more than a few times the file's size
  assertRejected(withConfig('charlm lstm', { hidden_size: 2 ** 31 }), /tensor 'rnn.weight_ih_l0' has shape \[20,4\], expected \[8589934592,4\]/);
  assertRejected(withConfig('classifier tokens', { embedding_size: 100_000 }), /tensor 'embedding.weight' has shape/);
  assertRejected(withConfig('seq2seq additive', { tgt_vocab_size: 50_000_000 }), /shape/);
  assertRejected(withConfig('generator tokens', { cond_size: 1e9 }), /tensor 'init.weight' has shape/);
});

test('a kind named like an Object.prototype member is an unknown kind (was a TypeError or a bogus model)', () => {
  for (const kind of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assertRejected(variant('charlm rnn_tanh', (m) => { m['kind'] = kind; }), new RegExp(`unknown model kind '${kind}'`));
  }
});

test('strings from the file stay one short line in messages (were newlines and megabytes)', () => {
  const huge = 'm'.repeat(1 << 20);
  for (const bytes of [
    variant('charlm rnn_tanh', (m) => { m['format'] = 'rnnkit/1\n'; }),
    variant('charlm rnn_tanh', (m) => { m['kind'] = huge; }),
    variant('classifier tokens', (m) => { m['format'] = huge; }),
    variant('tagger', (m) => { m['vocab'] = JSON.stringify(['<unk>', 'a\nb'.repeat(1000), 'a\nb'.repeat(1000)]); }),
    variant('charlm lstm', (m) => { m['vocab'] = JSON.stringify(['long'.repeat(1000)]); }),
    withConfig('seq2seq none', { cell: huge }),
    variant('charlm rnn_tanh', (m, t) => { t[0]!.name = `x\n${huge}`; }),
  ]) {
    const r = runBytes(bytes, SRC);
    assert.equal(r.outcome, 'rejected', `${r.outcome}: ${r.detail}`);
  }
  const { bytes } = mutateCheckpoint(SEEDS[0]!.bytes, new Rng(3), 'dtype');
  assert.equal(runBytes(bytes, SRC).outcome, 'rejected');
});

test('config fields of the wrong type are refused, naming the field (were accepted)', () => {
  assertRejected(withConfig('charlm rnn_tanh', { dropout: '0.5' }), /charlm: dropout must be a number in \[0, 1\), got "0.5"/);
  assertRejected(withConfig('classifier tokens', { dropout: [0.1] }), /classifier: dropout must be a number/);
  assertRejected(withConfig('generator tokens', { eos: 1.5 }), /generator: eos must be a token id in \[0, 6\), got 1.5/);
  assertRejected(withConfig('seq2seq luong', { bos: '1' }), /seq2seq: bos must be a token id/);
  assertRejected(withConfig('seq2seq none', { reverse_source: 'false' }), /seq2seq: reverse_source must be true or false, got "false"/);
  assertRejected(withConfig('seq2seq luong', { dropout: 'x' }), /seq2seq: dropout must be a number/);
  assertRejected(withConfig('tagger', { forget_bias: 'NaN' }), /tagger: forget_bias must be a number or null/);
  assertRejected(variant('classifier tokens', (m) => { m['config'] = '[]'; }), /config metadata is not a JSON object/);
  assertRejected(variant('classifier tokens', (m) => { m['labels'] = '["neg","neg","pos"]'; }), /labels metadata lists "neg" twice/);
});

test('a config field that leaves the tensors as they are gives a model that works', () => {
  for (const bytes of [
    withConfig('classifier tokens', { pool: 'max' }), withConfig('charlm rnn_tanh', { cell: 'rnn_relu', dropout: 0.5 }),
    withConfig('seq2seq luong', { reverse_source: true, eos: 1 }), withConfig('tagger', { forget_bias: null, unknown_field: [1] }),
  ]) assert.equal(runBytes(bytes, SRC).outcome, 'works');
});

/** Finite weights so large that a ReLU RNN's activations overflow float32 (the fuzzer's byte flip in case 4596 of seed 2). */
const overflowing = () => variant('charlm rnn_relu', (m, t) => { for (const e of t) if (/^(embedding|rnn)\./.test(e.name)) e.data.fill(1e37); });

test('a model whose outputs overflow is refused when used (eval was NaN, sample drew from NaN)', () => {
  const r = runBytes(overflowing(), SRC);
  assert.equal(r.outcome, 'refused on use', `${r.outcome}: ${r.detail}`);
});

const tmp = mkdtempSync(join(tmpdir(), 'rnnkit-fuzz-test-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const run = cliRunner(() => tmp);

test('rnnkit info: odd training metadata is shown or refused in one line (was a TypeError)', async () => {
  const file = join(tmp, 'odd-train.safetensors');
  for (const train of ['"x"', '{"trainer":"x"}', '[]', 'null']) {
    writeFileSync(file, variant('charlm training', (m) => { m['train'] = train; }));
    const r = await run(['info', file]);
    assert.equal(r.code, 0, `${train}: ${r.stderr}`);
    assert.match(r.stdout, /kind: charlm/);
  }
  writeFileSync(file, variant('charlm training', (m) => { m['train'] = '{'; }));
  assertUserError(await run(['info', file]), /odd-train\.safetensors: "train" metadata is not valid JSON/);
});

test('rnnkit info on one mutant of each kind: exit 0, or exit 1 with one line naming the file', async () => {
  const file = join(tmp, 'mutant.safetensors');
  for (const [i, kind] of MUTATION_KINDS.entries()) {
    writeFileSync(file, mutateCheckpoint(SEEDS[(i * 5) % SEEDS.length]!.bytes, new Rng(100 + i), kind).bytes);
    const r = await run(['info', file]);
    if (r.code === 0) assert.match(r.stdout, /rnnkit checkpoint/, kind);
    else assertUserError(r, /^rnnkit: .*mutant\.safetensors: /);
  }
});

test('rnnkit eval and sample on a model whose outputs overflow: one line, exit 1', async () => {
  const file = join(tmp, 'overflow.safetensors');
  writeFileSync(file, overflowing());
  writeFileSync(join(tmp, 'text.txt'), 'abcde abcde\n');
  assertUserError(await run(['eval', file, 'text.txt']), /^rnnkit: the model computed non-finite values \(NaN or infinity\) on this text: its weights overflow float32/);
  assertUserError(await run(['sample', file, '--length', '5']), /^rnnkit: the model computed non-finite values \(NaN or infinity\) while sampling/);
});
