// Hypothesis signals of the cell search on hand-written C and Shakespeare snippets, the
// statistics (Pearson r, gate saturation, best cells) and the reverse span search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinSignals, regexSignal, parseNumberSignal } from '../src/analysis/cell-signals.js';
import { pearson, bestCells, SaturationCounts, CorrelationSums, correlationFromSums } from '../src/analysis/cell-stats.js';
import { similarSpans } from '../src/viz/span-search.js';
import { UserError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';

const sig = (text: string) => Object.fromEntries(builtinSignals([...text]).map((s) => [s.name, Array.from(s.values)]));
/** n zeros with ones on the half-open ranges. */
const ones = (n: number, ranges: [number, number][]) => {
  const a = new Array<number>(n).fill(0);
  for (const [s, e] of ranges) a.fill(1, s, e);
  return a;
};

test('quote and comment: escapes, char literals, // and /* */, a quote inside a comment', () => {
  //            0123456789012345678 9 0123456789012345678 9
  const text = 's = "a\\"b"; // x "y"\nt = \'"\'; /* z */ u;';
  assert.equal(text.length, 40);
  const s = sig(text);
  // the opening quote is inside (the state after reading it), the closing one is not; \" stays inside
  assert.deepEqual(s['quote'], ones(40, [[4, 9]]));
  // from the second / to the newline (outside), and from the * of /* to the * of */
  assert.deepEqual(s['comment'], ones(40, [[13, 20], [31, 36]]));
});

test('nesting depths, if conditions and if blocks (braced and braceless)', () => {
  const text = 'if (f(a[1])) { g(); }\nif (x) y = (1);\nz;';
  assert.equal(text.length, 40);
  const s = sig(text);
  const depth = (pairs: [number, number, number][]) => {
    const a = new Array<number>(40).fill(0);
    for (const [from, to, v] of pairs) a.fill(v, from, to);
    return a;
  };
  assert.deepEqual(s['paren_depth'], depth([[3, 5, 1], [5, 10, 2], [10, 11, 1], [16, 17, 1], [25, 27, 1], [33, 35, 1]]));
  assert.deepEqual(s['bracket_depth'], depth([[7, 9, 1]]));
  assert.deepEqual(s['brace_depth'], depth([[13, 20, 1]]));
  assert.deepEqual(s['if_condition'], ones(40, [[3, 11], [25, 27]]));
  assert.deepEqual(s['if_block'], ones(40, [[13, 20], [29, 36]]));
  const starts = [0, 4, 6, 8, 15, 22, 26, 29, 34, 38];
  assert.deepEqual(s['word_start'], ones(40, starts.map((i) => [i, i + 1] as [number, number])));
});

test('if bookkeeping: nested braces in the block, braceless if around a braced for, comments and strings do not count', () => {
  const text = 'if (a) { if (b) { c; } d; } e; if (x) for (;;) { y; } z; /* if (q) */ "if (r)";';
  const s = sig(text), at = (ch: string, from = 0) => text.indexOf(ch, from);
  const blockOf = (i: number) => s['if_block']![i];
  assert.equal(blockOf(at('c;')), 1);
  assert.equal(blockOf(at('d;')), 1, 'still inside the outer block after the inner one closed');
  assert.equal(blockOf(at('e;')), 0);
  assert.equal(blockOf(at('y;')), 1, 'the braceless if controls the whole for statement');
  assert.equal(blockOf(at('z;')), 0, "the for's closing brace ends the braceless if's statement");
  assert.equal(s['if_condition']![at('q')], 0, 'an if in a comment is not an if');
  assert.equal(s['if_condition']![at('(r)') + 1], 0, 'an if in a string is not an if');
  assert.equal(s['comment']![at('q')], 1);
  assert.equal(s['quote']![at('(r)') + 1], 1);
});

test('line position, word starts and a Shakespeare speaker-line regex', () => {
  const text = 'First Citizen:\nBefore we proceed.\n\nAll:\nSpeak, speak.\n';
  const s = sig(text);
  assert.deepEqual(s['line_position']!.slice(0, 17), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0, 1, 2]);
  assert.equal(s['line_position']![34], 0); // the empty line's newline
  assert.deepEqual(s['word_start']!.slice(0, 16), [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const speaker = regexSignal('speaker', '^[A-Z][A-Za-z ]*:$', text);
  const all = text.indexOf('All:');
  assert.deepEqual(Array.from(speaker.values), ones(text.length, [[0, 14], [all, all + 4]]));
  // Shakespeare has no code: no quote, comment or depth
  for (const k of ['quote', 'comment', 'paren_depth', 'brace_depth']) assert.ok(s[k]!.every((v) => v === 0), k);
});

test('regex signals count code points, skip empty matches, and reject bad patterns with a UserError', () => {
  const r = regexSignal('ab', 'ab', '\u{1F642}ab-ab');
  assert.deepEqual(Array.from(r.values), [0, 1, 1, 0, 1, 1]);
  assert.deepEqual(Array.from(regexSignal('empty', 'x*', 'aaxa').values), [0, 0, 1, 0]);
  assert.throws(() => regexSignal('bad', '(unclosed', 'abc'), (e: unknown) => e instanceof UserError && /signal 'bad': bad regular expression/.test(e.message));
  assert.deepEqual(Array.from(parseNumberSignal('n', '1 2,3\n-4.5\n', 4).values), [1, 2, 3, -4.5]);
  assert.throws(() => parseNumberSignal('n', '1 2 3', 4), /has 3 numbers, the text has 4 characters/);
  assert.throws(() => parseNumberSignal('n', '1 x 3', 3), /item 2 is not a number/);
});

test('Pearson r: a hand-computed case, sign, and 0 (not NaN) for a constant series', () => {
  // means 2.5 and 5; Σdxdy = 11, Σdx² = 5, Σdy² = 26
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [2, 4, 5, 9]) - 11 / Math.sqrt(130)) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-12);
  assert.equal(pearson([1, 1, 1], [1, 2, 3]), 0);
  assert.equal(pearson([0.3, 0.3, 0.3, 0.3], [0.3, 0.3, 0.3, 0.3]), 0);
  assert.equal(correlationFromSums(0, 0, 0, 0, 0, 0), 0);
});

