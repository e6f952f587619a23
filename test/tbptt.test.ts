// Truncated BPTT(k1, k2) in the Trainer (definition in src/train/trainer.ts): gradients
// against full BPTT and against an independent float64 tanh RNN written out here with
// explicit per-step Jacobian products, the carried state, updates per epoch, and exact
// resume with k2 != k1. Parameters are held fixed where a test compares gradients of
// several updates: plain SGD with lr = 1e-300 changes no weight (the step is far below
// half an ulp), so every update's gradient is taken at the same weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharLM, type CharLMConfig } from '../src/models/char-lm.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { StreamBatches } from '../src/data/batches.js';
import { Rng } from '../src/core/rng.js';
import { maxRelDiff } from './helpers.js';

const V = 6, E = 3, H = 4;
const FROZEN: Partial<TrainConfig> = { optimizer: 'sgd', lr: 1e-300, momentum: 0, clip: 0 };

function randomIds(n: number, rng: Rng, v = V): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(v));
}

/** A float64 model whose recurrent weights are scaled up so gradients reach far back. */
function model(cfg: Partial<CharLMConfig>, seed: number): CharLM {
  const m = new CharLM({ vocab_size: V, embedding_size: E, hidden_size: H, ...cfg }, 'float64').init(new Rng(seed));
  for (const v of m.params.views) if (v.name.startsWith('rnn.weight_hh')) for (let i = 0; i < v.size; i++) v.data[i] *= 2;
  return m;
}

function copyModel(m: CharLM): CharLM {
  const c = new CharLM(m.config, m.dtype);
  c.params.data.set(m.params.data);
  return c;
}

// ---- the reference: a vanilla tanh RNN, h_{t+1} = tanh(W_ih x_t + b_ih + W_hh h_t + b_hh) ----

interface Ref { emb: Float64Array; wih: Float64Array; whh: Float64Array; bih: Float64Array; bhh: Float64Array; hw: Float64Array; hb: Float64Array }

function refOf(m: CharLM): Ref {
  const g = (n: string) => Float64Array.from(m.params.get(n));
  return { emb: g('embedding.weight'), wih: g('rnn.weight_ih_l0'), whh: g('rnn.weight_hh_l0'), bih: g('rnn.bias_ih_l0'), bhh: g('rnn.bias_hh_l0'), hw: g('head.weight'), hb: g('head.bias') };
}

/** hs[0] = 0, hs[t+1] = state after input t: the whole stream from the zero state. */
function refStates(r: Ref, inp: ArrayLike<number>): Float64Array[] {
  const hs = [new Float64Array(H)];
  for (let t = 0; t < inp.length; t++) {
    const h = hs[t]!, x = r.emb.subarray(inp[t]! * E, (inp[t]! + 1) * E), out = new Float64Array(H);
    for (let i = 0; i < H; i++) {
      let a = r.bih[i]! + r.bhh[i]!;
      for (let j = 0; j < E; j++) a += r.wih[i * E + j]! * x[j]!;
      for (let j = 0; j < H; j++) a += r.whh[i * H + j]! * h[j]!;
      out[i] = Math.tanh(a);
    }
    hs.push(out);
  }
  return hs;
}

type Grads = Record<keyof Ref, Float64Array>;

/**
 * Gradient of the mean loss over the steps `counted` of every stream, each loss L_t
 * backpropagated only to steps j >= w:
 *   Σ_t Σ_{j=w..t} ∂L_t/∂h_{t+1} (∏_{m=j+1..t} ∂h_{m+1}/∂h_m) ∂h_{j+1}/∂θ   (direct part)
 * one loss at a time, one Jacobian at a time.
 */
