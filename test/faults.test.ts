// Numerical faults in training (src/train/faults.ts): a NaN or infinity injected into a
// known parameter's gradient at a known step stops the run naming both, or is skipped
// without touching parameters, optimizer state or the carried state; loss spikes; the
// limit on skips in a row; updates that make a parameter non-finite; the skip count
// across checkpoint and resume; the example trainer likewise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharLM, type BackwardOptions, type CharLMConfig, type ForwardOptions, type RecurrentState } from '../src/models/char-lm.js';
import { Classifier, type ClassifierExample } from '../src/models/classifier.js';
import { classifierTask } from '../src/tasks/classify.js';
import { ExampleTrainer, runExampleTraining } from '../src/train/examples.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { NonFiniteError, TrainingFault, backwardOrder, type FaultPolicy } from '../src/train/faults.js';
import { runMeta } from '../src/train/run-checkpoint.js';
import { UserError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';

const V = 6;
const IDS = Int32Array.from({ length: 600 }, (_, i) => (i * 7 + (i >> 3)) % V);
const CFG: Partial<TrainConfig> = { batch: 2, seq: 8, seed: 3, lr: 0.01 };

/** A CharLM into whose gradient (or loss) a test injects a fault at a given step of its trainer. */
class Faulty extends CharLM {
  step = () => 0; // the step being trained (set once the trainer exists)
  poison: { steps: (s: number) => boolean; entries: [string, number, number][] } | null = null; // [view, index, value]
  spikeAt = 0; // this step's loss is multiplied by 50

  override forward(ids: Int32Array, targets: Int32Array | null, T: number, B: number, state: RecurrentState, opts?: ForwardOptions): { loss: number; count: number } {
    const r = super.forward(ids, targets, T, B, state, opts);
    return targets && this.step() === this.spikeAt ? { loss: 50 * r.loss, count: r.count } : r;
  }

  override backward(opts?: BackwardOptions): { regularizer: number } {
    const r = super.backward(opts);
    if (this.poison?.steps(this.step())) for (const [name, i, v] of this.poison.entries) this.grads.get(name)[i] = v;
    return r;
  }
}

function setup(cfg: Partial<TrainConfig> = {}, policy: Partial<FaultPolicy> = {}, model: Partial<CharLMConfig> = {}) {
  const m = new Faulty({ vocab_size: V, embedding_size: 4, hidden_size: 8, num_layers: 2, cell: 'lstm', ...model }).init(new Rng(1));
  const t = new Trainer(m, IDS, { ...CFG, ...cfg });
  t.faults.setPolicy(policy);
  m.step = () => t.step + 1;
  return { m, t };
}

/** Everything a skipped step must leave as it was: parameters, optimizer state, carried state. */
function frozen(t: Trainer<Faulty>) {
  return {
    params: Float32Array.from(t.model.params.data),
    optim: t.updater.tensors().map((e) => Float32Array.from(e.data)), optimizerSteps: t.opt.t,
    h: Float32Array.from(t.state.h), c: Float32Array.from(t.state.c),
  };
}

const run = (t: Trainer<Faulty>, steps: number) => { while (t.step < steps) t.trainStep(); };

test('stop: a NaN in one gradient stops the step before its update, naming the parameter, the count and the step', () => {
  const { m, t } = setup();
  m.poison = { steps: (s) => s === 3, entries: [['rnn.weight_hh_l1', 5, NaN]] };
  run(t, 2);
  const before = frozen(t);
  assert.throws(() => t.trainStep(), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError && e instanceof UserError);
    assert.match(e.message, /^gradient became non-finite at step 3 \(loss \d\.\d{4}\): first rnn\.weight_hh_l1 \(1 of 256 entries NaN or infinite\); stopping without saving \(try a lower --lr or --clip, or --on-fault skip\)$/);
    assert.deepEqual(e.fault?.tensors, [{ name: 'rnn.weight_hh_l1', count: 1, size: 256 }]);
    assert.equal(e.fault?.step, 3);
    return true;
  });
  const after = frozen(t);
  assert.deepEqual(after.params, before.params, 'no update');
  assert.deepEqual(after.optim, before.optim);
  assert.equal(after.optimizerSteps, before.optimizerSteps);
});