test('CorrelationSums over chunks equals pearson over the whole series', () => {
  const rng = new Rng(4), T = 300, H = 3;
  const a = Float32Array.from({ length: T * H }, () => rng.uniform() * 2 - 1);
  const s0 = Float32Array.from({ length: T }, (_, t) => a[t * H + 1]! * 2 + 0.1 * rng.normal());
  const s1 = new Float32Array(T).fill(2); // constant
  const sums = new CorrelationSums(H, [s0, s1], 128, H);
  for (let t0 = 0; t0 < T; t0 += 128) {
    const n = Math.min(128, T - t0);
    sums.setChunk(t0, n);
    sums.addSeries(0, a, t0 * H, H);
  }
  for (let j = 0; j < H; j++) {
    const x = Array.from({ length: T }, (_, t) => a[t * H + j]!);
    assert.ok(Math.abs(sums.r(j, 0) - pearson(x, s0)) < 1e-5, `cell ${j}`);
    assert.equal(sums.r(j, 1), 0);
  }
  assert.ok(sums.r(1, 0) > 0.9);
});

test('gate saturation fractions on a hand-made LSTM gate array', () => {
  // H = 2, gates i f g o; 4 steps. Measured gates: input (0), forget (1), output (3)
  const H = 2, G = 4, rows = [
    [0.05, 0.5, /* f */ 0.95, 0.95, /* g */ -1, 1, /* o */ 0.01, 0.5],
    [0.05, 0.92, /* f */ 0.95, 0.05, /* g */ -1, 1, /* o */ 0.02, 0.5],
    [0.5, 0.93, /* f */ 0.95, 0.5, /* g */ -1, 1, /* o */ 0.5, 0.5],
    [0.1, 0.9, /* f */ 0.99, 0.5, /* g */ -1, 1, /* o */ 0.95, 0.5],
  ];
  const sat = new SaturationCounts([0, 1, 3], H);
  sat.add(Float32Array.from(rows.flat()), 0, 2, G);
  sat.add(Float32Array.from(rows.flat()), 2 * G * H, 2, G);
  const { left, right } = sat.fractions();
  // (gate, cell): input 0 left 2/4 (0.1 is not < 0.1), input 1 right 2/4 (0.9 is not > 0.9)
  assert.deepEqual(Array.from(left), [0.5, 0, 0, 0.25, 0.5, 0]);
  assert.deepEqual(Array.from(right), [0, 0.5, 1, 0.25, 0.25, 0]);
});

test('bestCells ranks by |r| and names layer, quantity and cell', () => {
  // 2 layers x (h, tanh_c) x 3 cells
  const corr = new Float32Array(12);
  corr[(1 * 2 + 1) * 3 + 2] = -0.9; corr[(0 * 2 + 0) * 3 + 1] = 0.5; corr[(1 * 2 + 0) * 3 + 0] = 0.7;
  assert.deepEqual(bestCells(corr, ['h', 'tanh_c'], 3, 2).map((c) => [c.layer, c.quantity, c.cell, Number(c.r.toFixed(2))]),
    [[1, 'tanh_c', 2, -0.9], [1, 'h', 0, 0.7]]);
  assert.equal(bestCells(new Float32Array(12), ['h', 'tanh_c'], 3, 5).length, 0, 'cells with r = 0 are not listed');
});

test('the reverse search finds a planted on/off pattern and its cells', () => {
  const rng = new Rng(9), T = 600, H = 16, acts = new Float32Array(T * H);
  for (let i = 0; i < acts.length; i++) acts[i] = rng.uniform() * 1.2 - 0.9; // mostly below 0.5
  for (let t = 0; t < T; t++) for (const j of [3, 7, 11]) acts[t * H + j] = -0.5;
  const plant = [50, 230, 410];
  for (const p of plant) for (let t = p; t < p + 12; t++) { acts[t * H + 3] = 0.9; acts[t * H + 7] = 0.8; if (p !== 230) acts[t * H + 11] = 0.7; }
  const r = similarSpans(acts, T, H, 50, 62, { maxSpans: 3 });
  assert.deepEqual(r.cells.map((c) => c.cell).sort((a, b) => a - b), [3, 7, 11]);
  assert.equal(r.spans[0]!.start, 410); assert.equal(r.spans[0]!.score, 1);
  assert.equal(r.spans[1]!.start, 230); assert.ok(r.spans[1]!.score > 0.6 && r.spans[1]!.score < 1);
  assert.ok(r.spans.every((s) => s.end - s.start === 12 && (s.end <= 50 || s.start >= 62)), 'no span overlaps the selection');
  // the same on int8 data scaled back, as the page runs it
  const q = Int8Array.from(acts, (v) => Math.round(v * 127));
  assert.deepEqual(similarSpans(q, T, H, 50, 62, { maxSpans: 3, scale: 1 / 127 }).spans.map((s) => s.start), r.spans.map((s) => s.start));
  assert.deepEqual(similarSpans(acts, T, H, 100, 104).cells, [], 'nothing is on over a plain span');
});
