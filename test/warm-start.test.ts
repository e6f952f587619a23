// Warm-start evaluation (src/train/warm-start.ts and `rnnkit eval --warm-start`):
// the batched implementation against a naive one-position-at-a-time one, a model
// trained to be perfect on a periodic text, and the CLI mode end to end.
// Runs on the reference backend (the default when nothing selects another).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CharLM, type CharLMConfig } from '../src/models/char-lm.js';
import { LanguageModel } from '../src/models/language-model.js';
import { Rng } from '../src/core/rng.js';
import { Vocab } from '../src/data/vocab.js';
import { Trainer } from '../src/train/trainer.js';
import { warmStartAccuracy, warmStartOffsets, type WarmStartResult } from '../src/train/warm-start.js';
import { shownSteps } from '../src/cli/commands.js';
import { cliRunner, assertUserError } from './cli-helpers.js';

function argmax(l: ArrayLike<number>, o: number, V: number): number {
  let best = 0;
  for (let v = 1; v < V; v++) if (l[o + v]! > l[o + best]!) best = v;
  return best;
}

/**
 * The definition, one position at a time with B = 1 and T = 1 forwards: K true
 * characters, then M argmax predictions fed back; teacher-forced from a fresh state
 * feeding the true characters; unigram = the most frequent id (lowest on ties).
 */
function naive(model: CharLM, ids: Int32Array, K: number, M: number, offsets: number[]) {
  const V = model.config.vocab_size, one = new Int32Array(1);
  const step = (state: ReturnType<CharLM['newState']>, id: number) => {
    one[0] = id;
    model.forward(one, null, 1, 1, state);
    return argmax(model.logits(), 0, V);
  };
  const freq = new Array<number>(V).fill(0);
  for (const id of ids) freq[id]!++;
  const uni = freq.indexOf(Math.max(...freq));
  const free = new Array<number>(M).fill(0), forced = new Array<number>(M).fill(0);
  let uniHits = 0;
  for (const p of offsets) {
    let s = model.newState(1), pred = 0;
    for (let t = 0; t < K; t++) pred = step(s, ids[p + t]!);
    for (let j = 0; j < M; j++) {
      if (j > 0) pred = step(s, pred);
      if (pred === ids[p + K + j]) free[j]!++;
      if (uni === ids[p + K + j]) uniHits++;
    }
    s = model.newState(1);
    for (let t = 0; t < K + M - 1; t++) {
      pred = step(s, ids[p + t]!);
      if (t >= K - 1 && pred === ids[p + t + 1]) forced[t - K + 1]!++;
    }
  }
  const n = offsets.length, sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return {
    perStep: free.map((c) => c / n), overall: sum(free) / (n * M),
    teacherForcedPerStep: forced.map((c) => c / n), teacherForced: sum(forced) / (n * M),
    unigram: uniHits / (n * M), unigramId: uni,
  };
}

function randomIds(n: number, V: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * V));
}

const small = (cell: CharLMConfig['cell']) =>
  new CharLM({ cell, vocab_size: 7, embedding_size: 5, hidden_size: 8, num_layers: 2 }).init(new Rng(3));

test('warmStartOffsets: evenly spread, first and last valid offsets included, capped', () => {
  const o = warmStartOffsets(1000, 10, 5, 100);
  assert.equal(o.length, 100);
  assert.equal(o[0], 0);
  assert.equal(o[99], 985); // 985 + 10 + 5 = 1000
  for (let i = 1; i < o.length; i++) {
    const gap = o[i]! - o[i - 1]!;
    assert.ok(gap === 9 || gap === 10, `gap ${gap}`);
  }
  assert.deepEqual(warmStartOffsets(20, 3, 2, 1000), Array.from({ length: 16 }, (_, i) => i));
  assert.deepEqual(warmStartOffsets(20, 3, 2, 1), [0]);
  assert.deepEqual(warmStartOffsets(5, 3, 2, 10), [0]);
  assert.deepEqual(warmStartOffsets(4, 3, 2, 10), []);
});