test('"first" is backward order: the output layer, then down the stack, then the embedding; all are listed with counts', () => {
  const { m, t } = setup();
  m.poison = { steps: (s) => s === 1, entries: [['embedding.weight', 0, Infinity], ['rnn.bias_ih_l0', 1, NaN], ['rnn.bias_ih_l0', 2, NaN], ['head.bias', 4, -Infinity]] };
  assert.throws(() => t.trainStep(), /: gradient became non-finite at step 1 \(loss \d\.\d{4}\): first head\.bias \(1 of 6 entries NaN or infinite\), then rnn\.bias_ih_l0 \(2 of 32 entries\) and embedding\.weight \(1 of 24\); stopping/);
  const ln = new CharLM({ vocab_size: V, embedding_size: 4, hidden_size: 2, num_layers: 2, layer_norm: true, initial_state: 'learned' });
  const lnOf = (l: number) => ['ih_weight', 'ih_bias', 'hh_weight', 'hh_bias', 'c_weight', 'c_bias'].map((k) => `rnn.ln_${k}_l${l}`);
  assert.deepEqual(backwardOrder(ln.params.views).map((v) => v.name), [
    'head.bias', 'head.weight',
    'rnn.bias_hh_l1', 'rnn.bias_ih_l1', 'rnn.weight_hh_l1', ...lnOf(1), 'rnn.weight_ih_l1',
    'rnn.bias_hh_l0', 'rnn.bias_ih_l0', 'rnn.weight_hh_l0', ...lnOf(0), 'rnn.weight_ih_l0',
    'embedding.weight', 'init.h0', 'init.c0',
  ]);
});

