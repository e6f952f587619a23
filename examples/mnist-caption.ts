// The captioning shape (one-to-many): a learned projection of an MNIST image sets the
// LSTM's initial state, h0 = tanh(W x + b), and the network then spells the digit's
// English name letter by letter ("seven"), greedy or by beam search.
//   node dist/examples/mnist-caption.js [--epochs 15] [--hidden 128] [--beam 1]
import { BOS, EOS, Generator, ExampleTrainer, Rng, TokenVocab, UNK, encodeGenerator, runExampleTraining, type Generator as G } from '../src/index.js';
import type { GeneratorExample } from '../src/models/generator.js';
import { readMnist, writeCheckpointFile } from '../src/node.js';
import { epochLine, setup } from './common.js';

const NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const o = await setup('MNIST captions: an image in, its digit\'s name out, letter by letter', {
  epochs: { def: 15, help: 'epochs' }, hidden: { def: 128, help: 'LSTM units' }, batch: { def: 64, help: 'images per update' },
  lr: { def: 0.002, help: 'Adam learning rate' }, beam: { def: 1, help: 'beam width for the test (1 = greedy)' }, seed: { def: 1, help: 'seed' },
  train: { def: 9000, help: 'training images (the rest of train10k validates)' }, out: { def: 'checkpoints/mnist-caption', help: 'checkpoint folder' },
});
const vocab = TokenVocab.build(NAMES.map((n) => [...n]), [UNK, BOS, EOS]);
const trainSet = await readMnist('data/mnist', 'train10k'), testSet = await readMnist('data/mnist', 't10k');
const examples = (set: typeof trainSet, from: number, to: number): (GeneratorExample & { digit: number })[] => {
  const out = [];
  for (let i = from; i < to; i++) {
    const d = set.labels[i]!;
    out.push({ cond: Float32Array.from(set.pixels.subarray(i * 784, (i + 1) * 784), (p) => p / 255), tokens: vocab.encode([...NAMES[d]!]), digit: d });
  }
  return out;
};
const train = examples(trainSet, 0, o.train), val = examples(trainSet, o.train, trainSet.count), test = examples(testSet, 0, testSet.count);
const model = new Generator({ output: 'tokens', cond_size: 784, vocab_size: vocab.size, embedding_size: 16, hidden_size: o.hidden, bos: 1, eos: 2 }).init(new Rng(o.seed));
const task = {
  params: model.params, grads: model.grads, zeroGrad: () => model.zeroGrad(),
  batchLoss: (b: readonly GeneratorExample[], opts: { train: boolean; rng: Rng }) => model.forward(b, opts), batchBackward: () => model.backward(),
};
const trainer = new ExampleTrainer(task, train, () => 0, { batch: o.batch, epochs: o.epochs, lr: o.lr, clip: 5, seed: o.seed, bucket: false });

/** Exact-word rate: the fraction of images whose generated name is exactly right. */
function exactRate(m: G, set: typeof val, width: number): { rate: number; wrong: Map<string, number> } {
  let right = 0;
  const wrong = new Map<string, number>();
  for (const e of set) {
    const word = vocab.decode(m.generate(e.cond, { width, maxLength: 8 })[0]!.tokens).join('');
    if (word === NAMES[e.digit]) right++;
    else wrong.set(`${NAMES[e.digit]} -> ${word}`, (wrong.get(`${NAMES[e.digit]} -> ${word}`) ?? 0) + 1);
  }
  return { rate: right / set.length, wrong };
}

console.log(`${train.length} train / ${val.length} validation / ${test.length} test images, vocabulary ${vocab.tokens.slice(3).join('')}, ${model.params.data.length.toLocaleString('en')} parameters`);
let t0 = Date.now();
await runExampleTraining(trainer, {
  validate: () => {
    let loss = 0, n = 0;
    for (let s = 0; s < val.length; s += 256) { const r = model.forward(val.slice(s, s + 256)); loss += r.loss; n += r.count; }
    return { score: exactRate(model, val, 1).rate, loss: loss / n, metrics: {} };
  },
}, {
  async onEpoch(r) {
    console.log(epochLine(r, (Date.now() - t0) / 1000, `val exact words ${(100 * r.score).toFixed(2)}% (greedy)`));
    if (r.best) await writeCheckpointFile(`${o.out}/best.safetensors`, encodeGenerator({ model, vocab, tokenizer: { units: 'chars', lowercase: false } }));
    t0 = Date.now();
  },
});
// test with the best epoch's weights
const { readModelFile } = await import('../src/node.js');
const best = (await readModelFile(`${o.out}/best.safetensors`)).loaded;
if (best.kind !== 'generator') throw new Error('unexpected checkpoint');
for (const width of [...new Set([1, o.beam])]) {
  const r = exactRate(best.generator.model, test, width);
  const top = [...r.wrong].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, v]) => `${k} (${v})`).join(', ');
  console.log(`test exact-word rate, ${width === 1 ? 'greedy' : `beam ${width}`}: ${(100 * r.rate).toFixed(2)}% of ${test.length} images; most frequent errors: ${top}`);
}
