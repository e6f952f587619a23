// Classifier (many-to-one): float64 gradient checks of every parameter for each pooling,
// both directions, token input on both of its paths (per-token table and direct
// projection) and float input; results independent of batch order and padding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend } from '../src/backend/registry.js';
import { Classifier, type ClassifierConfig } from '../src/models/classifier.js';
import { Rng } from '../src/core/rng.js';
import { gradcheck, sampleIndices } from '../src/testing/gradcheck.js';
import type { Sequence } from '../src/models/encoder.js';

setBackend('ref');

function batch(cfg: Partial<ClassifierConfig>, rng: Rng, lengths: number[]): Sequence[] {
  return lengths.map((n) => cfg.input === 'float'
    ? Float32Array.from({ length: n * cfg.input_size! }, () => rng.normal())
    : Int32Array.from({ length: n }, () => rng.int(cfg.vocab_size!)));
}

const cases: [string, Partial<ClassifierConfig>][] = [
  ['lstm last, tokens through the table', { cell: 'lstm', pool: 'last', vocab_size: 5 }],
  ['gru last bidirectional, direct projection', { cell: 'gru', pool: 'last', bidirectional: true, vocab_size: 40 }],
  ['lstm mean bidirectional 2 layers', { cell: 'lstm', pool: 'mean', bidirectional: true, num_layers: 2, vocab_size: 6 }],
  ['rnn_tanh max', { cell: 'rnn_tanh', pool: 'max', vocab_size: 40 }],
  ['gru max bidirectional, float input', { cell: 'gru', pool: 'max', bidirectional: true, input: 'float', input_size: 3 }],
  ['lstm last, float input, layer norm', { cell: 'lstm', pool: 'last', input: 'float', input_size: 2, layer_norm: true }],
];

for (const [name, c] of cases) {
  test(`classifier gradient check: ${name}`, () => {
    const cfg = { embedding_size: 3, hidden_size: 4, num_classes: 3, ...c };
    const m = new Classifier(cfg, 'float64').init(new Rng(2));
    const rng = new Rng(7), seqs = batch(cfg, rng, [3, 5, 1, 4]), labels = [2, 0, 1, 1];
    const loss = () => { const r = m.forward(seqs, labels); return r.loss / r.count; };
    m.zeroGrad();
    loss();
    m.backward();
    for (const v of m.params.views) {
      const r = gradcheck(loss, v.data, m.grads.get(v.name), { indices: sampleIndices(v.size, 10, rng), eps: 1e-4, order: 4, tiny: 1e-5, name: v.name });
      assert.ok(r.maxError < 1e-6, r.report);
    }
  });
}

test('classifier: each sequence is scored alone (batch order and companions do not matter)', () => {
  const cfg = { cell: 'lstm' as const, pool: 'mean' as const, bidirectional: true, vocab_size: 9, embedding_size: 3, hidden_size: 4, num_classes: 3 };
  const m = new Classifier(cfg, 'float64').init(new Rng(3));
  const seqs = batch(cfg, new Rng(4), [2, 6, 3]);
  m.forward(seqs, null);
  const all = m.probabilities();
  for (let b = 0; b < 3; b++) {
    m.forward([seqs[b]!], null);
    const one = m.probabilities();
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(one[c]! - all[b * 3 + c]!) < 1e-12);
  }
  assert.deepEqual(Array.from(m.predict(seqs)), [0, 1, 2].map((b) => { m.forward([seqs[b]!], null); const p = m.probabilities(); return p.indexOf(Math.max(...p)); }));
});
