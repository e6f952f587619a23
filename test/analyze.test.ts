// Gradient-flow analysis (src/analysis/gradients.ts, lanczos.ts) against explicit float64
// computations done here from the equations, and the `rnnkit analyze gradients` CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CharLM, layerViews } from '../src/models/char-lm.js';
import { LanguageModel } from '../src/models/language-model.js';
import { Rng } from '../src/core/rng.js';
import { createRecurrentCache, recurrentForward } from '../src/nn/recurrent.js';
import { spectralNorm } from '../src/analysis/linalg.js';
import { largestSingularValue } from '../src/analysis/lanczos.js';
import {
  gradientWindows, gradientVsDistance, layerJacobians, jacobianNorms, scaleRecurrentWeights, weightSpectra,
  geometricMean, quantile, perStepFactor,
} from '../src/analysis/gradients.js';
import { maxRelDiff } from './helpers.js';
import { cliRunner, assertUserError } from './cli-helpers.js';

const V = 7, E = 3, H = 6;

function tinyModel(cell: 'rnn_tanh' | 'lstm' | 'gru', seed = 1, h = H, layers = 1): CharLM {
  return new CharLM({ cell, vocab_size: V, embedding_size: E, hidden_size: h, num_layers: layers }, 'float64').init(new Rng(seed));
}

function randomIds(n: number, seed = 2): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(V));
}

/** Row b of block t of a time-major (·*B, H) buffer. */
const row = (a: ArrayLike<number>, t: number, B: number, b: number, h = H): number[] =>
  Array.from({ length: h }, (_, j) => a[(t * B + b) * h + j]!);

const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test('windows: evenly spaced, K+1 inputs, only the last step has a target', () => {
  const ids = Int32Array.from({ length: 50 }, (_, i) => i % V);
  const w = gradientWindows(ids, 9, 4);
  assert.deepEqual(w.starts, [0, 13, 26, 39]); // last start 50 - 11 = 39: its target is ids[49]
  assert.equal(w.T, 10);
  for (let b = 0; b < 4; b++) {
    for (let t = 0; t < 10; t++) {
      assert.equal(w.ids[t * 4 + b], ids[w.starts[b]! + t]);
      assert.equal(w.targets[t * 4 + b], t === 9 ? ids[w.starts[b]! + 10] : -1);
    }
  }
  assert.throws(() => gradientWindows(ids, 49, 1), /need at least 51/);
});

test('tanh RNN: the per-step Jacobian from vector-Jacobian products is diag(1 - h_t²) W_hh', () => {
  const m = tinyModel('rnn_tanh'), B = 3, w = gradientWindows(randomIds(40), 6, B);
  m.forward(w.ids, null, w.T, B, m.newState(B));
  const hs = m.hiddenStates(0), emb = m.params.get('embedding.weight'), whh = m.params.get('rnn.weight_hh_l0');
  for (const [s, b] of [[0, 0], [3, 1], [6, 2]] as const) {
    const id = w.ids[s * B + b]!;
    const [J] = layerJacobians(m, 0, emb.subarray(id * E, (id + 1) * E), Float64Array.from(row(hs, s, B, b)), null, 1);
    const ht = row(hs, s + 1, B, b), expected = new Float64Array(H * H);
    for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) expected[i * H + j] = (1 - ht[i]! ** 2) * whh[i * H + j]!;
    assert.ok(maxRelDiff(J!, expected) < 1e-13, `step ${s} window ${b}: ${maxRelDiff(J!, expected)}`);
  }
});

/** One step of layer 0 at (x, h, c), as (h_t, c_t), by the forward pass alone. */
function step(m: CharLM, x: Float64Array, h: Float64Array, c: Float64Array): Float64Array {
  const { cell, layer_norm: ln } = m.config, lstm = cell === 'lstm', cache = createRecurrentCache(cell, 1, 1, E, H, 'float64', ln);
  recurrentForward(cache, layerViews(m.params, 0, m.config), x, 0, h, 0, c, 0);
  return Float64Array.from([...cache.hs.subarray(H, 2 * H), ...(lstm ? cache.cs.subarray(H, 2 * H) : [])]);
}