function refGrad(r: Ref, streams: { inp: Int32Array; tgt: Int32Array }[], w: number, counted: [number, number]): { g: Grads; loss: number } {
  const g = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, new Float64Array(v.length)])) as Grads;
  const count = streams.length * (counted[1] - counted[0]);
  let loss = 0;
  for (const { inp, tgt } of streams) {
    const hs = refStates(r, inp);
    for (let t = counted[0]; t < counted[1]; t++) {
      const h = hs[t + 1]!, logits = new Float64Array(V);
      for (let v = 0; v < V; v++) { logits[v] = r.hb[v]!; for (let i = 0; i < H; i++) logits[v] += r.hw[v * H + i]! * h[i]!; }
      const max = Math.max(...logits), z = logits.reduce((s, l) => s + Math.exp(l - max), 0);
      loss += (Math.log(z) + max - logits[tgt[t]!]!) / count;
      let delta = new Float64Array(H); // ∂L_t/∂h_{j+1}, starting at j = t
      for (let v = 0; v < V; v++) {
        const d = (Math.exp(logits[v]! - max) / z - (v === tgt[t] ? 1 : 0)) / count;
        g.hb[v] += d;
        for (let i = 0; i < H; i++) { g.hw[v * H + i] += d * h[i]!; delta[i] += d * r.hw[v * H + i]!; }
      }
      for (let j = t; j >= w; j--) {
        const a = delta.map((d, i) => d * (1 - hs[j + 1]![i]! ** 2)); // through tanh
        const x = inp[j]! * E;
        for (let i = 0; i < H; i++) {
          g.bih[i] += a[i]!; g.bhh[i] += a[i]!;
          for (let k = 0; k < E; k++) { g.wih[i * E + k] += a[i]! * r.emb[x + k]!; g.emb[x + k] += a[i]! * r.wih[i * E + k]!; }
          for (let k = 0; k < H; k++) g.whh[i * H + k] += a[i]! * hs[j]![k]!;
        }
        delta = new Float64Array(H); // ∂h_{j+1}/∂h_j = diag(1 - h²) W_hh
        for (let k = 0; k < H; k++) for (let i = 0; i < H; i++) delta[k] += a[i]! * r.whh[i * H + k]!;
      }
    }
  }
  return { g, loss };
}

const NAMES: Record<keyof Ref, string> = { emb: 'embedding.weight', wih: 'rnn.weight_ih_l0', whh: 'rnn.weight_hh_l0', bih: 'rnn.bias_ih_l0', bhh: 'rnn.bias_hh_l0', hw: 'head.weight', hb: 'head.bias' };

function gradDiff(m: CharLM, want: Grads): number {
  let d = 0;
  for (const k of Object.keys(NAMES) as (keyof Ref)[]) d = Math.max(d, maxRelDiff(m.grads.get(NAMES[k]), want[k]));
  return d;
}

/** The streams of a StreamBatches layout (stream b = ids[b*S ...]). */
function streamsOf(ids: Int32Array, B: number) {
  const S = Math.floor((ids.length - 1) / B);
  return Array.from({ length: B }, (_, b) => ({ inp: ids.subarray(b * S, (b + 1) * S), tgt: ids.subarray(b * S + 1, (b + 1) * S + 1) }));
}

// ---- tests ----

test('fillWindow reads any window of every stream; fill(k) is the window [k*T, (k+1)*T)', () => {
  const ids = Int32Array.from({ length: 30 }, (_, i) => i), B = 3, T = 4; // S = 9
  const sb = new StreamBatches(ids, B, T);
  assert.equal(sb.updatesPerEpoch, 2);
  const inp = new Int32Array(5 * B), tgt = new Int32Array(5 * B);
  sb.fillWindow(3, 5, inp, tgt);
  for (let b = 0; b < B; b++) for (let t = 0; t < 5; t++) {
    assert.equal(inp[t * B + b], b * 9 + 3 + t);
    assert.equal(tgt[t * B + b], b * 9 + 4 + t);
  }
  const a = new Int32Array(B * T), at = new Int32Array(B * T);
  sb.fill(1, a, at);
  sb.fillWindow(4, 4, inp, tgt);
  assert.deepEqual([...a], [...inp.subarray(0, B * T)]);
  assert.deepEqual([...at], [...tgt.subarray(0, B * T)]);
  assert.throws(() => sb.fillWindow(6, 4, inp, tgt), /outside a stream of 9/);
  assert.throws(() => sb.fillWindow(-1, 2, inp, tgt), /outside/);
});

test('(a) TBPTT(n, n) on one sequence is full BPTT of the mean loss', () => {
  const n = 11, ids = randomIds(n + 1, new Rng(3));
  for (const cell of ['lstm', 'gru', 'rnn_tanh'] as const) {
    const m = model({ cell }, 7), full = copyModel(m);
    const tr = new Trainer(m, ids, { ...FROZEN, batch: 1, seq: n, bptt: n });
    assert.equal(tr.batches.updatesPerEpoch, 1);
    const r = tr.trainStep();
    const { loss, count } = full.forward(ids.subarray(0, n), ids.subarray(1), n, 1, full.newState(1));
    full.zeroGrad();
    full.backward();
    assert.equal(count, n);
    assert.ok(Math.abs(r.loss - loss / n) < 1e-14, `${cell} loss`);
    assert.ok(maxRelDiff(m.grads.data, full.grads.data) < 1e-13, `${cell} gradient`);
  }
});

