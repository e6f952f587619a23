// Float64 gradient checks of the tagger, the conditioned generator (token and row
// Entries below 1e-5 are compared absolutely (tiny): there the differences carry ~1e-12 of rounding.
// output) and seq2seq (with and without attention, uni- and bidirectional encoders,
// reversed source): every parameter tensor, sampled, against five-point differences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setBackend } from '../src/backend/registry.js';
import { Rng } from '../src/core/rng.js';
import type { ParamSet } from '../src/core/params.js';
import { Tagger } from '../src/models/tagger.js';
import { Generator } from '../src/models/generator.js';
import { Seq2Seq } from '../src/models/seq2seq.js';
import { gradcheck, sampleIndices } from '../src/testing/gradcheck.js';

setBackend('ref');

const ids = (rng: Rng, n: number, lo: number, hi: number) => Int32Array.from({ length: n }, () => lo + rng.int(hi - lo));

function check(label: string, params: ParamSet, grads: ParamSet, loss: () => number, rng: Rng): void {
  for (const v of params.views) {
    const r = gradcheck(loss, v.data, grads.get(v.name), { indices: sampleIndices(v.size, 8, rng), eps: 1e-4, order: 4, tiny: 1e-5, name: `${label} ${v.name}` });
    assert.ok(r.maxError < 1e-6, r.report);
  }
}

for (const [cell, bi] of [['lstm', true], ['gru', false], ['rnn_tanh', true]] as const) {
  test(`tagger gradient check: ${cell}${bi ? ' bidirectional' : ''}`, () => {
    const rng = new Rng(1), m = new Tagger({ cell, bidirectional: bi, num_layers: 2, vocab_size: 7, embedding_size: 3, hidden_size: 4, num_classes: 3 }, 'float64').init(rng);
    const lengths = [4, 1, 6], seqs = lengths.map((n) => ids(rng, n, 0, 7)), tags = lengths.map((n) => ids(rng, n, 0, 3));
    const loss = () => { const r = m.forward(seqs, tags); return r.loss / r.count; };
    m.zeroGrad(); loss(); m.backward();
    check('tagger', m.params, m.grads, loss, rng);
  });
}

for (const [cell, output, L] of [['lstm', 'tokens', 2], ['gru', 'tokens', 1], ['lstm', 'bernoulli', 1], ['rnn_tanh', 'bernoulli', 2]] as const) {
  test(`generator gradient check: ${cell} ${output}, ${L} layer(s)`, () => {
    const rng = new Rng(2), K = 3, D = 4;
    const m = new Generator({ cell, output, num_layers: L, cond_size: K, vocab_size: 8, embedding_size: 3, input_size: D, hidden_size: 4 }, 'float64').init(rng);
    const batch = [3, 0, 5].map((n) => ({
      cond: Float32Array.from({ length: K }, () => rng.normal()),
      ...(output === 'tokens' ? { tokens: ids(rng, n, 3, 8) } : { rows: Float32Array.from({ length: (n + 1) * D }, () => rng.uniform()) }),
    }));
    const loss = () => { const r = m.forward(batch); return r.loss / r.count; };
    m.zeroGrad(); loss(); m.backward();
    check('generator', m.params, m.grads, loss, rng);
  });
}

for (const [cell, attention, bi, rev] of [['lstm', 'luong', true, false], ['gru', 'luong', false, true], ['lstm', 'none', false, false], ['gru', 'none', true, true],
  ['lstm', 'additive', true, false], ['gru', 'additive', false, true]] as const) {
  test(`seq2seq gradient check: ${cell}, attention ${attention}${bi ? ', bidirectional encoder' : ''}${rev ? ', reversed source' : ''}`, () => {
    const rng = new Rng(3);
    const m = new Seq2Seq({ cell, attention, bidirectional: bi, reverse_source: rev, num_layers: 2, src_vocab_size: 9, tgt_vocab_size: 7, embedding_size: 3, hidden_size: 4 }, 'float64').init(rng);
    const pairs = [[4, 2], [1, 5], [6, 0]].map(([s, t]) => ({ source: ids(rng, s!, 1, 9), target: ids(rng, t!, 3, 7) }));
    const loss = () => { const r = m.forward(pairs); return r.loss / r.count; };
    m.zeroGrad(); loss(); m.backward();
    check('seq2seq', m.params, m.grads, loss, rng);
  });
}

for (const attention of ['none', 'luong', 'additive'] as const) {
  test(`seq2seq (${attention}): step-by-step decoding agrees with the teacher-forced forward`, () => {
    const rng = new Rng(5);
    const m = new Seq2Seq({ cell: 'lstm', attention, bidirectional: true, num_layers: 2, src_vocab_size: 9, tgt_vocab_size: 12, embedding_size: 4, hidden_size: 6 }, 'float64').init(rng);
    for (let k = 0; k < 5; k++) {
      const source = ids(rng, 2 + k, 1, 9);
      for (const width of [1, 3]) {
        const best = m.translate(source, { width, maxLength: 8 })[0]!;
        // the hypothesis's log-probability, recomputed by the training path
        m.forward([{ source, target: Int32Array.from(best.tokens) }]);
        const l = m.lastLogits(), V = 12, steps = best.tokens.length + (best.finished ? 1 : 0);
        let lp = 0;
        for (let t = 0; t < steps; t++) {
          const y = t < best.tokens.length ? best.tokens[t]! : m.config.eos;
          let max = -Infinity, z = 0;
          for (let v = 0; v < V; v++) max = Math.max(max, l[t * V + v]!);
          for (let v = 0; v < V; v++) z += Math.exp(l[t * V + v]! - max);
          lp += l[t * V + y]! - max - Math.log(z);
          if (width === 1) assert.equal(y, Array.from(l.subarray(t * V, (t + 1) * V)).indexOf(max), 'greedy picks the argmax of the teacher-forced logits');
        }
        assert.ok(Math.abs(lp - best.logProb) < 1e-9, `width ${width}: ${lp} vs ${best.logProb}`);
      }
    }
  });
}