test('LSTM, GRU, layer-norm cells: Jacobians (c fixed, and the whole LSTM state) match central differences', () => {
  const rng = new Rng(5), r = (n: number, s = 1) => Float64Array.from({ length: n }, () => s * rng.normal());
  for (const [cell, ln] of [['lstm', false], ['gru', false], ['lstm', true], ['gru', true], ['rnn_tanh', true]] as const) {
    const m = new CharLM({ cell, vocab_size: V, embedding_size: E, hidden_size: H, layer_norm: ln }, 'float64').init(new Rng(3));
    if (ln) for (const v of m.params.views) if (v.name.startsWith('rnn.ln_')) for (let i = 0; i < v.size; i++) v.data[i] += 0.3 * rng.normal();
    const x = r(E), h = r(H, 0.5), c = r(H, 0.5), lstm = cell === 'lstm';
    for (const full of lstm ? [false, true] : [false]) {
      const S = full ? 2 * H : H, [J] = layerJacobians(m, 0, x, h, lstm ? c : null, 1, full);
      const fd = new Float64Array(S * S), eps = 1e-6;
      for (let j = 0; j < S; j++) {
        const plus = [Float64Array.from(h), Float64Array.from(c)], minus = [Float64Array.from(h), Float64Array.from(c)];
        const which = j < H ? 0 : 1, k = j % H;
        plus[which]![k] += eps; minus[which]![k] -= eps;
        const yp = step(m, x, plus[0]!, plus[1]!), ym = step(m, x, minus[0]!, minus[1]!);
        for (let i = 0; i < S; i++) fd[i * S + j] = (yp[i]! - ym[i]!) / (2 * eps);
      }
      assert.ok(maxRelDiff(J!, fd) < 1e-8, `${cell}${ln ? ' LN' : ''}${full ? ' (h, c)' : ''}: ${maxRelDiff(J!, fd)}`);
    }
  }
});

test('gradient vs distance equals dL/dh_T times an explicit product of Jacobians', () => {
  const m = tinyModel('rnn_tanh', 4), B = 3, K = 12, w = gradientWindows(randomIds(60, 7), K, B);
  const [prof] = gradientVsDistance(m, w);
  const P = (n: string) => m.params.get(n);
  const wih = P('rnn.weight_ih_l0'), whh = P('rnn.weight_hh_l0'), bih = P('rnn.bias_ih_l0'), bhh = P('rnn.bias_hh_l0');
  const emb = P('embedding.weight'), hw = P('head.weight'), hb = P('head.bias');
  for (let b = 0; b < B; b++) {
    // forward by hand: h_t = tanh(W_ih e(x_t) + b_ih + W_hh h_{t-1} + b_hh)
    const ys: number[][] = [];
    let h = new Array<number>(H).fill(0);
    for (let t = 0; t <= K; t++) {
      const id = w.ids[t * B + b]!;
      h = Array.from({ length: H }, (_, i) => {
        let a = bih[i]! + bhh[i]!;
        for (let j = 0; j < E; j++) a += wih[i * E + j]! * emb[id * E + j]!;
        for (let j = 0; j < H; j++) a += whh[i * H + j]! * h[j]!;
        return Math.tanh(a);
      });
      ys.push(h);
    }
    // dL/dh_K of the cross-entropy of the last prediction: W_headᵀ (softmax - onehot)
    const logits = Array.from({ length: V }, (_, v) => hb[v]! + h.reduce((s, x, j) => s + hw[v * H + j]! * x, 0));
    const mx = Math.max(...logits), z = logits.reduce((s, l) => s + Math.exp(l - mx), 0);
    const dl = logits.map((l, v) => Math.exp(l - mx) / z - (v === w.targets[K * B + b] ? 1 : 0));
    let g = Array.from({ length: H }, (_, j) => dl.reduce((s, d, v) => s + d * hw[v * H + j]!, 0));
    for (let k = 0; k <= K; k++) {
      const got = prof!.perWindow[k]![b]!;
      assert.ok(Math.abs(got - norm(g)) <= 1e-10 * norm(g), `window ${b}, k=${k}: ${got} vs ${norm(g)}`);
      // one step back: g J with J = diag(1 - y²) W_hh at the output k steps back
      const y = ys[K - k]!, gd = g.map((x, i) => x * (1 - y[i]! ** 2));
      g = Array.from({ length: H }, (_, j) => gd.reduce((s, x, i) => s + x * whh[i * H + j]!, 0));
    }
  }
  const k = 5, v = prof!.perWindow[k]!;
  assert.ok(Math.abs(prof!.geoMean[k]! - Math.cbrt(v[0]! * v[1]! * v[2]!)) < 1e-12 * prof!.geoMean[k]!);
  assert.equal(prof!.median[k], [...v].sort((a, c) => a - c)[1]);
  assert.ok(Math.abs(prof!.ratio[k]! - prof!.geoMean[k]! / prof!.geoMean[0]!) < 1e-15);
  assert.equal(prof!.ratio[0], 1);
});

