// Layer-normalised CharLMs against PyTorch (explicit loops with F.layer_norm) on the
// fixtures of scripts/make_ln_fixtures.py in test/fixtures/ln/: logits, loss, final
// state and every gradient (layer-norm gains and biases, initial state) on every
// backend, with test/pytorch-fixtures.test.ts's tolerance. Also a float64 model on the
// reference backend: its difference is PyTorch's float32 rounding alone (the script
// keeps that under 5e-6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { CharLM, type CharLMConfig } from '../src/models/char-lm.js';
import type { DType } from '../src/core/params.js';
import { maxRelDiff } from './helpers.js';
import { loadBackends } from '../src/backend/init.js';
import { availableBackends, setBackend } from '../src/backend/registry.js';

await loadBackends();

const dir = new URL('../../test/fixtures/ln/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
const TOL = 2e-5; // relative to each tensor's largest magnitude, as test/pytorch-fixtures.test.ts
const worst = new Map<string, { diff: number; what: string }>(); // per backend and dtype
const runs: [string, DType][] = [...availableBackends().map((b): [string, DType] => [b, 'float32']), ['ref', 'float64']];

test('layer-norm fixtures are present', () => assert.ok(files.length >= 8, `found ${files.length} fixtures`));

for (const [backend, dtype] of runs) for (const file of files) {
  const run = dtype === 'float32' ? backend : `${backend} ${dtype}`;
  test(`layer-norm CharLM matches PyTorch on ${run}: ${file}`, (t) => {
    setBackend(backend); // before the model is built: its arrays come from the backend
    const { tensors, metadata } = decodeSafetensors(readFileSync(new URL(file, dir)), file);
    const get = (n: string) => tensors.get(n)!.data;
    const config = JSON.parse(metadata['config']!) as CharLMConfig;
    const info = JSON.parse(metadata['fixture']!) as { batch: number; steps: number; has_initial_state: boolean };
    assert.equal(config.layer_norm, true);
    const model = new CharLM(config, dtype);
    for (const v of model.params.views) v.data.set(get(v.name)); // every tensor, LN ones included, must be there
    const { batch: B, steps: T } = info, L = config.num_layers, H = config.hidden_size, V = config.vocab_size;
    // fixture ids are (B, T+1) batch-major; the model is time-major
    const raw = get('fixture.ids');
    const ids = new Int32Array(T * B), targets = new Int32Array(T * B);
    for (let b = 0; b < B; b++) for (let s = 0; s < T; s++) {
      ids[s * B + b] = Math.round(raw[b * (T + 1) + s]!);
      targets[s * B + b] = Math.round(raw[b * (T + 1) + s + 1]!);
    }
    const state = model.newState(B);
    if (info.has_initial_state) {
      state.h.set(get('fixture.h0'));
      if (config.cell === 'lstm') state.c.set(get('fixture.c0'));
    }
    model.zeroGrad();
    const { loss, count } = model.forward(ids, targets, T, B, state);
    model.backward();
    assert.equal(count, T * B);
    assert.ok(Math.abs(loss / count - get('fixture.loss')[0]!) < 1e-5 * Math.max(1, loss / count), `loss ${loss / count} vs ${get('fixture.loss')[0]}`);

    const logits = model.logits(), got = new Float32Array(T * B * V);
    for (let b = 0; b < B; b++) for (let s = 0; s < T; s++) got.set(logits.subarray((s * B + b) * V, (s * B + b + 1) * V), (b * T + s) * V);
    const report: string[] = [];
    let max = 0, maxWhat = '';
    const check = (name: string, a: ArrayLike<number>, e: ArrayLike<number>) => {
      const d = maxRelDiff(a, e);
      if (d > max) { max = d; maxWhat = name; }
      if (!(d <= TOL)) report.push(`${name}: max rel diff ${d.toExponential(2)}`);
    };
    check('logits', got, get('fixture.logits'));
    check('hT', state.h, get('fixture.hT'));
    if (config.cell === 'lstm') check('cT', state.c, get('fixture.cT'));
    for (const v of model.grads.views) check(`grad ${v.name}`, v.data, get(`fixture.grad.${v.name}`));
    if (info.has_initial_state) {
      const dh0 = new Float32Array(L * B * H), dc0 = new Float32Array(L * B * H);
      for (let l = 0; l < L; l++) {
        const g = model.initialStateGrad(l);
        dh0.set(g.h, l * B * H);
        dc0.set(g.c, l * B * H);
      }
      check('grad h0', dh0, get('fixture.grad.h0'));
      if (config.cell === 'lstm') check('grad c0', dc0, get('fixture.grad.c0'));
    }
    t.diagnostic(`${T * B >= V ? 'token table' : 'direct projection'}; max rel diff ${max.toExponential(2)} (${maxWhat})`);
    const w = worst.get(run);
    if (!w || max > w.diff) worst.set(run, { diff: max, what: `${file} ${maxWhat}` });
    assert.deepEqual(report, []);
  });
}

test('summary: largest difference from PyTorch per backend', (t) => {
  for (const [run, w] of worst) t.diagnostic(`${run}: ${w.diff.toExponential(2)} (${w.what})`);
  assert.equal(worst.size, runs.length);
});