test('(b) each update\'s gradient is the truncated sum of the definition (rnn_tanh, float64)', () => {
  const B = 2, S = 12, ids = randomIds(B * S + 1, new Rng(11));
  const streams = streamsOf(ids, B);
  // (1, n), (k1, 1), k1 < k2 < n, k1 = k2, k2 < k1, k2 not a multiple of k1, (n, n)
  const cases: [number, number][] = [[1, S], [4, 1], [2, 5], [3, 3], [5, 2], [3, 7], [S, S]];
  for (const [k1, k2] of cases) {
    const m = model({ cell: 'rnn_tanh' }, 5), r = refOf(m), w0 = Float64Array.from(m.params.data);
    const tr = new Trainer(m, ids, { ...FROZEN, batch: B, seq: k1, bptt: k2 });
    const U = Math.floor(S / k1);
    let discriminating = false;
    for (let i = 0; i < U + 2; i++) { // into the next epoch: the state is reset at the wrap
      const u = i % U, e = (u + 1) * k1, w = Math.max(0, e - k2), first = Math.max(w, e - k1);
      const res = tr.trainStep();
      const want = refGrad(r, streams, w, [first, e]);
      const d = gradDiff(m, want.g);
      assert.ok(d < 1e-12, `(${k1}, ${k2}) update ${i + 1}: gradient differs by ${d}`);
      assert.ok(Math.abs(res.loss - want.loss) < 1e-13, `(${k1}, ${k2}) update ${i + 1}: loss ${res.loss} vs ${want.loss}`);
      // the case tests something: plain chunked TBPTT(k1, k1) would give another gradient
      const plain = refGrad(r, streams, e - k1, [e - k1, e]).g;
      if (Math.max(...(Object.keys(NAMES) as (keyof Ref)[]).map((k) => maxRelDiff(plain[k], want.g[k]))) > 1e-3) discriminating = true;
    }
    assert.equal(discriminating, k2 !== k1, `(${k1}, ${k2}) differs from TBPTT(${k1}, ${k1})`);
    assert.deepEqual([...m.params.data], [...w0], 'weights frozen');
  }
});

test('(c) the state is carried across updates, reset at the wrap; updates per epoch = floor(S / k1)', () => {
  const B = 2, S = 13, ids = randomIds(B * S + 1, new Rng(21));
  const streams = streamsOf(ids, B);
  for (const [k1, k2] of [[3, 3], [2, 5], [4, 1], [5, 2], [1, 13]] as const) {
    const m = model({ cell: 'rnn_tanh' }, 9), r = refOf(m);
    const tr = new Trainer(m, ids, { ...FROZEN, batch: B, seq: k1, bptt: k2 });
    const U = Math.floor(S / k1);
    assert.equal(tr.batches.updatesPerEpoch, U);
    const hs = streams.map((s) => refStates(r, s.inp));
    let prev: Float64Array | null = null;
    for (let i = 0; i < U + 1; i++) {
      tr.trainStep();
      // the window forward starts from the carried state (k2 >= k1; k2 < k1 runs a forward-only part first)
      if (prev && k2 >= k1) assert.deepEqual([...m.hiddenStates(0).subarray(0, B * H)], [...prev], `(${k1}, ${k2}) update ${i + 1} starts from the carried state`);
      // carried = state at the next update's first step, from the zero state at the stream start
      const u = (i + 1) % U, at = Math.max(0, Math.min(u * k1, (u + 1) * k1 - k2));
      for (let b = 0; b < B; b++) {
        const got = tr.state.h.subarray(b * H, (b + 1) * H);
        assert.ok(maxRelDiff(got, hs[b]![at]!) < 1e-13, `(${k1}, ${k2}) after update ${i + 1}: state at step ${at}`);
      }
      assert.equal(tr.state.fresh === true, at === 0, 'the initial state is flagged until the windows leave step 0');
      prev = Float64Array.from(tr.state.h);
    }
    assert.equal(tr.epoch, 1);
    assert.equal(tr.chunk, 1);
  }
  for (const [N, B, k1] of [[101, 4, 7], [50, 1, 49], [64, 3, 5]] as const) {
    const tr = new Trainer(model({}, 1), randomIds(N, new Rng(1)), { batch: B, seq: k1, bptt: 2 * k1 });
    const U = Math.floor(Math.floor((N - 1) / B) / k1);
    assert.equal(tr.batches.updatesPerEpoch, U);
    for (let i = 0; i < U; i++) tr.trainStep();
    assert.deepEqual([tr.epoch, tr.chunk, tr.step], [1, 0, U]);
  }
});