test('Jacobian norms along the windows: distance k is the step K-k+1 (tanh RNN, explicit)', () => {
  const m = tinyModel('rnn_tanh', 6), B = 2, K = 8, w = gradientWindows(randomIds(30, 9), K, B);
  const [p] = jacobianNorms(m, w, { maxRows: 3 * H }); // several batches
  assert.deepEqual(p!.distances, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(p!.kind, 'h');
  const hs = m.hiddenStates(0), whh = m.params.get('rnn.weight_hh_l0');
  p!.distances.forEach((k, i) => {
    for (let b = 0; b < B; b++) {
      const y = row(hs, K - k + 2, B, b), J = new Float64Array(H * H); // output of step K-k+1 is block K-k+2
      for (let r = 0; r < H; r++) for (let c = 0; c < H; c++) J[r * H + c] = (1 - y[r]! ** 2) * whh[r * H + c]!;
      const e = spectralNorm(J, H, H, { tol: 1e-12, iters: 100000 });
      assert.ok(Math.abs(p!.norms[i]![b]! - e) < 1e-7 * e, `k=${k} b=${b}: ${p!.norms[i]![b]} vs ${e}`);
    }
  });
  const lstm = jacobianNorms(tinyModel('lstm', 6, H, 2), w, { every: 3, fullState: true });
  assert.deepEqual(lstm.map((q) => `${q.layer}${q.kind}:${q.distances.join(',')}`), ['0h:1,4,7', '0state:1,4,7', '1h:1,4,7', '1state:1,4,7']);
});

test('scaleRecurrentWeights sets σ_max of every layer\'s whole W_hh, keeping its direction', () => {
  const m = tinyModel('lstm', 8, 10, 2), before = Float64Array.from(m.params.get('rnn.weight_hh_l1'));
  scaleRecurrentWeights(m, 0.7);
  for (let l = 0; l < 2; l++) {
    const w = m.params.get(`rnn.weight_hh_l${l}`);
    assert.ok(Math.abs(spectralNorm(w, 40, 10, { seed: 9, tol: 1e-12, iters: 100000 }) - 0.7) < 1e-9, `layer ${l}`);
  }
  const after = m.params.get('rnn.weight_hh_l1'), f = after[0]! / before[0]!;
  assert.ok(maxRelDiff(after, before.map((x) => x * f)) < 1e-14, 'a multiple of the original');
  const spectra = weightSpectra(m);
  assert.deepEqual(spectra.filter((s) => s.layer === 0).map((s) => s.block), ['W_hh', 'W_hi', 'W_hf', 'W_hg', 'W_ho']);
  for (const s of spectra) assert.ok(s.block === 'W_hh' ? Math.abs(s.sigmaMax - 0.7) < 1e-9 : s.sigmaMax <= 0.7 + 1e-9, `${s.layer} ${s.block}`);
});

test('Lanczos largest singular value agrees with power iteration', () => {
  const rng = new Rng(11);
  for (const [r, c] of [[20, 20], [30, 7], [7, 30], [1, 5], [64, 64]] as const) {
    const A = Float64Array.from({ length: r * c }, () => rng.normal());
    const e = spectralNorm(A, r, c, { tol: 1e-13, iters: 200000 });
    assert.ok(Math.abs(largestSingularValue(A, r, c) - e) < 1e-9 * e, `${r}x${c}`);
  }
  const rank1 = Float64Array.from({ length: 12 }, (_, i) => (Math.floor(i / 4) + 1) * ((i % 4) + 1)); // (1,2,3)ᵀ(1,2,3,4)
  assert.ok(Math.abs(largestSingularValue(rank1, 3, 4) - Math.sqrt(14 * 30)) < 1e-12);
  assert.equal(largestSingularValue(new Float64Array(9), 3, 3), 0);
});

test('statistics: geometric mean, quantiles, fitted per-step factor', () => {
  assert.ok(Math.abs(geometricMean([1, 4, 16]) - 4) < 1e-12);
  assert.equal(geometricMean([0, 4]), 0);
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.ok(Math.abs(perStepFactor([8, 4, 2, 1, 0.5]) - 0.5) < 1e-12);
  assert.ok(Math.abs(perStepFactor([1, 0, 9]) - 3) < 1e-12, 'zeros are skipped');
  assert.ok(Number.isNaN(perStepFactor([1])));
});

test('σ = 0.5: the gradient shrinks at least 2x every step; σ = 3 with small inputs: it does not vanish', () => {
  const H2 = 16, B = 8, K = 30, w = gradientWindows(randomIds(200, 13), K, B);
  const at = (sigma: number) => {
    const m = tinyModel('rnn_tanh', 1, H2);
    scaleRecurrentWeights(m, sigma);
    const emb = m.params.get('embedding.weight');
    for (let i = 0; i < emb.length; i++) emb[i] = emb[i]! * 0.1; // inputs that do not saturate tanh by themselves
    return gradientVsDistance(m, w)[0]!;
  };
  const small = at(0.5), big = at(3);
  for (let k = 1; k <= K; k++) {
    // ‖J‖ ≤ σ_max(W_hh) max|tanh'| ≤ 0.5, for every window
    for (let b = 0; b < B; b++) assert.ok(small.perWindow[k]![b]! <= 0.5 * small.perWindow[k - 1]![b]! * (1 + 1e-12), `k=${k} b=${b}`);
  }
  assert.ok(small.ratio[20]! < 0.5 ** 20);
  assert.ok(big.ratio[20]! > 1e-3, `σ=3: ratio at k=20 is ${big.ratio[20]}`);
  assert.ok(big.ratio[K]! > 1e6 * small.ratio[K]!);
});

// ---- the CLI ----

const run = cliRunner(() => dir);
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-analyze-'));
  const text = 'To be, or not to be, that is the question: whether tis nobler in the mind to suffer. '.repeat(8);
  await writeFile(join(dir, 'text.txt'), text);
  await writeFile(join(dir, 'short.txt'), 'too short');
  const lm = LanguageModel.create(text, { cell: 'gru', hidden_size: 8, embedding_size: 4, num_layers: 1 }, 3);
  await writeFile(join(dir, 'gru.safetensors'), lm.toBytes());
});
after(async () => { await rm(dir, { recursive: true, force: true }); });

