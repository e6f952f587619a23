// Classification metrics against numbers worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationMetrics, confusionMatrix, formatConfusion, formatClassReport } from '../src/metrics/classification.js';
import { UserError } from '../src/core/errors.js';

const i32 = (...x: number[]): Int32Array => Int32Array.from(x);
const close = (a: number, e: number): void => assert.ok(Math.abs(a - e) < 1e-12, `${a} vs ${e}`);

// gold 0 0 0 0 1 1 1 2 2 2
// pred 0 0 1 2 1 1 0 2 2 1
// confusion (rows gold): [2 1 1] [1 2 0] [0 1 2]; 6 of 10 right
const gold = i32(0, 0, 0, 0, 1, 1, 1, 2, 2, 2);
const pred = i32(0, 0, 1, 2, 1, 1, 0, 2, 2, 1);

test('three classes: accuracy, per-class precision/recall/F1, macro and weighted averages', () => {
  const m = classificationMetrics(gold, pred, 3);
  assert.deepEqual(m.confusion.map((r) => [...r]), [[2, 1, 1], [1, 2, 0], [0, 1, 2]]);
  close(m.accuracy, 0.6);
  assert.equal(m.total, 10);
  assert.deepEqual([...m.support], [4, 3, 3]);
  // class 0: 2 right of 3 predicted, of 4 gold; class 1: 2 of 4, of 3; class 2: 2 of 3, of 3
  [2 / 3, 1 / 2, 2 / 3].forEach((p, c) => close(m.precision[c]!, p));
  [1 / 2, 2 / 3, 2 / 3].forEach((r, c) => close(m.recall[c]!, r));
  // F1 = 2PR/(P+R): 4/7, 4/7, 2/3
  [4 / 7, 4 / 7, 2 / 3].forEach((f, c) => close(m.f1[c]!, f));
  close(m.macroF1, 38 / 63);
  close(m.macroPrecision, 11 / 18);
  close(m.macroRecall, 11 / 18);
  close(m.weightedF1, (4 * (4 / 7) + 3 * (4 / 7) + 3 * (2 / 3)) / 10); // = 0.6
});

test('zero division gives 0, and absent classes still count in the macro average', () => {
  // class 2 never occurs; class 0: 2 right of 3 predicted, 2 gold; class 1: 1 of 1, 2 gold
  const m = classificationMetrics(i32(0, 1, 0, 1), i32(0, 0, 0, 1), 3);
  assert.deepEqual([m.precision[2], m.recall[2], m.f1[2], m.support[2]], [0, 0, 0, 0]);
  close(m.f1[0]!, 4 / 5);
  close(m.f1[1]!, 2 / 3);
  close(m.macroF1, (4 / 5 + 2 / 3) / 3);
  // a gold class that is never predicted: precision 0/0 -> 0
  const n = classificationMetrics(i32(0, 1), i32(0, 0), 2);
  assert.deepEqual([n.precision[1], n.recall[1], n.f1[1]], [0, 0, 0]);
  close(n.precision[0]!, 0.5);
  // no examples at all
  const e = classificationMetrics(i32(), i32(), 2);
  assert.deepEqual([e.accuracy, e.macroF1, e.weightedF1], [0, 0, 0]);
});

test('bad input is a UserError', () => {
  assert.throws(() => confusionMatrix(i32(0, 1), i32(0), 2), UserError);
  assert.throws(() => confusionMatrix(i32(0, 2), i32(0, 1), 2), /gold label 1 is 2/);
  assert.throws(() => confusionMatrix(i32(0), i32(-1), 2), /prediction 0 is -1/);
  assert.throws(() => confusionMatrix(i32(), i32(), 0), UserError);
  assert.throws(() => formatConfusion(['a'], [[1, 2], [3, 4]]), UserError);
});

test('formatConfusion: aligned rows of gold classes, columns of predictions, with totals', () => {
  const m = classificationMetrics(gold, pred, 3);
  assert.equal(formatConfusion(['neg', 'neutral', 'pos'], m.confusion), [
    'gold \\ predicted  neg  neutral  pos  total',
    'neg                 2        1    1      4',
    'neutral             1        2    0      3',
    'pos                 0        1    2      3',
    'total               3        4    3     10',
  ].join('\n'));
});

test('formatClassReport: sklearn-like report', () => {
  const m = classificationMetrics(gold, pred, 3);
  assert.equal(formatClassReport(['neg', 'neutral', 'pos'], m), [
    '              precision  recall  f1-score  support',
    'neg               0.667   0.500     0.571        4',
    'neutral           0.500   0.667     0.571        3',
    'pos               0.667   0.667     0.667        3',
    '',
    'accuracy                            0.600       10',
    'macro avg         0.611   0.611     0.603       10',
    'weighted avg      0.617   0.600     0.600       10',
  ].join('\n'));
  assert.match(formatClassReport(['a', 'b', 'c'], m, { digits: 1 }), /^a +0\.7 +0\.5 +0\.6 +4$/m);
});
