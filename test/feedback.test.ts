// Teacher forcing, free running and scheduled sampling (Bengio et al. 2015) in the
// Trainer: the schedules' documented values, the rate at which inputs are fed back, and
// that the fed inputs are the model's own samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharLM } from '../src/models/char-lm.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { SCHEDULES, scheduledProbability, inverseSigmoidK } from '../src/train/schedule.js';
import { Rng } from '../src/core/rng.js';

const V = 5;
const ids = (n: number, seed: number, v = V) => { const r = new Rng(seed); return Int32Array.from({ length: n }, () => r.int(v)); };
const lm = (seed = 1) => new CharLM({ cell: 'gru', vocab_size: V, embedding_size: 3, hidden_size: 6 }).init(new Rng(seed));
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('schedules hit their documented values and rise monotonically', () => {
  for (const S of [1, 3, 7.5, 100, 10000]) {
    const p = (kind: (typeof SCHEDULES)[number], i: number) => scheduledProbability(kind, i, S);
    assert.equal(p('linear', 0), 0);
    close(p('linear', S / 2), 0.5, 1e-15, 'linear S/2');
    assert.equal(p('linear', S), 1);
    assert.equal(p('linear', 3 * S), 1);
    assert.equal(p('exponential', 0), 0);
    close(p('exponential', S), 0.5, 1e-15, 'exponential S');
    close(p('exponential', 2 * S), 0.75, 1e-15, 'exponential 2S');
    const k = inverseSigmoidK(S);
    close(k * Math.log(k), S, 1e-12 * S, `k ln k = S for S=${S}`);
    assert.ok(k >= 1);
    close(p('inverse-sigmoid', 0), 1 / (1 + k), 1e-15, 'inverse sigmoid p(0) = 1/(1+k)');
    close(p('inverse-sigmoid', S), 0.5, 1e-12, 'inverse sigmoid S');
    close(p('inverse-sigmoid', 7 * S), 1 - k / (k + Math.exp(7 * S / k)), 1e-15, 'Bengio form');
    for (const kind of SCHEDULES) {
      let prev = -1;
      for (let i = 0; i <= 20 * S; i += S / 10) {
        const v = p(kind, i);
        assert.ok(v >= prev && v >= 0 && v <= 1, `${kind} S=${S} monotone in [0, 1] at i=${i}`);
        prev = v;
      }
      assert.ok(p(kind, 1e6 * S) > 0.999, `${kind} tends to 1`);
    }
  }
  // Bengio et al.'s k = 1000 (inverse sigmoid) corresponds to S = k ln k
  close(inverseSigmoidK(1000 * Math.log(1000)), 1000, 1e-9, 'k for S = 1000 ln 1000');
  assert.throws(() => scheduledProbability('linear', 1, 0), /scheduleSteps must be positive/);
});

test('feed mode sets p: teacher 0, free 1, scheduled p(i) capped at feedMax', () => {
  const data = ids(200, 1);
  const tr = (cfg: Partial<TrainConfig>) => new Trainer(lm(), data, { batch: 2, seq: 5, ...cfg });
  assert.equal(tr({}).feedProbability(1e9), 0);
  assert.equal(tr({ feed: 'free' }).feedProbability(0), 1);
  const s = tr({ feed: 'scheduled', schedule: 'exponential', scheduleSteps: 10, feedMax: 0.6 });
  close(s.feedProbability(10), 0.5, 1e-15, 'p(S)');
  assert.equal(s.feedProbability(1000), 0.6);
  assert.throws(() => tr({ feed: 'mixed' as never }), /feed must be one of teacher, free, scheduled/);
  assert.throws(() => tr({ schedule: 'cosine' as never }), /schedule must be one of/);
  assert.throws(() => tr({ scheduleSteps: 0 }), /scheduleSteps must be positive/);
  assert.throws(() => tr({ feedMax: 1.5 }), /feedMax must be in \[0, 1\]/);
});

