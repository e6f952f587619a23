// Bag-of-words logistic regression: tokenization and vocabulary, a separable toy problem,
// determinism, and that gradient descent really descends (a wrong gradient would not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainBowLogReg, bowTokens } from '../src/baselines/bow-logreg.js';
import { Rng } from '../src/core/rng.js';
import { UserError } from '../src/core/errors.js';

// three classes, each marked by its own words, padded with shared noise words
function toy(n: number, seed: number): { texts: string[]; labels: number[] } {
  const rng = new Rng(seed);
  const cue = [['good', 'great', 'love'], ['bad', 'awful', 'hate'], ['meh', 'okay', 'fine']];
  const noise = ['the', 'a', 'film', 'was', 'it', 'and', 'This', 'PLOT'];
  const texts: string[] = [], labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = rng.int(3), words: string[] = [];
    for (let k = 0; k < 5; k++) words.push(noise[rng.int(noise.length)]!);
    words.splice(rng.int(words.length + 1), 0, cue[y]![rng.int(3)]!);
    texts.push(words.join(rng.int(2) ? ' ' : '  \t'));
    labels.push(y);
  }
  return { texts, labels };
}

test('bowTokens splits on whitespace, drops empties, lowercases by default', () => {
  assert.deepEqual(bowTokens('  Good  film.\tGOOD\n'), ['good', 'film.', 'good']);
  assert.deepEqual(bowTokens('Good film', false), ['Good', 'film']);
  assert.deepEqual(bowTokens(' \t '), []);
});

test('learns a separable toy problem, train and held out', () => {
  const train = toy(300, 1), held = toy(100, 2);
  const model = trainBowLogReg(train.texts, train.labels, 3);
  const acc = (texts: string[], labels: number[]) => model.predict(texts).reduce((s, p, i) => s + (p === labels[i] ? 1 : 0), 0) / texts.length;
  assert.equal(acc(train.texts, train.labels), 1);
  assert.equal(acc(held.texts, held.labels), 1);
  // probabilities: rows sum to 1, the cue word dominates
  const p = model.predictProba(['love', 'hate', 'meh', 'the film']);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(p[3 * i]! + p[3 * i + 1]! + p[3 * i + 2]! - 1) < 1e-12);
  assert.ok(p[0]! > 0.9 && p[4]! > 0.9 && p[8]! > 0.9);
  // words never seen in training are ignored: same scores as the empty text
  assert.deepEqual(model.logits(['zebra quokka']), model.logits(['']));
  assert.deepEqual([...model.predict(['LOVE it', 'so AWFUL'])], [0, 1]);
  assert.equal(model.vocab.length, 9 + 8); // cue words + lowercased noise words
  assert.ok(model.losses.at(-1)! < model.losses[0]!);
});

test('deterministic: the same seed gives the same weights; full batch ignores the seed', () => {
  const { texts, labels } = toy(200, 3);
  const opts = { batchSize: 16, epochs: 5, seed: 42 };
  const a = trainBowLogReg(texts, labels, 3, opts), b = trainBowLogReg(texts, labels, 3, opts);
  assert.deepEqual(a.weights, b.weights);
  assert.deepEqual(a.bias, b.bias);
  assert.deepEqual(a.losses, b.losses);
  const c = trainBowLogReg(texts, labels, 3, { ...opts, seed: 43 });
  assert.notDeepEqual(a.weights, c.weights); // a different mini-batch order
  const f1 = trainBowLogReg(texts, labels, 3, { epochs: 5, seed: 1 }), f2 = trainBowLogReg(texts, labels, 3, { epochs: 5, seed: 2 });
  assert.deepEqual(f1.weights, f2.weights);
});

test('full-batch gradient descent with a small step lowers the objective every epoch', () => {
  // a convex smooth objective decreases monotonically under GD with a small enough step,
  // which only holds if the gradient is the objective's gradient
  const { texts, labels } = toy(150, 4);
  for (const binary of [true, false]) {
    const m = trainBowLogReg(texts, labels, 3, { optimizer: 'gd', learningRate: 0.5, epochs: 40, l2: 0.01, binary });
    for (let e = 1; e < m.losses.length; e++) assert.ok(m.losses[e]! < m.losses[e - 1]!, `epoch ${e}: ${m.losses[e]} >= ${m.losses[e - 1]}`);
    assert.ok(m.losses[0]! < Math.log(3)); // below the zero model's loss after one step
  }
  // the L2 penalty shrinks the weights
  const norm = (w: Float64Array) => Math.hypot(...w);
  const weak = trainBowLogReg(texts, labels, 3, { l2: 1e-4 }), strong = trainBowLogReg(texts, labels, 3, { l2: 0.1 });
  assert.ok(norm(strong.weights) < 0.5 * norm(weak.weights));
});

