// Generating an image one piece at a time (the lecture's DRAW slide, in its simplest
// form): an LSTM conditioned on the class (a one-hot vector sets its initial state)
// draws a digit row by row, each row's 28 pixel probabilities from the rows above.
// Trained on binarised images; writes a PNG grid: one row per class, the first column
// fed its own probabilities, the others sampled pixel by pixel.
//   node dist/examples/mnist-draw.js [--epochs 30] [--hidden 256] [--png docs/img/mnist-draw.png]
import { deflateSync } from 'node:zlib';
import { ExampleTrainer, Generator, Rng, encodeGenerator, runExampleTraining } from '../src/index.js';
import type { GeneratorExample } from '../src/models/generator.js';
import { encodeGrayPng, imageGrid } from '../src/viz/raster.js';
import { readMnist, writeCheckpointFile, writeFileAtomic } from '../src/node.js';
import { epochLine, rowSequences, setup } from './common.js';

const o = await setup('MNIST drawn row by row, conditioned on the class', {
  epochs: { def: 30, help: 'epochs' }, hidden: { def: 256, help: 'LSTM units' }, batch: { def: 64, help: 'images per update' },
  lr: { def: 0.002, help: 'Adam learning rate' }, samples: { def: 9, help: 'sampled images per class' }, seed: { def: 1, help: 'seed' },
  train: { def: 9000, help: 'training images (the rest of train10k validates)' }, out: { def: 'checkpoints/mnist-draw', help: 'checkpoint folder' },
  png: { def: 'docs/img/mnist-draw.png', help: 'where the grid goes' },
});
const set = await readMnist('data/mnist', 'train10k');
const oneHot = (d: number) => { const c = new Float32Array(10); c[d] = 1; return c; };
// binarised (pixel > 127): a Bernoulli model's samples then look like its training images
const rows = rowSequences(set).map((r) => r.map((p) => (p > 0.5 ? 1 : 0)));
const examples: GeneratorExample[] = rows.map((r, i) => ({ cond: oneHot(set.labels[i]!), rows: r }));
const train = examples.slice(0, o.train), val = examples.slice(o.train);
const model = new Generator({ output: 'bernoulli', cond_size: 10, input_size: 28, hidden_size: o.hidden }).init(new Rng(o.seed));
const task = {
  params: model.params, grads: model.grads, zeroGrad: () => model.zeroGrad(),
  batchLoss: (b: readonly GeneratorExample[], opts: { train: boolean; rng: Rng }) => model.forward(b, opts), batchBackward: () => model.backward(),
};
const trainer = new ExampleTrainer(task, train, () => 0, { batch: o.batch, epochs: o.epochs, lr: o.lr, clip: 5, seed: o.seed, bucket: false });
console.log(`${train.length} train / ${val.length} validation images, ${model.params.data.length.toLocaleString('en')} parameters; loss: nats per image (28 rows x 28 Bernoulli pixels)`);
let t0 = Date.now();
await runExampleTraining(trainer, {
  validate: () => {
    let loss = 0, n = 0;
    for (let s = 0; s < val.length; s += 256) { const r = model.forward(val.slice(s, s + 256)); loss += r.loss; n += r.count; }
    return { score: -loss / n, loss: (28 * loss) / n, metrics: {} };
  },
}, {
  async onEpoch(r) {
    console.log(epochLine({ ...r, trainLoss: 28 * r.trainLoss }, (Date.now() - t0) / 1000, `val ${(-28 * r.score).toFixed(1)} nats/image`));
    if (r.best) await writeCheckpointFile(`${o.out}/best.safetensors`, encodeGenerator({ model, vocab: null, tokenizer: null }));
    t0 = Date.now();
  },
});
const { readModelFile } = await import('../src/node.js');
const best = (await readModelFile(`${o.out}/best.safetensors`)).loaded;
if (best.kind !== 'generator') throw new Error('unexpected checkpoint');
const g = best.generator.model, rng = new Rng(o.seed + 100), images: Float32Array[] = [];
for (let d = 0; d < 10; d++) {
  images.push(g.draw(oneHot(d), 28));
  for (let k = 0; k < o.samples; k++) images.push(g.draw(oneHot(d), 28, rng));
}
const grid = imageGrid(images, 28, 28, o.samples + 1, 2);
await writeFileAtomic(o.png, encodeGrayPng(grid.width, grid.height, grid.pixels, (b) => new Uint8Array(deflateSync(b))));
console.log(`wrote ${o.png}: ${grid.width}x${grid.height}, a row per class 0-9; column 1 fed back its own probabilities, the rest sampled`);