const parseCsv = (s: string): string[][] => s.trimEnd().split('\n').map((l) => l.split(','));

test('analyze gradients writes CSVs, charts and a summary for fresh models and a checkpoint', async () => {
  const r = await run(['analyze', 'gradients', 'gru.safetensors', '--cell', 'rnn_tanh,lstm', '--hidden', '8', '--embedding', '4',
    '--layers', '2', '--text', 'text.txt', '--distance', '10', '--windows', '4', '--jacobian-windows', '2', '--full-state', '--out', 'out']);
  assert.equal(r.code, 0, r.stderr);
  const models = ['gru', 'rnn_tanh', 'lstm fb=1'];
  const g = parseCsv(await readFile(join(dir, 'out', 'gradients.csv'), 'utf8'));
  assert.deepEqual(g[0], ['model', 'cell', 'layer', 'distance', 'geo_mean_norm', 'median_norm', 'ratio_to_k0']);
  assert.equal(g.length, 1 + (1 + 2 + 2) * 11); // (model, layer) x k = 0..10
  assert.deepEqual([...new Set(g.slice(1).map((x) => x[0]))], models);
  for (const x of g.slice(1)) {
    assert.ok(Number(x[4]) > 0 && Number(x[5]) > 0, x.join());
    if (x[3] === '0') assert.equal(x[6], '1');
  }
  const w = parseCsv(await readFile(join(dir, 'out', 'weights.csv'), 'utf8'));
  assert.deepEqual(w[0], ['model', 'layer', 'block', 'sigma_max']);
  assert.deepEqual(w.slice(1).map((x) => `${x[0]}:${x[1]}:${x[2]}`).slice(0, 7),
    ['gru:0:W_hh', 'gru:0:W_hr', 'gru:0:W_hz', 'gru:0:W_hn', 'rnn_tanh:0:W_hh', 'rnn_tanh:1:W_hh', 'lstm fb=1:0:W_hh']);
  assert.equal(w.length, 1 + 4 + 2 + 2 * 5); // gru W_hh + 3 gates; tanh 2 layers; lstm 2 layers x 5
  const j = parseCsv(await readFile(join(dir, 'out', 'jacobians.csv'), 'utf8'));
  assert.deepEqual(j[0], ['model', 'cell', 'layer', 'jacobian', 'distance', 'count', 'mean', 'p10', 'median', 'p90', 'max']);
  assert.equal(j.length, 1 + (1 + 2 + 2 * 2) * 10);
  assert.ok(j.slice(1).every((x) => x[5] === '2' && Number(x[10]) >= Number(x[6])));
  const s = parseCsv(await readFile(join(dir, 'out', 'summary.csv'), 'utf8'));
  assert.equal(s[0]!.at(-1), 'per_step_factor');
  assert.equal(s.length, 1 + 5);
  for (const name of ['gradients', 'jacobians']) {
    const svg = await readFile(join(dir, 'out', `${name}.svg`), 'utf8');
    assert.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'));
    assert.match(svg, /class="title"[^>]*>[^<]+</);
    assert.ok(svg.includes('rnn_tanh (layer 1)'), name);
  }
  assert.match(r.stdout, /σmax\(W_hh\)/);
  assert.match(r.stdout, /lstm fb=1\s+1\s/);
  assert.match(r.stdout, /wrote out[/\\]gradients\.svg/);
});

