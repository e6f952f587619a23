// MNIST read row by row (many-to-one, "sequential processing of non-sequence data"):
// an LSTM reads an image as 28 steps of 28 pixels and classifies it from its last
// state. Train: the first 9,000 of train10k; validation: its last 1,000; test: t10k.
//   node dist/examples/mnist-rows.js [--epochs 20] [--hidden 128] [--batch 32] [--lr 0.002] [--lr-decay 0.8 --lr-decay-after 5]
import { Classifier, ExampleTrainer, Rng, classifierTask, encodeClassifier, evaluateClassifier, runExampleTraining } from '../src/index.js';
import { readMnist, readModelFile, writeCheckpointFile } from '../src/node.js';
import { epochLine, rowSequences, setup } from './common.js';

const o = await setup('MNIST row by row: an LSTM classifies an image read as 28 rows', {
  epochs: { def: 20, help: 'epochs' }, hidden: { def: 128, help: 'LSTM units' }, batch: { def: 32, help: 'images per update' },
  lr: { def: 0.002, help: 'Adam learning rate' }, 'lr-decay': { def: 0.8, help: 'multiply lr by this after each epoch ...' },
  'lr-decay-after': { def: 5, help: '... once this many epochs are done' }, cell: { def: 'lstm', help: 'lstm | gru | rnn_tanh' }, seed: { def: 1, help: 'seed' },
  train: { def: 9000, help: 'training images (the rest of train10k validates)' }, out: { def: 'checkpoints/mnist-rows', help: 'checkpoint folder' },
});
const trainSet = await readMnist('data/mnist', 'train10k'), testSet = await readMnist('data/mnist', 't10k');
const examples = (set: typeof trainSet, from: number, to: number) => rowSequences(set, from, to).map((seq, i) => ({ seq, label: set.labels[from + i]! }));
const train = examples(trainSet, 0, o.train), val = examples(trainSet, o.train, trainSet.count), test = examples(testSet, 0, testSet.count);

const model = new Classifier({ input: 'float', input_size: 28, cell: o.cell as 'lstm', hidden_size: o.hidden, pool: 'last', num_classes: 10 }).init(new Rng(o.seed));
const task = classifierTask(model);
const trainer = new ExampleTrainer(task, train, task.lengthOf, { batch: o.batch, epochs: o.epochs, lr: o.lr, lrDecay: o['lr-decay'], lrDecayAfter: o['lr-decay-after'], clip: 5, seed: o.seed, bucket: false });
const labels = Array.from({ length: 10 }, (_, d) => String(d));
const save = (path: string) => writeCheckpointFile(path, encodeClassifier({ model, labels, vocab: null, tokenizer: null }));
console.log(`${train.length} train / ${val.length} validation / ${test.length} test images, ${model.params.data.length.toLocaleString('en')} parameters, ${trainer.batchesPerEpoch} steps per epoch`);

let t0 = Date.now();
await runExampleTraining(trainer, {
  validate: () => { const e = evaluateClassifier(model, val); return { score: e.metrics.accuracy, loss: e.loss, metrics: {} }; },
}, {
  async onEpoch(r) {
    const s = (Date.now() - t0) / 1000;
    console.log(epochLine(r, s, `val accuracy ${(100 * r.score).toFixed(2)}%`));
    if (r.best) await save(`${o.out}/best.safetensors`);
    t0 = Date.now();
  },
});
// the test set, once, with the weights of the best epoch by validation
const best = (await readModelFile(`${o.out}/best.safetensors`)).loaded;
if (best.kind !== 'classifier') throw new Error('unexpected checkpoint');
const acc = evaluateClassifier(best.classifier.model, test).metrics.accuracy;
console.log(`test accuracy of the best epoch (${trainer.bestEpoch}, by validation): ${(100 * acc).toFixed(2)}% on ${test.length} images; saved ${o.out}/best.safetensors`);