test('the second gradient step and the recorded loss match a dense recomputation', () => {
  // from the one-epoch model (W1, b1), compute the objective and its gradient densely and
  // independently here; two epochs of plain GD must land on W1 - lr * grad
  const { texts, labels } = toy(60, 5);
  const opts = { optimizer: 'gd' as const, learningRate: 0.3, l2: 0.05, binary: false };
  const m1 = trainBowLogReg(texts, labels, 3, { ...opts, epochs: 1 }), m2 = trainBowLogReg(texts, labels, 3, { ...opts, epochs: 2 });
  const V = m1.vocab.length, C = 3, N = texts.length, W = m1.weights, b = m1.bias;
  const X = texts.map((t) => {
    const x = new Float64Array(V);
    for (const w of bowTokens(t)) x[m1.vocab.indexOf(w)]! += 1;
    return x;
  });
  const gW = new Float64Array(V * C), gB = new Float64Array(C);
  let loss = 0;
  X.forEach((x, i) => {
    const z = Array.from({ length: C }, (_, c) => b[c]! + x.reduce((s, xj, j) => s + xj * W[j * C + c]!, 0));
    const lse = Math.log(z.reduce((s, zc) => s + Math.exp(zc), 0));
    loss += (lse - z[labels[i]!]!) / N;
    for (let c = 0; c < C; c++) {
      const d = (Math.exp(z[c]! - lse) - (c === labels[i] ? 1 : 0)) / N;
      gB[c] += d;
      for (let j = 0; j < V; j++) gW[j * C + c] += x[j]! * d;
    }
  });
  let sq = 0;
  for (let j = 0; j < V * C; j++) { sq += W[j]! ** 2; gW[j] += opts.l2 * W[j]!; }
  assert.ok(Math.abs(m1.losses[0]! - (loss + 0.5 * opts.l2 * sq)) < 1e-12);
  for (let j = 0; j < V * C; j++) assert.ok(Math.abs(m2.weights[j]! - (W[j]! - opts.learningRate * gW[j]!)) < 1e-12, `W[${j}]`);
  for (let c = 0; c < C; c++) assert.ok(Math.abs(m2.bias[c]! - (b[c]! - opts.learningRate * gB[c]!)) < 1e-12, `b[${c}]`);
});

test('options: counts vs presence, minCount, case', () => {
  const texts = ['good good good', 'bad', 'good bad', 'Rare'];
  const labels = [0, 1, 0, 1];
  const counts = trainBowLogReg(texts, labels, 2, { binary: false, epochs: 1, optimizer: 'gd', learningRate: 1, l2: 0 });
  const binary = trainBowLogReg(texts, labels, 2, { binary: true, epochs: 1, optimizer: 'gd', learningRate: 1, l2: 0 });
  // one GD step from zero: W -= mean over texts of x (p - y), p = 1/2. "good" occurs
  // 3 + 1 times in class-0 texts as counts, 1 + 1 as presence: dW[good][0] = -(4 or 2)/2/4
  const good = counts.vocab.indexOf('good');
  assert.ok(Math.abs(counts.weights[good * 2]! - 0.5) < 1e-12);
  assert.ok(Math.abs(binary.weights[good * 2]! - 0.25) < 1e-12);
  assert.deepEqual(counts.vocab, ['bad', 'good', 'rare']);
  assert.deepEqual(trainBowLogReg(texts, labels, 2, { minCount: 2, epochs: 1 }).vocab, ['bad', 'good']);
  assert.deepEqual(trainBowLogReg(texts, labels, 2, { lowercase: false, epochs: 1 }).vocab, ['Rare', 'bad', 'good']);
});

test('bad input is a UserError', () => {
  assert.throws(() => trainBowLogReg(['a'], [0, 1], 2), UserError);
  assert.throws(() => trainBowLogReg(['a'], [2], 2), /label 0 is 2/);
  assert.throws(() => trainBowLogReg(['a'], [0], 1), /at least 2 classes/);
  assert.throws(() => trainBowLogReg([], [], 2), /no training texts/);
  assert.throws(() => trainBowLogReg(['a'], [0], 2, { minCount: 0 }), /minCount/);
  assert.throws(() => trainBowLogReg(['a'], [0], 2, { learningRate: 0 }), /learningRate/);
  assert.throws(() => trainBowLogReg(['a'], [0], 2, { optimizer: 'sgd' as 'gd' }), /optimizer/);
});
