// Training steps against PyTorch (scripts/make_train_fixtures.py): each fixture holds a
// tiny CharLM's initial weights and the result of K steps of the same training run in
// torch (char-rnn batching over B streams, state carried and detached across chunks,
// mean cross-entropy, clip_grad_norm_ / clip_grad_value_, torch.optim), once in float32
// and once in float64. We rebuild the model from the file, run rnnkit's Trainer for K
// steps and compare the per-step losses and pre-clip gradient norms, the parameters
// and the optimizer state.
//
// Tolerances (measured worst cases in parentheses):
// - float64 against float64 checks the formulas. The PyTorch values are stored rounded
//   to float32, so they carry ~6e-8 relative error (all comparisons measure <= 6e-8);
//   1e-6 still catches e.g. an eps in another place (~1e-5 relative on the updates).
// - float32 against float32: losses (1.3e-7) and grad norms (7.6e-7) at 1e-5 relative.
//   Final parameters at 1e-5 of each tensor's scale (5e-7), except that adaptive
//   optimizers divide every gradient entry by its own running magnitude, which blows up
//   the float32 rounding of small entries that sum many terms with cancellation: in
//   adam_epoch_wrap one head.weight entry of PyTorch's float32 run lies 4.7e-5 (1.2e-4
//   of the tensor's scale) from its float64 run, and rnnkit's float32 run 2e-6 from it.
//   So final parameters may differ by up to twice PyTorch's own float32 error, and the
//   updates (final - initial) of rnnkit's float32 run must be within 1e-4 of their
//   scale of the float64 updates (4e-5; PyTorch's float32 run: 9.3e-4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { decodeCheckpoint } from '../src/models/charlm-checkpoint.js';
import { Trainer, type TrainConfig } from '../src/train/trainer.js';
import { OPTIMIZERS, type OptimizerName } from '../src/train/optim.js';
import { CharLM } from '../src/models/char-lm.js';
import type { Arr, DType } from '../src/core/params.js';
import { maxRelDiff } from './helpers.js';

