#!/usr/bin/env node
// Bag-of-words logistic regression baseline for sentence classification: trains on one
// `label<TAB>text` file, reports accuracy (and per-class scores) on another. Needs `npm run
// build` first. Labels are any strings; class ids follow their sorted order.
//   node scripts/bow-baseline.mjs train.tsv test.tsv [--json] [--report]
//     [--counts] [--case-sensitive] [--min-count 1] [--l2 1e-4] [--epochs 100] [--lr 0.05]
//     [--optimizer adam|gd] [--batch-size 0] [--seed 0]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { trainBowLogReg, BOW_LOGREG_DEFAULTS } from '../dist/src/baselines/bow-logreg.js';
import { classificationMetrics, formatClassReport, formatConfusion } from '../dist/src/metrics/classification.js';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean' }, report: { type: 'boolean' }, counts: { type: 'boolean' }, 'case-sensitive': { type: 'boolean' },
    'min-count': { type: 'string' }, l2: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' },
    optimizer: { type: 'string' }, 'batch-size': { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  },
});
if (a.help || positionals.length !== 2) {
  console.error('usage: node scripts/bow-baseline.mjs TRAIN.tsv TEST.tsv [--json] [--report] [--counts] [--case-sensitive]\n' +
    '       [--min-count N] [--l2 X] [--epochs N] [--lr X] [--optimizer adam|gd] [--batch-size N] [--seed N]');
  process.exit(a.help ? 0 : 2);
}

/** Rows of a `label<TAB>text` file (no header); blank lines are skipped. */
function readTsv(path) {
  const rows = [];
  readFileSync(path, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const tab = line.indexOf('\t');
    if (tab < 0) throw new Error(`${path}:${i + 1}: no tab between label and text`);
    rows.push({ label: line.slice(0, tab), text: line.slice(tab + 1) });
  });
  return rows;
}

function num(name, fallback) {
  const v = a[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) { console.error(`--${name} must be a number, got '${v}'`); process.exit(2); }
  return n;
}

const [trainPath, testPath] = positionals;
const train = readTsv(trainPath), test = readTsv(testPath);
const labels = [...new Set(train.map((r) => r.label))].sort();
const id = new Map(labels.map((l, i) => [l, i]));
const unseen = [...new Set(test.map((r) => r.label))].filter((l) => !id.has(l));
if (unseen.length) { console.error(`${testPath}: label(s) not in the training file: ${unseen.join(', ')}`); process.exit(1); }

const D = BOW_LOGREG_DEFAULTS;
const opts = {
  lowercase: !a['case-sensitive'], binary: !a.counts,
  minCount: num('min-count', D.minCount), l2: num('l2', D.l2), epochs: num('epochs', D.epochs),
  learningRate: num('lr', D.learningRate), optimizer: a.optimizer ?? D.optimizer,
  batchSize: num('batch-size', D.batchSize), seed: num('seed', D.seed),
};
const t0 = performance.now();
const model = trainBowLogReg(train.map((r) => r.text), train.map((r) => id.get(r.label)), labels.length, opts);
const seconds = (performance.now() - t0) / 1000;
const gold = Int32Array.from(test, (r) => id.get(r.label));
const m = classificationMetrics(gold, model.predict(test.map((r) => r.text)), labels.length);
const trainAcc = classificationMetrics(Int32Array.from(train, (r) => id.get(r.label)), model.predict(train.map((r) => r.text)), labels.length).accuracy;

if (a.json) {
  console.log(JSON.stringify({
    train: trainPath, test: testPath, trainSize: train.length, testSize: test.length, labels, vocabSize: model.vocab.length,
    options: model.options, trainSeconds: +seconds.toFixed(3), finalLoss: model.losses.at(-1) ?? null,
    trainAccuracy: trainAcc, accuracy: m.accuracy, macroF1: m.macroF1,
  }));
} else {
  console.log(`${train.length} training, ${test.length} test texts; ${labels.length} classes; vocabulary ${model.vocab.length}; trained in ${seconds.toFixed(2)} s`);
  console.log(`train accuracy ${(100 * trainAcc).toFixed(2)}%   test accuracy ${(100 * m.accuracy).toFixed(2)}%   macro-F1 ${(100 * m.macroF1).toFixed(2)}%`);
  if (a.report) console.log(`\n${formatClassReport(labels, m)}\n\n${formatConfusion(labels, m.confusion)}`);
}