test('(d) resume continues exactly with k2 != k1 (float32, adam, dropout, scheduled sampling, noisy initial state)', () => {
  const ids = randomIds(2 * 23 + 1, new Rng(5));
  for (const [k1, k2, initial_state] of [[3, 7, 'noisy'], [5, 2, 'zero'], [2, 5, 'learned']] as const) {
    const mc: Partial<CharLMConfig> & { vocab_size: number } = { cell: 'lstm', vocab_size: V, embedding_size: E, hidden_size: H, num_layers: 2, dropout: 0.2, initial_state };
    const cfg: Partial<TrainConfig> = { batch: 2, seq: k1, bptt: k2, optimizer: 'adam', lr: 1e-2, feed: 'scheduled', scheduleSteps: 6, seed: 4 };
    const a = new CharLM(mc).init(new Rng(2));
    const ta = new Trainer(a, ids, cfg);
    for (let i = 0; i < 6; i++) ta.trainStep();
    // snapshot() hands out the live float32 buffers: copy them, as writing a checkpoint does
    const snap = ta.snapshot(), weights = Float32Array.from(a.params.data);
    const tensors = new Map(snap.tensors.map((t) => [t.name, { shape: t.shape, data: Float32Array.from(t.data) }]));
    const want: number[] = [];
    for (let i = 0; i < 9; i++) want.push(ta.trainStep().loss); // crosses an epoch boundary
    const b = new CharLM(mc);
    b.params.data.set(weights);
    const tb = new Trainer(b, ids, JSON.parse(JSON.stringify(snap.meta.config)) as TrainConfig);
    tb.restore(tensors, JSON.parse(JSON.stringify(snap.meta)));
    const got: number[] = [];
    for (let i = 0; i < 9; i++) got.push(tb.trainStep().loss);
    assert.deepEqual(got, want, `(${k1}, ${k2}) ${initial_state}`);
    assert.deepEqual([...b.params.data], [...a.params.data]);
    assert.ok(ta.epoch > snap.meta.epoch, 'crossed an epoch boundary after the snapshot');
  }
});

test('bptt is validated; 0 means seq', () => {
  const ids = randomIds(40, new Rng(1));
  assert.equal(new Trainer(model({}, 1), ids, { batch: 1, seq: 4 }).k2, 4);
  assert.equal(new Trainer(model({}, 1), ids, { batch: 1, seq: 4, bptt: 9 }).k2, 9);
  assert.throws(() => new Trainer(model({}, 1), ids, { batch: 1, seq: 4, bptt: -1 }), /bptt must be a non-negative integer/);
  assert.throws(() => new Trainer(model({}, 1), ids, { batch: 1, seq: 4, bptt: 2.5 }), /bptt/);
});

test('pascanu > 0 reaches model.backward; 0 leaves the gradient alone', () => {
  const B = 2, S = 9, k1 = 4, ids = randomIds(B * S + 1, new Rng(8));
  const grad = (pascanu: number) => {
    const m = model({ cell: 'rnn_tanh' }, 3);
    new Trainer(m, ids, { ...FROZEN, batch: B, seq: k1, pascanu }).trainStep();
    return Float64Array.from(m.grads.data);
  };
  // the first update is one forward over steps [0, k1) and backward with the regularizer
  const ref = model({ cell: 'rnn_tanh' }, 3), inp = new Int32Array(k1 * B), tgt = new Int32Array(k1 * B);
  for (let t = 0; t < k1; t++) for (let b = 0; b < B; b++) { inp[t * B + b] = ids[b * S + t]!; tgt[t * B + b] = ids[b * S + t + 1]!; }
  ref.forward(inp, tgt, k1, B, ref.newState(B));
  ref.zeroGrad();
  ref.backward({ pascanu: 0.5 });
  const g = grad(0.5);
  assert.ok(maxRelDiff(g, ref.grads.data) < 1e-13, 'same as model.backward({ pascanu })');
  assert.ok(maxRelDiff(g, grad(0)) > 1e-3, 'the regularizer changes the gradient');
  assert.throws(() => new Trainer(ref, ids, { batch: B, seq: k1, pascanu: -1 }), /pascanu must be >= 0/);
  assert.throws(() => new Trainer(model({ cell: 'lstm' }, 3), ids, { batch: B, seq: k1, pascanu: 0.5 }).trainStep(), /Pascanu regularizer is defined for vanilla RNNs/);
});
