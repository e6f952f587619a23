// The example trainer (train/examples.ts) and beam search (models/beam.ts): batches
// cover every example once per epoch, bucketing groups lengths, a resumed run equals an
// uninterrupted one bit for bit, early stopping and the best score; beam search finds
// the exhaustive optimum on a small decoder and width 1 is greedy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend } from '../src/backend/registry.js';
import { Rng } from '../src/core/rng.js';
import { Classifier, type ClassifierExample } from '../src/models/classifier.js';
import { classifierTask, holdOut } from '../src/tasks/classify.js';
import { ExampleTrainer, runExampleTraining } from '../src/train/examples.js';
import { beamSearch, type StepDecoder } from '../src/models/beam.js';

setBackend('ref');

function data(n: number, seed: number): ClassifierExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 1 + rng.int(12), seq = Int32Array.from({ length: len }, () => rng.int(6));
    return { seq, label: seq.includes(5) ? 1 : 0 }; // "does the sequence contain token 5"
  });
}

const model = (seed = 1) => new Classifier({ vocab_size: 6, embedding_size: 4, hidden_size: 8, num_classes: 2, dropout: 0.2 }).init(new Rng(seed));

test('an epoch visits every example once; bucketed batches hold similar lengths; epochs differ', () => {
  const ex = data(200, 1), m = model(), task = classifierTask(m);
  const t = new ExampleTrainer(task, ex, task.lengthOf, { batch: 16, seed: 3 });
  const e0 = t.batchesOf(0), e1 = t.batchesOf(1);
  assert.deepEqual(e0.flat().sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  assert.notDeepEqual(e0, e1);
  assert.deepEqual(t.batchesOf(0), e0, 'an epoch\'s batches follow from (seed, epoch)');
  const spread = (b: number[]) => Math.max(...b.map((i) => ex[i]!.seq.length)) - Math.min(...b.map((i) => ex[i]!.seq.length));
  const plain = new ExampleTrainer(task, ex, task.lengthOf, { batch: 16, seed: 3, bucket: false });
  const mean = (bs: number[][]) => bs.reduce((s, b) => s + spread(b), 0) / bs.length;
  assert.ok(mean(e0) < 0.5 * mean(plain.batchesOf(0)), `bucketed spread ${mean(e0)} vs ${mean(plain.batchesOf(0))}`);
});

test('a run stopped mid-epoch and resumed from its snapshot ends with the same weights', async () => {
  const ex = data(120, 2), cfg = { batch: 16, epochs: 3, seed: 5, lr: 0.01 };
  const run = async (stopAt: number | null) => {
    const m = model(), task = classifierTask(m);
    let t = new ExampleTrainer(task, ex, task.lengthOf, cfg);
    const validate = () => ({ score: 0, loss: 0, metrics: {} });
    if (stopAt !== null) {
      await runExampleTraining(t, { validate }, { shouldStop: () => t.step >= stopAt });
      const snap = t.snapshot(), tensors = new Map(snap.tensors.map((e) => [e.name, { shape: e.shape, data: e.data }]));
      const weights = Float32Array.from(m.params.data);
      const m2 = model(99); m2.params.data.set(weights);
      const task2 = classifierTask(m2);
      t = new ExampleTrainer(task2, ex, task2.lengthOf, snap.meta.config);
      t.restore(tensors, JSON.parse(JSON.stringify(snap.meta)));
      await runExampleTraining(t, { validate });
      return m2.params.data;
    }
    await runExampleTraining(t, { validate });
    return m.params.data;
  };
  const a = await run(null), b = await run(11);
  assert.deepEqual(Array.from(b), Array.from(a));
});

test('training learns the toy task; early stopping ends after `patience` epochs without a better score', async () => {
  const ex = data(300, 4), m = model(), task = classifierTask(m);
  const t = new ExampleTrainer(task, ex, task.lengthOf, { batch: 16, epochs: 30, seed: 1, lr: 0.01, patience: 2 });
  const scores = [0.5, 0.7, 0.9, 0.8, 0.85, 0.95];
  const reason = await runExampleTraining(t, { validate: () => ({ score: scores[t.epoch - 1]!, loss: 0, metrics: {} }) });
  assert.equal(reason, 'early');
  assert.equal(t.epoch, 5);
  assert.equal(t.best, 0.9);
  assert.equal(t.bestEpoch, 3);
  let right = 0;
  const pred = m.predict(ex.map((e) => e.seq));
  ex.forEach((e, i) => { if (pred[i] === e.label) right++; });
  assert.ok(right / ex.length > 0.9, `train accuracy ${right / ex.length}`);
});

test('holdOut takes the fraction from every label and is deterministic', () => {
  const items = Array.from({ length: 100 }, (_, i) => ({ label: i < 80 ? 'a' : 'b', i }));
  const { train, val } = holdOut(items, 0.1, new Rng(1));
  assert.equal(val.filter((e) => e.label === 'a').length, 8);
  assert.equal(val.filter((e) => e.label === 'b').length, 2);
  assert.equal(train.length + val.length, 100);
  assert.deepEqual(holdOut(items, 0.1, new Rng(1)).val, val);
});

/** A decoder whose next-token distribution depends on the last token only (a Markov chain). */
function markov(V: number, seed: number): StepDecoder & { logp: Float64Array } {
  const rng = new Rng(seed), logp = new Float64Array(V * V);
  for (let a = 0; a < V; a++) {
    let s = 0;
    const row = Array.from({ length: V }, () => Math.exp(3 * rng.normal()));
    for (const v of row) s += v;
    row.forEach((v, b) => { logp[a * V + b] = Math.log(v / s); });
  }
  return {
    logp,
    start() {},
    step(tokens, K) { const out = new Float64Array(K * V); for (let k = 0; k < K; k++) out.set(logp.subarray(tokens[k]! * V, (tokens[k]! + 1) * V), k * V); return out; },
    reorder() {},
  };
}

test('beam search finds the best-scoring sequence that exhaustive search finds; width 1 is greedy', () => {
  const V = 5, bos = 0, eos = 1, maxLength = 5;
  for (let seed = 1; seed <= 20; seed++) {
    const d = markov(V, seed);
    for (const alpha of [0, 1]) {
      // exhaustive: every sequence ending in </s> within maxLength
      let best = -Infinity;
      const walk = (last: number, lp: number, len: number) => {
        for (let v = 0; v < V; v++) {
          const s = lp + d.logp[last * V + v]!;
          if (v === eos) best = Math.max(best, s / Math.pow(len, alpha));
          else if (len < maxLength) walk(v, s, len + 1);
        }
      };
      walk(bos, 0, 1);
      const wide = beamSearch(d, { bos, eos, width: 64, maxLength, alpha })[0]!;
      assert.ok(Math.abs(wide.score - best) < 1e-12, `seed ${seed} alpha ${alpha}: beam ${wide.score} vs exhaustive ${best}`);
      const narrow = beamSearch(d, { bos, eos, width: 3, maxLength, alpha })[0]!;
      assert.ok(narrow.score <= best + 1e-12);
    }
    const g = beamSearch(d, { bos, eos, width: 1, maxLength })[0]!;
    let last = bos;
    for (const tok of [...g.tokens, ...(g.finished ? [eos] : [])]) {
      const row = Array.from(d.logp.subarray(last * V, (last + 1) * V));
      assert.equal(tok, row.indexOf(Math.max(...row)), 'greedy takes the most likely token');
      last = tok;
    }
  }
});
