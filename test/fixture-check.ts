// The comparison both PyTorch fixture suites run (pytorch-fixtures, ln-fixtures): load a
// fixture's tensors into a CharLM, run forward + backward on its ids, and compare logits,
// loss, final state and every gradient with PyTorch's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { CharLM, type CharLMConfig } from '../src/models/char-lm.js';
import { Vocab } from '../src/data/vocab.js';
import type { DType } from '../src/core/params.js';
import { maxRelDiff } from './helpers.js';

export const TOL = 2e-5; // relative to each tensor's largest magnitude

export interface FixtureInfo { batch: number; steps: number; has_initial_state: boolean; text?: string }

export function loadFixture(url: URL, dtype: DType = 'float32') {
  const file = url.pathname.split('/').pop()!;
  const { tensors, metadata } = decodeSafetensors(readFileSync(url), file);
  const config = JSON.parse(metadata['config']!) as CharLMConfig;
  const info = JSON.parse(metadata['fixture']!) as FixtureInfo;
  const vocab = new Vocab(JSON.parse(metadata['vocab']!) as string[]);
  const model = new CharLM(config, dtype);
  for (const v of model.params.views) v.data.set(tensors.get(v.name)!.data); // every tensor must be there
  return { tensors, config, info, vocab, model, get: (n: string) => tensors.get(n)!.data };
}

/** Runs the fixture and returns the tensors over TOL, and the largest difference. */
export function compareWithFixture(f: ReturnType<typeof loadFixture>): { report: string[]; max: number; maxWhat: string } {
  const { config, info, vocab, model, get } = f;
  const { batch: B, steps: T } = info, L = config.num_layers, H = config.hidden_size, V = config.vocab_size;
  // fixture ids are (B, T+1) batch-major; the model is time-major
  const raw = get('fixture.ids');
  if (info.text !== undefined) assert.deepEqual([...vocab.encode(info.text)], [...raw].map(Math.round));
  const ids = new Int32Array(T * B), targets = new Int32Array(T * B);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    ids[t * B + b] = Math.round(raw[b * (T + 1) + t]!);
    targets[t * B + b] = Math.round(raw[b * (T + 1) + t + 1]!);
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
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) got.set(logits.subarray((t * B + b) * V, (t * B + b + 1) * V), (b * T + t) * V);
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
  return { report, max, maxWhat };
}