test('skip: the faulty step changes no parameter, optimizer or carried state; the data moves on; training goes on to the end', () => {
  const { m, t } = setup({}, { onFault: 'skip' });
  m.poison = { steps: (s) => s === 3, entries: [['rnn.weight_hh_l1', 5, NaN]] };
  run(t, 2);
  const before = frozen(t), chunk = t.chunk;
  const r = t.trainStep();
  assert.equal(r.fault?.kind, 'gradient');
  assert.equal(r.fault?.step, 3);
  assert.match(r.fault!.message, /first rnn\.weight_hh_l1 \(1 of 256 entries/);
  assert.deepEqual(frozen(t), before, 'parameters, optimizer state and carried state as before the step');
  assert.equal(t.step, 3);
  assert.equal(t.chunk, chunk + 1, 'the data position moved on');
  assert.deepEqual([t.faults.skipped, t.faults.consecutive], [1, 1]);
  run(t, t.batches.updatesPerEpoch + 4); // past an epoch boundary
  assert.deepEqual([t.faults.skipped, t.faults.consecutive, t.epoch], [1, 0, 1]);
  assert.ok(t.model.params.data.every(Number.isFinite));
});

test('a run without faults is bit for bit the same in skip mode as in stop mode', () => {
  const a = setup(), b = setup({}, { onFault: 'skip', spike: 5 });
  run(a.t, 12); run(b.t, 12);
  assert.deepEqual(b.m.params.data, a.m.params.data);
  assert.deepEqual(b.t.state.h, a.t.state.h);
  assert.equal(b.t.faults.skipped, 0);
});

test('spike: a loss over X times the recent mean is a fault (skipped, or a stop), off by default', () => {
  const off = setup();
  off.m.spikeAt = 8;
  run(off.t, 8);
  assert.equal(off.t.faults.skipped, 0);
  const skip = setup({}, { onFault: 'skip', spike: 5 });
  skip.m.spikeAt = 8;
  run(skip.t, 7);
  const before = frozen(skip.t), r = skip.t.trainStep();
  assert.equal(r.fault?.kind, 'spike');
  assert.match(r.fault!.message, /^loss spiked at step 8: \d+\.\d{4} is \d+\.\dx the recent mean \d\.\d{4} \(threshold 5x\)$/);
  assert.deepEqual(frozen(skip.t), before);
  assert.equal(skip.t.faults.lossSteps, 7, 'the spike is not in the mean');
  const stop = setup({}, { spike: 5 });
  stop.m.spikeAt = 8;
  run(stop.t, 7);
  assert.throws(() => stop.t.trainStep(), (e: unknown) => e instanceof TrainingFault && !(e instanceof NonFiniteError) && /^loss spiked at step 8: .*; stopping without saving/.test(e.message));
  assert.throws(() => setup({}, { spike: 0.5 }), /spike must be 0 \(off\) or a factor above 1, got 0\.5/);
});

test('skip: 20 skipped steps in a row stop the run', () => {
  const { m, t } = setup({}, { onFault: 'skip' });
  m.poison = { steps: (s) => s >= 3, entries: [['head.weight', 0, NaN]] };
  assert.throws(() => run(t, 100), /: 20 steps in a row skipped \(steps 3-22\), the last because the gradient became non-finite at step 22 \(loss \d\.\d{4}\): first head\.weight \(1 of 48 entries NaN or infinite\)(, then .*)?; the run is not recovering: stopping without saving/);
  assert.equal(t.faults.skipped, 20);
});

test('an update that makes a parameter non-finite stops the run, also in skip mode (it cannot be taken back)', () => {
  const { m, t } = setup({ optimizer: 'sgd', momentum: 0, lr: 10, clip: 0 }, { onFault: 'skip' });
  m.poison = { steps: (s) => s === 1, entries: [['head.bias', 2, 3e38]] };
  assert.throws(() => t.trainStep(), (e: unknown) => e instanceof NonFiniteError && e.fault?.kind === 'update' &&
    /^parameters became non-finite in the update of step 1 \(loss \d\.\d{4}, gradient norm 3\.00e\+38 before clipping\): head\.bias \(1 of 6 entries\); an applied update cannot be skipped/.test(e.message));
});

test('a non-finite loss names the non-finite parameters, or where the forward pass overflowed', () => {
  const a = setup();
  a.m.params.get('head.weight')[7] = NaN;
  assert.throws(() => a.t.trainStep(), /: loss became NaN at step 1 \(non-finite parameters: head\.weight \(1 of 48 entries\)\); stopping/);
  const b = setup({ seq: 16 }, {}, { cell: 'rnn_relu', num_layers: 1 });
  b.m.params.get('rnn.weight_hh_l0').fill(1e5);
  b.m.params.get('rnn.bias_hh_l0').fill(1);
  assert.throws(() => b.t.trainStep(), /: loss became (NaN|Infinity) at step 1 \(every parameter is finite: the forward pass overflowed, first in layer 0's hidden state at time step \d+ of 16\)/);
});

test('the skip count and the recent mean survive checkpoint and resume: a resumed run equals an uninterrupted one', () => {
  const policy = { onFault: 'skip' as const, spike: 20 };
  const poison = (m: Faulty) => { m.poison = { steps: (s) => s === 3, entries: [['rnn.bias_hh_l0', 0, Infinity]] }; };
  const whole = setup({}, policy);
  poison(whole.m);
  run(whole.t, 8);
  const first = setup({}, policy);
  poison(first.m);
  run(first.t, 5);
  const snap = first.t.snapshot(), meta = JSON.parse(JSON.stringify(snap.meta)) as typeof snap.meta;
  assert.equal(meta.faults?.skipped, 1);
  const tensors = new Map(snap.tensors.map((e) => [e.name, { shape: e.shape, data: e.data }]));
  const resumed = setup(meta.config, policy);
  resumed.m.params.data.set(first.m.params.data);
  resumed.t.restore(tensors, meta);
  run(resumed.t, 8);
  assert.deepEqual(resumed.m.params.data, whole.m.params.data);
  assert.deepEqual(resumed.t.faults.state(), whole.t.faults.state());
  // a checkpoint from before the count was kept resumes with none; a malformed count is refused
  const old = setup(meta.config), { faults: _, ...oldMeta } = meta;
  old.t.restore(tensors, oldMeta);
  assert.equal(old.t.faults.skipped, 0);
  const ck = (faults: unknown) => ({ metadata: { train: JSON.stringify({ trainer: { ...meta, faults }, text: { name: 't', chars: IDS.length, hash: '0' } }) } });
  assert.equal(runMeta(ck(undefined), 'old.safetensors')?.trainer.step, 5);
  assert.throws(() => runMeta(ck({ ...meta.faults, skipped: -1 }), 'bad.safetensors'),
    /: bad\.safetensors: the checkpoint's training state \('train' metadata\) is not a valid run: trainer\.faults\.skipped is not a non-negative integer$/);
});

// ---- the example trainer ----

function examples(n: number): ClassifierExample[] {
  const rng = new Rng(2);
  return Array.from({ length: n }, () => {
    const seq = Int32Array.from({ length: 1 + rng.int(8) }, () => rng.int(6));
    return { seq, label: seq.includes(5) ? 1 : 0 };
  });
}

function exampleSetup(policy: Partial<FaultPolicy>, poisonAt: number) {
  const m = new Classifier({ vocab_size: 6, embedding_size: 4, hidden_size: 8, num_classes: 2 }).init(new Rng(1)), task = classifierTask(m);
  let t: ExampleTrainer<ClassifierExample> | null = null;
  const poisoned = { ...task, batchBackward: () => { task.batchBackward(); if (t!.step + 1 === poisonAt) m.grads.get('head.weight')[3] = Infinity; } };
  t = new ExampleTrainer(poisoned, examples(96), task.lengthOf, { batch: 16, epochs: 2, seed: 4, lr: 0.01 });
  t.faults.setPolicy(policy);
  return { m, t };
}

test('example trainer: stop names the parameter and step; skip leaves the weights and optimizer, moves to the next batch, and the count is in snapshots', async () => {
  const stop = exampleSetup({}, 3);
  stop.t.trainStep(); stop.t.trainStep();
  assert.throws(() => stop.t.trainStep(), /: gradient became non-finite at step 3 \(loss \d\.\d{4}\): first head\.weight \(1 of 16 entries NaN or infinite\); stopping without saving/);
  const { m, t } = exampleSetup({ onFault: 'skip' }, 3);
  t.trainStep(); t.trainStep();
  const params = Float32Array.from(m.params.data), optim = t.updater.tensors().map((e) => Float32Array.from(e.data));
  const r = t.trainStep();
  assert.equal(r.fault?.kind, 'gradient');
  assert.deepEqual(m.params.data, params);
  assert.deepEqual(t.updater.tensors().map((e) => e.data), optim);
  assert.deepEqual([t.pos, t.step, t.faults.skipped], [3, 3, 1]);
  assert.equal(await runExampleTraining(t, { validate: () => ({ score: 0, loss: 0, metrics: {} }) }), 'epochs');
  const meta = JSON.parse(JSON.stringify(t.snapshot().meta));
  assert.equal(meta.faults.skipped, 1);
  const again = exampleSetup({}, 0);
  again.t.restore(new Map(t.snapshot().tensors.map((e) => [e.name, e])), meta);
  assert.equal(again.t.faults.skipped, 1);
  assert.throws(() => again.t.restore(new Map(t.snapshot().tensors.map((e) => [e.name, e])), { ...meta, faults: { ...meta.faults, lossMean: 'x' } }),
    /cannot resume: the checkpoint's training state is not valid: faults\.lossMean is not a finite number/);
});