test('scheduled sampling feeds inputs back at the rate p(i)·(T−1)/T', () => {
  const B = 6, T = 8, M = 120; // per i: M updates, M*B*(T-1) = 5040 Bernoulli(p) draws
  const tr = new Trainer(lm(), ids(B * T * 10 + 1, 2), { batch: B, seq: T, feed: 'scheduled', schedule: 'inverse-sigmoid', scheduleSteps: 50 });
  for (const i of [0, 20, 50, 120, 400]) {
    const p = tr.feedProbability(i);
    let fed = 0;
    for (let m = 0; m < M; m++) {
      tr.step = i; // hold the update count at i
      const r = tr.trainStep();
      assert.equal(r.feedback, p);
      assert.equal(r.fed * B * T, tr.model.fedBack, 'fed = fraction of the inputs run');
      fed += r.fed;
    }
    const n = M * B * (T - 1), sd = Math.sqrt(p * (1 - p) / n) * (T - 1) / T;
    close(fed / M, p * (T - 1) / T, 5 * sd + 1e-12, `fed fraction at i=${i} (p=${p.toFixed(3)})`);
  }
});

test('free running feeds every input after the first; teacher forcing none', () => {
  const B = 3, T = 6, data = ids(B * T * 4 + 1, 3);
  const free = new Trainer(lm(), data, { batch: B, seq: T, feed: 'free' });
  const teacher = new Trainer(lm(), data, { batch: B, seq: T });
  const inputs = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let k = 0; k < 6; k++) {
    const chunk = teacher.chunk, r = teacher.trainStep();
    assert.deepEqual([r.feedback, r.fed, teacher.model.fedBack], [0, 0, 0]);
    teacher.batches.fill(chunk, inputs, targets);
    assert.deepEqual([...teacher.model.lastInputs()], [...inputs], 'teacher forcing reads the text');
    const f = free.trainStep();
    assert.deepEqual([f.feedback, f.fed, free.model.fedBack], [1, (T - 1) / T, B * (T - 1)]);
  }
  // with TBPTT windows the fraction counts every input run: a forward-only part of 5 and a window of 3
  const tb = new Trainer(lm(), data, { batch: B, seq: 8, bptt: 3, feed: 'free' });
  assert.equal(tb.trainStep().fed, (4 + 2) / 8);
});

test('the fed inputs are the model\'s own samples, exactly where it says it fed back', () => {
  // a model that predicts token V-1 with probability 1 - 4e-21; the text never contains it
  const model = lm();
  model.params.get('head.weight').fill(0);
  model.params.get('head.bias').fill(0);
  model.params.get('head.bias')[V - 1] = 50;
  const B = 4, T = 10, data = ids(B * T * 3 + 1, 4, V - 1);
  const tr = new Trainer(model, data, { batch: B, seq: T, feed: 'scheduled', schedule: 'linear', scheduleSteps: 2, optimizer: 'sgd', lr: 1e-300, clip: 0 });
  const inputs = new Int32Array(B * T), targets = new Int32Array(B * T);
  let total = 0; // over the three updates, p = 0, 0.5, 1
  for (let k = 0; k < 3; k++) {
    const chunk = tr.chunk, r = tr.trainStep(), got = model.lastInputs();
    tr.batches.fill(chunk, inputs, targets);
    let fed = 0;
    for (let n = 0; n < B * T; n++) {
      if (got[n] === inputs[n]) continue;
      assert.equal(got[n], V - 1, 'a changed input is the model\'s sample');
      assert.ok(n >= B, 'the first step of a forward is never fed back');
      fed++;
    }
    assert.equal(fed, model.fedBack);
    assert.equal(r.fed, fed / (B * T));
    assert.equal(r.feedback, k / 2);
    total += fed;
  }
  assert.equal(model.fedBack, B * (T - 1), 'p(2) = 1: every input after the first');
  assert.ok(total > B * (T - 1), 'p(1) = 0.5 fed some back too');
});