test('batched warm-start accuracy equals the naive step-by-step definition', () => {
  // every valid offset, several batches with a short last one
  const lstm = small('lstm'), ids = randomIds(300, 7, 5);
  const r = warmStartAccuracy(lstm, ids, { warmStart: 4, horizon: 6, batch: 64 });
  assert.equal(r.positions, 291);
  assert.equal(r.possiblePositions, 291);
  const { positions: _p, possiblePositions: _pp, warmStart: _k, horizon: _m, ...got } = r;
  assert.deepEqual(got, naive(lstm, ids, 4, 6, warmStartOffsets(300, 4, 6, 1000)));
  assert.equal(r.perStep[0], r.teacherForcedPerStep[0], 'step 1 is the same prediction either way');
  // a batch of 256 reads a long warm-start in chunks; GRU; a subset of the offsets
  const gru = small('gru'), ids2 = randomIds(400, 7, 9);
  const r2 = warmStartAccuracy(gru, ids2, { warmStart: 40, horizon: 5, positions: 300, batch: 256 });
  assert.equal(r2.positions, 300);
  const { positions: _p2, possiblePositions: _pp2, warmStart: _k2, horizon: _m2, ...got2 } = r2;
  assert.deepEqual(got2, naive(gru, ids2, 40, 5, warmStartOffsets(400, 40, 5, 300)));
  // the batch size changes nothing
  assert.deepEqual(warmStartAccuracy(gru, ids2, { warmStart: 40, horizon: 5, positions: 300, batch: 7 }), r2);
});

test('warm-start accuracy: progress, checks', () => {
  const lstm = small('lstm'), ids = randomIds(100, 7, 1);
  const seen: [number, number][] = [];
  warmStartAccuracy(lstm, ids, { warmStart: 2, horizon: 3, positions: 50, batch: 20, onProgress: (d, t) => seen.push([d, t]) });
  assert.deepEqual(seen, [[20, 50], [40, 50], [50, 50]]);
  assert.throws(() => warmStartAccuracy(lstm, ids.subarray(0, 9), { warmStart: 5, horizon: 5 }), /9 characters; warm-start 5 \+ horizon 5 needs at least 10/);
  const exact = warmStartAccuracy(lstm, ids.subarray(0, 10), { warmStart: 5, horizon: 5 });
  assert.equal(exact.positions, 1);
  assert.throws(() => warmStartAccuracy(lstm, ids, { warmStart: 0, horizon: 5 }), /warm-start must be a positive integer/);
  assert.throws(() => warmStartAccuracy(lstm, ids, { warmStart: 2, horizon: 1.5 }), /horizon must be a positive integer/);
});

test('a model trained on a periodic text is perfect at every horizon step; an untrained one is not', () => {
  // "hello world ": one character of context is ambiguous (l -> l/o/d, o -> ' '/r), three are not
  const text = 'hello world '.repeat(60);
  const vocab = Vocab.fromText(text), ids = vocab.encode(text);
  const model = new CharLM({ cell: 'lstm', vocab_size: vocab.size, embedding_size: 8, hidden_size: 16, num_layers: 1 }).init(new Rng(1));
  const opts = { warmStart: 3, horizon: 30, positions: 200 };
  const fresh = warmStartAccuracy(model, ids, opts);
  const trainer = new Trainer(model, ids, { batch: 8, seq: 24, lr: 0.02, seed: 1 });
  let loss = Infinity;
  for (let i = 0; i < 200 && loss > 0.01; i++) loss = trainer.trainStep().loss;
  assert.ok(loss < 0.05, `trained to loss ${loss}`);
  const r = warmStartAccuracy(model, ids, opts);
  assert.deepEqual(r.perStep, new Array(30).fill(1));
  assert.equal(r.overall, 1);
  assert.equal(r.teacherForced, 1);
  assert.ok(Math.abs(r.unigram - 0.25) < 0.01, String(r.unigram)); // 'l' is 3 of 12
  assert.equal(vocab.chars[r.unigramId], 'l');
  assert.ok(fresh.overall < 0.5 && fresh.teacherForced < 0.5, `untrained: ${fresh.overall}, ${fresh.teacherForced}`);
});

