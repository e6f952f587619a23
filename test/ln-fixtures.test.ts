// Layer-normalised CharLMs against PyTorch (explicit loops with F.layer_norm) on the
// fixtures of scripts/make_ln_fixtures.py in test/fixtures/ln/: logits, loss, final
// state and every gradient (layer-norm gains and biases, initial state) on every
// backend, with test/pytorch-fixtures.test.ts's tolerance. Also a float64 model on the
// reference backend: its difference is PyTorch's float32 rounding alone (the script
// keeps that under 5e-6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { DType } from '../src/core/params.js';
import { loadBackends } from '../src/backend/init.js';
import { availableBackends, setBackend } from '../src/backend/registry.js';
import { compareWithFixture, loadFixture } from './fixture-check.js';

await loadBackends();

const dir = new URL('../../test/fixtures/ln/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
const worst = new Map<string, { diff: number; what: string }>(); // per backend and dtype
const runs: [string, DType][] = [...availableBackends().map((b): [string, DType] => [b, 'float32']), ['ref', 'float64']];

test('layer-norm fixtures are present', () => assert.ok(files.length >= 8, `found ${files.length} fixtures`));

for (const [backend, dtype] of runs) for (const file of files) {
  const run = dtype === 'float32' ? backend : `${backend} ${dtype}`;
  test(`layer-norm CharLM matches PyTorch on ${run}: ${file}`, (t) => {
    setBackend(backend); // before the model is built: its arrays come from the backend
    const f = loadFixture(new URL(file, dir), dtype);
    assert.equal(f.config.layer_norm, true);
    const { report, max, maxWhat } = compareWithFixture(f);
    const { batch: B, steps: T } = f.info, V = f.config.vocab_size;
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
