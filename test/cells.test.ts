// analyzeCells against the model's own forward state, and the page it feeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LanguageModel } from '../src/models/language-model.js';
import { analyzeCells } from '../src/analysis/cells.js';
import { pearson } from '../src/analysis/cell-stats.js';
import { cellsPage, base64, quantize } from '../src/viz/cells-page.js';
import { similarSpans } from '../src/viz/span-search.js';
import { UserError } from '../src/core/errors.js';
import { ROOT } from './cli-helpers.js';
import { join } from 'node:path';

const TEXT = readFileSync(join(ROOT, 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 700);
const model = (cell: 'lstm' | 'gru' | 'rnn_tanh') => LanguageModel.create(TEXT, { cell, num_layers: 2, hidden_size: 8, embedding_size: 4 }, 7);
const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol;

for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
  test(`${cell}: activations, guesses, loss and gate statistics equal the model's own forward, step by step and whole`, () => {
    const lm = model(cell), net = lm.net, H = 8, L = 2, ids = lm.vocab.encode(TEXT), n = ids.length;
    // chunks of 64 steps: the state must carry across them
    const r = analyzeCells(lm, TEXT, { maxShown: n, chunk: 64 });
    const Q = r.quantities.length;
    assert.deepEqual(r.quantities, cell === 'lstm' ? ['h', 'tanh_c'] : ['h']);
    assert.equal(r.chars, n);
    // the whole text in one forward: the last step's h and c
    const whole = net.newState(1);
    net.forward(ids, null, n, 1, whole);
    for (let l = 0; l < L; l++) for (let j = 0; j < H; j++) {
      assert.ok(close(r.shown.acts[l * Q]![(n - 1) * H + j]!, whole.h[l * H + j]!), `h layer ${l} cell ${j}`);
      if (cell === 'lstm') assert.ok(close(r.shown.acts[l * Q + 1]![(n - 1) * H + j]!, Math.tanh(whole.c[l * H + j]!)), `tanh(c) layer ${l} cell ${j}`);
    }
    // one step at a time: every step's h, tanh(c), gates and guesses
    const state = net.newState(1), left = [0, 0], right = [0, 0];
    let maxDiff = 0;
    for (let t = 0; t < n; t++) {
      net.forward(ids.subarray(t, t + 1), null, 1, 1, state);
      for (let l = 0; l < L; l++) {
        for (let j = 0; j < H; j++) {
          maxDiff = Math.max(maxDiff, Math.abs(r.shown.acts[l * Q]![t * H + j]! - state.h[l * H + j]!));
          if (cell === 'lstm') maxDiff = Math.max(maxDiff, Math.abs(r.shown.acts[l * Q + 1]![t * H + j]! - Math.tanh(state.c[l * H + j]!)));
        }
        if (cell !== 'rnn_tanh') {
          const g = net.layerActivations(l).g, forget = cell === 'lstm' ? 1 : 0; // lstm forget / gru reset gate of cell 0
          if (g[forget * H]! < 0.1) left[l]!++; else if (g[forget * H]! > 0.9) right[l]!++;
        }
      }
      const logits = net.logits(), V = lm.vocab.size, max = Math.max(...logits.subarray(0, V));
      const p = Array.from(logits.subarray(0, V), (x) => Math.exp(x - max)), sum = p.reduce((a, b) => a + b, 0);
      const best = p.map((x, v) => [x / sum, v] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
      if (t % 37 === 0) {
        assert.equal(r.shown.topIds[t * 5], best[0]![1], `top guess at ${t}`);
        for (let k = 0; k < 5; k++) assert.ok(close(r.shown.topProbs[t * 5 + k]!, best[k]![0], 1e-4), `p${k} at ${t}`);
      }
    }
    assert.ok(maxDiff < 1e-5, `max |chunked - step-by-step| = ${maxDiff}`);
    if (cell !== 'rnn_tanh') {
      assert.deepEqual(r.gates.names, cell === 'lstm' ? ['input', 'forget', 'output'] : ['reset', 'update']);
      const gi = cell === 'lstm' ? 1 : 0;
      for (let l = 0; l < L; l++) {
        assert.ok(close(r.gates.left[l]![gi * H]!, left[l]! / n), `left layer ${l}`);
        assert.ok(close(r.gates.right[l]![gi * H]!, right[l]! / n), `right layer ${l}`);
      }
    } else assert.deepEqual(r.gates.names, []);
    assert.ok(close(r.lossNats, lm.evaluateStats(TEXT).loss_nats, 1e-5), 'loss as rnnkit eval measures it');
    // each signal's correlations are Pearson's r over the whole text
    for (const s of r.signals.filter((x) => ['line_position', 'word_start'].includes(x.name))) {
      let col = 0;
      const values = s.name === 'line_position' ? [...TEXT].map((ch) => (col = ch === '\n' ? 0 : col + 1)) : null;
      for (const k of [0, 5, Q * H + 3]) {
        const x = Array.from({ length: n }, (_, t) => r.shown.acts[Math.floor(k / H)]![t * H + (k % H)]!);
        const ref = values ?? Array.from({ length: n }, (_, t) => (/\w/.test(TEXT[t]!) && !/\w/.test(TEXT[t - 1] ?? ' ') ? 1 : 0));
        assert.ok(close(s.correlations[k]!, pearson(x, ref), 1e-4), `${s.name} series ${k}: ${s.correlations[k]} vs ${pearson(x, ref)}`);
      }
      assert.ok(s.best.length === 5 && Math.abs(s.best[0]!.r) >= Math.abs(s.best[4]!.r));
    }
  });
}

test('the shown window, user signals, unknown characters, and a structured-cloneable report', () => {
  const lm = model('lstm'), ids = lm.vocab.encode(TEXT), n = ids.length;
  const values = Float32Array.from({ length: n }, (_, i) => i % 7);
  const r = analyzeCells(lm, TEXT, { maxShown: 100, start: 650, signals: [{ name: 'mod7', values }, { name: 'speaker', regex: '^[A-Z][a-z ]*:$' }], builtins: ['quote'], top: 3 });
  assert.equal(r.shown.start, 650);
  assert.equal(r.shown.text, TEXT.slice(650));
  assert.equal(r.shown.acts[0]!.length, (n - 650) * 8);
  assert.deepEqual(r.signals.map((s) => s.name), ['quote', 'mod7', 'speaker']);
  assert.equal(r.signals[0]!.best.length, 0, 'no quote in the text: a constant signal lists no cells');
  assert.ok(r.signals[0]!.correlations.every((x) => x === 0), 'and no NaN');
  assert.equal(r.signals[2]!.best.length, 3);
  const clone = structuredClone(r);
  assert.deepEqual(clone, r);
  assert.throws(() => analyzeCells(lm, TEXT + 'é€', { source: 'x.txt' }), (e: unknown) => e instanceof UserError && /x.txt has 2 character\(s\) not in the model's vocabulary: "é" "€"/.test(e.message));
  const skipped = analyzeCells(lm, 'é' + TEXT.slice(0, 50) + '€', { skipUnknown: true, signals: [{ name: 'v', values: new Float32Array(52).fill(1).fill(3, 0, 1) }] });
  assert.equal(skipped.skipped, 2); assert.equal(skipped.chars, 50); assert.equal(skipped.shown.text, TEXT.slice(0, 50));
  assert.throws(() => analyzeCells(lm, TEXT, { signals: [{ name: 'v', values: new Float32Array(3) }] }), /signal 'v': has 3 values, the text has 700 characters/);
  assert.throws(() => analyzeCells(lm, TEXT, { signals: [{ name: 'r', regex: '[' }] }), /signal 'r': bad regular expression/);
  assert.throws(() => analyzeCells(lm, TEXT, { builtins: ['quotes'] }), /unknown signal\(s\) quotes/);
});

test('the page is self-contained, parses, and carries the data and the search function', () => {
  const lm = model('lstm'), r = analyzeCells(lm, TEXT + 'x</script><b>', { maxShown: 300, skipUnknown: true });
  const html = cellsPage(r, { title: 'T <&>' });
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<title>T &#60;&#38;&#62;<\/title>/);
  for (const m of html.matchAll(/\b(?:src|href|action|xlink:href)\s*=\s*"([^"]*)"/g)) assert.ok(m[1]!.startsWith('#'), `local link only: ${m[1]}`);
  assert.doesNotMatch(html, /<link\b|@import|url\(|\bsrc=|https?:|<iframe/i);
  // exactly two scripts: the data and the program; the program compiles
  const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 2);
  assert.match(scripts[0]![1]!, /type="application\/json" id="cells-data"/);
  const data = JSON.parse(scripts[0]![2]!);
  assert.equal(data.text, r.shown.text);
  assert.equal(data.start, 0);
  const q = quantize(r.shown.acts[1]!);
  assert.equal(data.acts[1], base64(new Uint8Array(q.buffer)));
  assert.equal(Buffer.from(data.acts[1], 'base64').length, 300 * 8);
  assert.equal(data.topIds.length, 300 * 5);
  assert.doesNotThrow(() => new Function(scripts[1]![2]!), 'the page script parses');
  assert.ok(scripts[1]![2]!.includes(similarSpans.toString()), 'the page runs the tested reverse search');
  // best cells link to their views; the gate scatter has one dot per cell and gate
  assert.ok(r.signals.every((s) => s.best.every((c) => html.includes(`href="#L${c.layer + 1}-${c.quantity}-${c.cell}"`))));
  assert.equal([...html.matchAll(/<circle /g)].length, 2 * 3 * 8);
});

test('base64 matches Buffer for every length remainder', () => {
  for (const n of [0, 1, 2, 3, 4, 5, 30000]) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
    assert.equal(base64(b), Buffer.from(b).toString('base64'));
  }
});
