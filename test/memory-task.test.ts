// The copy task (src/tasks/copy-task.ts) and `rnnkit memory`: sequence layout,
// parameter budget per cell, a tiny LSTM that learns a short lag, and the CLI table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend/init.js';
import { CharLM } from '../src/models/char-lm.js';
import { Rng } from '../src/core/rng.js';
import {
  copyBatch, copyBatchFrom, copyLayout, copyModelParams, evaluateCopy, hiddenForBudget, sequenceKey, trainCopyTask,
} from '../src/tasks/copy-task.js';
import { cliRunner, ROOT } from './cli-helpers.js';

await initBackend(); // the fastest available, as the CLI uses

test('copy task layout: data, lag blanks, delimiter, targets only at the recall steps', () => {
  // a worked example: S = 4 (blank 4, delimiter 5), L = 3, lag 2
  const tiny = copyLayout({ symbols: 4, length: 3, lag: 2 });
  assert.deepEqual({ T: tiny.T, vocab: tiny.vocab, blank: tiny.blank, delimiter: tiny.delimiter, delimiterAt: tiny.delimiterAt, recallStart: tiny.recallStart },
    { T: 8, vocab: 6, blank: 4, delimiter: 5, delimiterAt: 5, recallStart: 5 });
  const one = copyBatchFrom(tiny, Int32Array.from([3, 1, 2]), 1);
  assert.deepEqual([...one.ids], [3, 1, 2, 4, 4, 5, 4, 4]);
  assert.deepEqual([...one.targets], [-1, -1, -1, -1, -1, 3, 1, 2]);

  const S = 8, L = 5, K = 7, B = 6;
  const lay = copyLayout({ symbols: S, length: L, lag: K });
  assert.equal(lay.T, 2 * L + K);
  const batch = copyBatch(lay, B, new Rng(3));
  assert.equal(batch.ids.length, lay.T * B);
  for (let b = 0; b < B; b++) {
    const at = (a: Int32Array, t: number) => a[t * B + b]!; // time-major
    for (let t = 0; t < lay.T; t++) {
      const id = at(batch.ids, t), tg = at(batch.targets, t);
      if (t < L) {
        assert.ok(id >= 0 && id < S, `data symbol at step ${t}`);
        assert.equal(id, batch.data[b * L + t]);
      } else if (t === L + K) assert.equal(id, lay.delimiter, 'delimiter right after the lag');
      else assert.equal(id, lay.blank, `blank at step ${t}`);
      if (t >= L + K) assert.equal(tg, at(batch.ids, t - L - K), 'recall step t targets the symbol read L + K steps earlier');
      else assert.equal(tg, -1, `no target at step ${t}`);
    }
    // exactly `lag` blanks between the last data symbol and the delimiter
    let blanks = 0;
    for (let t = L; at(batch.ids, t) === lay.blank; t++) blanks++;
    assert.equal(blanks, K);
  }
  // lag 0: the delimiter follows the data at once
  const z = copyBatchFrom(copyLayout({ symbols: 4, length: 2, lag: 0 }), Int32Array.from([0, 3]), 1);
  assert.deepEqual([...z.ids], [0, 3, 5, 4]);
  assert.deepEqual([...z.targets], [-1, -1, 0, 3]);
  assert.throws(() => copyLayout({ symbols: 1, length: 3, lag: 2 }), /symbols/);
  assert.throws(() => copyLayout({ symbols: 4, length: 3, lag: -1 }), /lag/);
});

test('copy task batches: seeded, and excluded (held-out) strings are never drawn', () => {
  const lay = copyLayout({ symbols: 2, length: 3, lag: 1 });
  assert.deepEqual(copyBatch(lay, 5, new Rng(9)).ids, copyBatch(lay, 5, new Rng(9)).ids);
  const exclude = new Set(['0,0,0', '1,1,1', '0,1,0', '1,0,1']);
  const b = copyBatch(lay, 200, new Rng(1), exclude);
  for (let i = 0; i < 200; i++) assert.ok(!exclude.has(sequenceKey(b.data, i, 3)));
});

test('hidden size per cell matches the parameter budget', () => {
  for (const cell of ['rnn_tanh', 'lstm', 'gru'] as const) {
    for (const budget of [5000, 10_000, 20_000, 50_000]) {
      const H = hiddenForBudget(cell, 10, 10, budget), n = copyModelParams(cell, 10, 10, H);
      // the closest a hidden size can get: within half the step to the next size
      const step = copyModelParams(cell, 10, 10, H + 1) - n;
      assert.ok(Math.abs(n - budget) <= step / 2 + 1, `${cell} budget ${budget}: H ${H} gives ${n}`);
      assert.ok(Math.abs(n - budget) / budget < 0.03, `${cell} budget ${budget}: ${n}`);
      const m = new CharLM({ cell, vocab_size: 10, embedding_size: 10, hidden_size: H, num_layers: 1 });
      assert.equal(m.params.data.length, n, 'counts what CharLM allocates');
    }
  }
  assert.equal(trainCopyTask({ cell: 'gru', lag: 1, steps: 1, batch: 2, lr: 1e-3, clip: 1, seed: 1, symbols: 8, length: 2, evalSize: 10 }).params,
    copyModelParams('gru', 10, 10, hiddenForBudget('gru', 10, 10, 10_000)), 'default budget 10,000 and embedding S + 2');
});