const dir = new URL('../../test/fixtures/train/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();

const TOL64 = 1e-6;      // float64 runs: relative (scalars) or relative to the tensor's largest magnitude
const TOL = 1e-5;        // float32 runs: losses, grad norms, final parameters, optimizer state
const TOL_UPDATE = 1e-4; // float32 run's updates against the float64 updates

interface FixtureInfo {
  case: string;
  cell: string;
  optimizer: OptimizerName;
  lr: number;
  momentum?: number;
  alpha?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  clip: number;
  clip_value: number;
  batch: number;
  seq: number;
  steps: number;
  text: string;
}

function trainConfig(info: FixtureInfo): Partial<TrainConfig> {
  const cfg: Partial<TrainConfig> = {
    batch: info.batch, seq: info.seq, optimizer: info.optimizer, lr: info.lr,
    clip: info.clip, clipValue: info.clip_value,
  };
  // the ones a case leaves out stay at rnnkit's defaults, which its optimizer does not read
  for (const k of ['momentum', 'alpha', 'beta1', 'beta2', 'eps'] as const) {
    const v = info[k];
    if (v !== undefined) cfg[k] = v;
  }
  return cfg;
}

function load(file: string) {
  const { model, vocab, extra, metadata } = decodeCheckpoint(readFileSync(new URL(file, dir)), file);
  const info = JSON.parse(metadata['fixture']!) as FixtureInfo;
  const get = (name: string): Float32Array => {
    const t = extra.get(name);
    assert.ok(t, `fixture lacks ${name}`);
    return t.data;
  };
  return { model, vocab, info, get };
}

interface Run {
  losses: number[];
  norms: number[];
  model: CharLM;
  initial: Map<string, Float64Array>;
  updates: Map<string, Float64Array>; // final - initial
  slots: Map<string, Arr>;            // '<slot>.<param>'
}

/** Rebuilds the fixture's initial model in dtype and runs its K training steps. */
function run(file: string, dtype: DType) {
  const { model: m32, vocab, info, get } = load(file);
  const model = dtype === 'float32' ? m32 : new CharLM(m32.config, dtype);
  for (const v of model.params.views) v.data.set(m32.params.get(v.name));
  assert.equal(model.config.cell, info.cell);
  const initial = new Map(model.params.views.map((v) => [v.name, Float64Array.from(v.data)]));
  const trainer = new Trainer(model, vocab.encode(info.text), trainConfig(info));
  if (info.eps !== undefined) assert.equal(trainer.opt.config.eps, info.eps);
  const K = info.steps, losses: number[] = [], norms: number[] = [];
  for (let k = 0; k < K; k++) {
    const r = trainer.trainStep();
    losses.push(r.loss);
    norms.push(r.gradNorm);
    assert.equal(r.clipped, true, `step ${k + 1} clipped`); // the generator makes sure of it
    assert.equal(r.lr, info.lr);
  }
  assert.equal(trainer.step, K);
  assert.equal(trainer.opt.t, K);
  assert.equal(trainer.epoch * trainer.batches.chunksPerEpoch + trainer.chunk, K, 'data position');
  const updates = new Map<string, Float64Array>();
  for (const v of model.params.views) {
    const init = initial.get(v.name)!, u = new Float64Array(v.size);
    for (let i = 0; i < v.size; i++) u[i] = v.data[i]! - init[i]!;
    updates.set(v.name, u);
  }
  const slots = new Map<string, Arr>();
  for (const [slot, ps] of trainer.opt.slots) for (const v of ps.views) slots.set(`${slot}.${v.name}`, v.data);
  const r: Run = { losses, norms, model, initial, updates, slots };
  return { info, get, r };
}

function compareScalars(report: string[], what: string, got: number[], want: Float32Array, tol: number): void {
  assert.equal(want.length, got.length);
  for (let k = 0; k < got.length; k++) {
    const d = Math.abs(got[k]! - want[k]!) / Math.abs(want[k]!);
    if (!(d <= tol)) report.push(`${what} step ${k + 1}: ${got[k]} vs ${want[k]} (rel ${d.toExponential(2)})`);
  }
}

function compareTensor(report: string[], what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  const d = maxRelDiff(got, want);
  if (!(d <= tol)) report.push(`${what}: max rel diff ${d.toExponential(2)} > ${tol.toExponential(2)}`);
}

test('train fixtures are present for every optimizer', () => {
  assert.deepEqual([...new Set(files.map((f) => load(f).info.optimizer))].sort(), [...OPTIMIZERS].sort());
  assert.ok(files.includes('sgd_clip_value.safetensors'));
  assert.ok(files.includes('adam_epoch_wrap.safetensors'));
});

for (const file of files) {
  test(`training steps match PyTorch in float64: ${file}`, () => {
    const { info, get, r } = run(file, 'float64');
    const report: string[] = [];
    compareScalars(report, 'loss', r.losses, get('fixture.f64.losses'), TOL64);
    compareScalars(report, 'grad norm', r.norms, get('fixture.f64.grad_norms'), TOL64);
    for (const [name, u] of r.updates) compareTensor(report, `update of ${name}`, u, get(`fixture.f64.update.${name}`), TOL64);
    for (const [name, s] of r.slots) compareTensor(report, `optimizer ${name}`, s, get(`fixture.f64.slot.${name}`), TOL64);
    assert.equal(r.slots.size, r.updates.size * (info.optimizer === 'adam' ? 2 : 1));
    assert.deepEqual(report, []);
  });

  test(`training steps match PyTorch in float32: ${file}`, () => {
    const { get, r } = run(file, 'float32');
    const report: string[] = [];
    compareScalars(report, 'loss', r.losses, get('fixture.losses'), TOL);
    compareScalars(report, 'grad norm', r.norms, get('fixture.grad_norms'), TOL);
    for (const v of r.model.params.views) {
      const want = get(`fixture.final.${v.name}`), init = r.initial.get(v.name)!, u64 = get(`fixture.f64.update.${v.name}`);
      // PyTorch's own float32 rounding error: its float32 against its float64 run
      const exact = new Float64Array(v.size);
      for (let i = 0; i < v.size; i++) exact[i] = init[i]! + u64[i]!;
      const own = maxRelDiff(want, exact);
      compareTensor(report, `final ${v.name}`, v.data, want, Math.max(TOL, 2 * own));
      compareTensor(report, `update of ${v.name} (against float64)`, r.updates.get(v.name)!, u64, TOL_UPDATE);
    }
    for (const [name, s] of r.slots) {
      const want = get(`fixture.slot.${name}`), own = maxRelDiff(want, get(`fixture.f64.slot.${name}`));
      compareTensor(report, `optimizer ${name}`, s, want, Math.max(TOL, 2 * own));
    }
    assert.deepEqual(report, []);
  });
}