test('analyze gradients --sigma: one model per value, W_hh rescaled; no Jacobians with --jacobian-windows 0', async () => {
  const r = await run(['analyze', 'gradients', '--cell', 'rnn', '--sigma', '0.5,2', '--hidden', '8', '--embedding', '4', '--text', 'text.txt',
    '--distance', '5', '--windows', '2', '--jacobian-windows', '0', '--out', 'sig']);
  assert.equal(r.code, 0, r.stderr);
  const w = parseCsv(await readFile(join(dir, 'sig', 'weights.csv'), 'utf8')).slice(1);
  assert.deepEqual(w.map((x) => x[0]), ['rnn_tanh σ=0.5', 'rnn_tanh σ=2']);
  assert.ok(Math.abs(Number(w[0]![3]) - 0.5) < 1e-5 && Math.abs(Number(w[1]![3]) - 2) < 1e-5, w.join(' '));
  assert.equal(parseCsv(await readFile(join(dir, 'sig', 'jacobians.csv'), 'utf8')).length, 1);
  await assert.rejects(readFile(join(dir, 'sig', 'jacobians.svg')));
  assert.ok((await readFile(join(dir, 'sig', 'gradients.svg'), 'utf8')).includes('rnn_tanh σ=2'));
});

test('analyze: one-line errors', async () => {
  assertUserError(await run(['analyze', 'gradients', '--cell', 'rnn,foo']), /--cell: unknown cell 'foo'/);
  assertUserError(await run(['analyze', 'gradients', '--cell', 'lstm', '--text', 'missing.txt']), /missing\.txt: no such file/);
  assertUserError(await run(['analyze', 'gradients', '--cell', 'lstm', '--text', 'short.txt', '--distance', '20']), /short\.txt has 9 characters; --distance 20 needs at least 22/);
  assertUserError(await run(['analyze', 'gradients', 'gru.safetensors', '--sigma', '1']), /--sigma .*cannot be used with checkpoints/);
  assertUserError(await run(['analyze', 'gradients', 'gru.safetensors', '--hidden', '8']), /--hidden .*needs --cell/);
  assertUserError(await run(['analyze', 'gradients']), /give checkpoint\(s\) and\/or --cell/);
  assertUserError(await run(['analyze', 'weights']), /unknown analysis 'weights'/);
  assertUserError(await run(['analyze', 'gradients', '--cell', 'gru', '--sigma', '0']), /--sigma must be positive numbers, got '0'/);
  assertUserError(await run(['analyze', 'gradients', 'nope.safetensors']), /nope\.safetensors: no such file/);
});