test('an untrained LSTM is at chance; a tiny one learns to copy at lag 2', () => {
  const lay = copyLayout({ symbols: 4, length: 3, lag: 2 });
  const heldOut = copyBatch(lay, 400, new Rng(5));
  const untrained = new CharLM({ cell: 'lstm', vocab_size: 6, embedding_size: 6, hidden_size: 18, num_layers: 1 }).init(new Rng(1));
  const e = evaluateCopy(untrained, heldOut);
  assert.ok(Math.abs(e.symbolAccuracy - 0.25) < 0.1, `untrained accuracy ${e.symbolAccuracy}`);
  assert.ok(e.loss > 1.2, `untrained loss ${e.loss}`);

  const seen: number[] = [];
  const r = trainCopyTask({
    cell: 'lstm', lag: 2, length: 3, symbols: 4, paramBudget: 2000, steps: 1500, batch: 32, lr: 0.01, clip: 1, seed: 1,
    evalEvery: 50, evalSize: 300, onProgress: (p) => seen.push(p.step),
  });
  assert.equal(r.solved, true, `accuracy ${r.symbolAccuracy} after ${r.steps} steps`);
  assert.ok(r.symbolAccuracy >= 0.99);
  assert.ok(r.solvedAt! <= 1500 && r.solvedAt! % 50 === 0 && r.steps === r.solvedAt, 'stops at the first check that passes');
  assert.deepEqual(seen, r.history.map((h) => h.step));
  assert.ok(r.loss < 0.2 && r.loss < r.chanceLoss);
  assert.ok(Math.abs(r.params - 2000) < 100);
  assert.equal(r.positionAccuracy.length, 3);
  assert.ok(Math.abs(r.positionAccuracy.reduce((x, y) => x + y) / 3 - r.symbolAccuracy) < 1e-9);
});

const run = cliRunner(() => ROOT);
const TINY = ['--lags', '0,2', '--length', '3', '--symbols', '4', '--params', '1500', '--steps', '200', '--lr', '0.01', '--eval-size', '100', '--eval-every', '50'];

test('rnnkit memory --json, table and --markdown (tiny settings)', async () => {
  const j = await run(['memory', '--cells', 'rnn,lstm', ...TINY, '--json']);
  assert.equal(j.code, 0, j.stderr);
  const rep = JSON.parse(j.stdout) as {
    settings: { cells: string[]; lags: number[]; steps: number }; backend: string; command: string;
    results: { cell: string; lag: number; solved: boolean; solvedAt: number | null; symbolAccuracy: number; params: number }[];
    largestSolved: Record<string, number | null>;
  };
  assert.deepEqual(rep.settings.cells, ['rnn_tanh', 'lstm']);
  assert.deepEqual(rep.settings.lags, [0, 2]);
  assert.deepEqual(rep.results.map((r) => `${r.cell}/${r.lag}`), ['rnn_tanh/0', 'rnn_tanh/2', 'lstm/0', 'lstm/2']);
  for (const r of rep.results) {
    assert.ok(r.symbolAccuracy >= 0 && r.symbolAccuracy <= 1);
    assert.equal(r.solved, r.solvedAt !== null);
    assert.ok(Math.abs(r.params - 1500) < 100);
  }
  assert.deepEqual(Object.keys(rep.largestSolved), ['rnn_tanh', 'lstm']);
  assert.match(rep.command, /^rnnkit memory --task copy --cells rnn_tanh,lstm --lags 0,2 .*--json$/);
  assert.equal(j.stderr.trim().split('\n').length, 4, 'one progress line per run');
  assert.match(j.stderr, /^memory \[1\/4\] rnn_tanh lag 0: /);

  const t = await run(['memory', '--cells', 'gru', ...TINY]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^cell +hidden +params \| +lag 0 +lag 2$/m);
  assert.match(t.stdout, /^gru +\d+ +[\d,]+ \| +(✓ [\d,]+|✗ [01]\.\d\d) +(✓ [\d,]+|✗ [01]\.\d\d)$/m);
  assert.match(t.stdout, /^largest lag solved:\n {2}gru: (none|0|2)/m);

  const m = await run(['memory', '--cells', 'lstm', ...TINY, '--markdown']);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /^\| cell \| hidden \| params \| lag 0 \| lag 2 \|\n\| --- \|/m);
  assert.match(m.stdout, /^\| `lstm` \| \d+ \| [\d,]+ \| .+ \| .+ \|$/m);
  assert.match(m.stdout, /^rnnkit memory --task copy --cells lstm --lags 0,2 --params 1500 --symbols 4 --length 3 --steps 200 --batch 32 --lr 0.01 --clip 1 --seed 1 --eval-every 50 --eval-size 100 --markdown$/m);
});

test('rnnkit memory: --help and bad options', async () => {
  const h = await run(['memory', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^Usage: rnnkit memory/);
  for (const [args, pattern] of [
    [['--cells', 'lstm,foo'], /--cells: unknown cell 'foo'/],
    [['--lags', '5,x'], /--lags must be non-negative integers/],
    [['--task', 'adding'], /--task must be one of copy/],
    [['--steps', '0'], /--steps must be at least 1/],
    [['--json', '--markdown'], /alternatives/],
  ] as const) {
    const r = await run(['memory', ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, pattern);
  }
});