test('horizon steps shown in the text table', () => {
  assert.deepEqual(shownSteps(3), [1, 2, 3]);
  assert.deepEqual(shownSteps(20), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.deepEqual(shownSteps(21), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 21]);
  assert.deepEqual(shownSteps(50), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
  assert.deepEqual(shownSteps(1000).slice(10), [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  assert.deepEqual(shownSteps(117).slice(10), [20, 40, 60, 80, 100, 117]);
});

// ---- CLI ----

let dir = '';
const run = cliRunner(() => dir);
const TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(8);
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-warm-start-'));
  const lm = LanguageModel.create(TEXT, { cell: 'lstm', embedding_size: 8, hidden_size: 16, num_layers: 1 }, 2);
  await writeFile(join(dir, 'm.safetensors'), lm.toBytes());
  await writeFile(join(dir, 't.txt'), TEXT);
  await writeFile(join(dir, 'short.txt'), 'First Citizen');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('eval --warm-start: --json has every number, equal to the library; text output has the table', async () => {
  const [j, h, long] = await Promise.all([
    run(['eval', 'm.safetensors', 't.txt', '--warm-start', '10', '--horizon', '7', '--positions', '100', '--json', '--backend', 'ref']),
    run(['eval', 'm.safetensors', 't.txt', '--warm-start', '10', '--positions', '50']),
    run(['eval', 'm.safetensors', 't.txt', '--warm-start=5', '--horizon=30', '--positions=20']),
  ]);
  assert.equal(j.code, 0, j.stderr);
  assert.equal(j.stderr, '');
  assert.equal(j.stdout.trimEnd().split('\n').length, 1, 'one JSON line');
  const s = JSON.parse(j.stdout) as WarmStartResult & { mode: string; file: string; unigramChar: string; seconds: number };
  assert.equal(s.mode, 'warm-start');
  assert.equal(s.file, 't.txt');
  assert.equal(s.perStep.length, 7);
  assert.equal(s.teacherForcedPerStep.length, 7);
  for (const x of [s.overall, s.teacherForced, s.unigram, ...s.perStep]) assert.ok(x >= 0 && x <= 1, String(x));
  assert.equal(s.positions, 100);
  assert.equal(s.unigramChar, 'e');
  // same numbers as the library on the same backend
  const lm = LanguageModel.create(TEXT, { cell: 'lstm', embedding_size: 8, hidden_size: 16, num_layers: 1 }, 2);
  const r = warmStartAccuracy(lm.net, lm.vocab.encode(TEXT), { warmStart: 10, horizon: 7, positions: 100 });
  assert.deepEqual({ ...s, mode: undefined, file: undefined, checkpoint: undefined, unigramChar: undefined, seconds: undefined },
    { ...r, mode: undefined, file: undefined, checkpoint: undefined, unigramChar: undefined, seconds: undefined });

  assert.equal(h.code, 0, h.stderr);
  assert.equal(h.stderr, '');
  const lines = h.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^t\.txt: warm-start 10 characters, then 20 predicted .* at 50 positions \(of \d+\)$/);
  assert.match(lines[1]!, /step +free-running +teacher-forced/);
  assert.equal(lines.length, 2 + 20 + 3, h.stdout);
  assert.match(lines[2]!, /^ +1 +\d+\.\d% +\d+\.\d%$/);
  assert.match(lines[21]!, /^ +20 +\d+\.\d% +\d+\.\d%$/);
  assert.match(lines[22]!, /^free-running accuracy \(steps 1-20\): \d+\.\d%$/);
  assert.match(lines[23]!, /^teacher-forced accuracy \(same characters\): \d+\.\d%$/);
  assert.match(lines[24]!, /^unigram baseline \(always "e"\): \d+\.\d%$/);

  assert.equal(long.code, 0, long.stderr);
  const steps = long.stdout.split('\n').slice(2).filter((l) => /^ +\d+ /.test(l)).map((l) => Number(l.trim().split(/ +/)[0]));
  assert.deepEqual(steps, shownSteps(30));
});

test('eval --warm-start: user errors', async () => {
  const [noWarm, noWarm2, short, zero, bad] = await Promise.all([
    run(['eval', 'm.safetensors', 't.txt', '--horizon', '5']),
    run(['eval', 'm.safetensors', 't.txt', '--positions', '5', '--json']),
    run(['eval', 'm.safetensors', 'short.txt', '--warm-start', '10']),
    run(['eval', 'm.safetensors', 't.txt', '--warm-start', '0']),
    run(['eval', 'm.safetensors', 't.txt', '--warm-start', '5', '--horizon', 'x']),
  ]);
  assertUserError(noWarm!, /^rnnkit: --horizon needs --warm-start K/);
  assertUserError(noWarm2!, /^rnnkit: --positions needs --warm-start K/);
  assertUserError(short!, /^rnnkit: short\.txt has 13 characters; --warm-start 10 \+ --horizon 20 needs at least 30\n$/);
  assertUserError(zero!, /--warm-start must be at least 1, got 0/);
  assertUserError(bad!, /--horizon must be an integer, got 'x'/);
});
