#!/usr/bin/env node
// Task-shape speed for `npm run bench` (scripts/bench.mjs --tasks): one training epoch
// (forward, backward, clip 5, Adam) of
//   mnist-rows  an LSTM-128 classifier reading the first 9,000 train10k images as 28 rows of 28
//   sentiment   embedding 64 -> LSTM 128 -> linear, word level, the 2,400 sentences of
//               data/sentiment/train.tsv (lowercased, variable lengths, packed)
// in fixed batches of consecutive examples (no shuffling), the same batches
// scripts/bench_tasks_torch.py gives PyTorch. Prints one JSON line.
//   node scripts/bench-tasks.mjs --task mnist-rows|sentiment [--epochs 3] [--backend auto]
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const lib = await import(join(ROOT, 'dist', 'src', 'index.js'));
const node = await import(join(ROOT, 'dist', 'src', 'node.js'));
const { values: a } = parseArgs({ options: { task: { type: 'string' }, epochs: { type: 'string' }, backend: { type: 'string' } } });
const be = await lib.initBackend(a.backend ?? 'auto');
const epochs = Number(a.epochs ?? 3);

function task(name) {
  if (name === 'mnist-rows') {
    return node.readMnist(join(ROOT, 'data', 'mnist'), 'train10k').then((set) => {
      const ex = [];
      for (let i = 0; i < 9000; i++) ex.push({ seq: Float32Array.from(set.pixels.subarray(i * 784, (i + 1) * 784), (p) => p / 255), label: set.labels[i] });
      return { ex, batch: 64, config: { input: 'float', input_size: 28, cell: 'lstm', hidden_size: 128, pool: 'last', num_classes: 10, forget_bias: null } };
    });
  }
  if (name === 'sentiment') {
    const items = lib.parseLabelled(readFileSync(join(ROOT, 'data', 'sentiment', 'train.tsv'), 'utf8'), 'train.tsv');
    const tok = { units: 'words', lowercase: true };
    const vocab = lib.TokenVocab.build(items.map((e) => lib.tokenize(e.text, tok)), [lib.UNK]);
    const ex = items.map((e) => ({ seq: vocab.encode(lib.tokenize(e.text, tok)), label: Number(e.label) }));
    return Promise.resolve({ ex, batch: 32, config: { input: 'tokens', vocab_size: vocab.size, embedding_size: 64, cell: 'lstm', hidden_size: 128, pool: 'last', num_classes: 2, forget_bias: null } });
  }
  throw new Error(`unknown task '${name}' (mnist-rows, sentiment)`);
}

const { ex, batch, config } = await task(a.task);
const model = new lib.Classifier(config).init(new lib.Rng(1));
const up = new lib.Updater(model.params, { ...lib.DEFAULT_UPDATE, lr: 1e-3, clip: 5 });
const batches = [];
for (let s = 0; s < ex.length; s += batch) batches.push(ex.slice(s, s + batch));
const times = [];
let loss = 0, step = 0;
for (let e = 0; e < epochs; e++) {
  const t0 = performance.now();
  loss = 0;
  for (const b of batches) {
    model.zeroGrad();
    const r = model.forward(b.map((x) => x.seq), b.map((x) => x.label));
    model.backward();
    up.apply(model.params, model.grads, ++step);
    loss += r.loss;
  }
  times.push((performance.now() - t0) / 1000);
}
const best = Math.min(...times.slice(epochs > 1 ? 1 : 0)); // the first epoch warms up
console.log(JSON.stringify({ kind: 'task', impl: 'rnnkit', backend: be.name, task: a.task, examples: ex.length, batch, epochs, epoch_s: best, epoch_times: times,
  examples_per_s: ex.length / best, last_epoch_loss: loss / ex.length, parameters: model.params.data.length }));
