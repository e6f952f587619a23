// Every model kind against PyTorch (scripts/make_model_fixtures.py, docs/models.md) on
// every backend: loss, logits (and attention), every parameter gradient, with unsorted
// variable lengths and garbage at padded positions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { loadBackends } from '../src/backend/init.js';
import { availableBackends, setBackend } from '../src/backend/registry.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import type { ParamSet } from '../src/core/params.js';
import { Classifier } from '../src/models/classifier.js';
import { Tagger } from '../src/models/tagger.js';
import { Generator } from '../src/models/generator.js';
import { Seq2Seq } from '../src/models/seq2seq.js';
import { maxRelDiff } from './helpers.js';

await loadBackends();

const dir = new URL('../../test/fixtures/models/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
const TOL = 2e-5;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Meta = Record<string, any>;

/** Column b of a (T, B, ...) tensor's first `len` steps, as one sequence. */
function column(a: Float32Array, T: number, B: number, w: number, b: number, len: number): Float32Array {
  const out = new Float32Array(len * w);
  for (let t = 0; t < len; t++) out.set(a.subarray((t * B + b) * w, (t * B + b + 1) * w), t * w);
  return out;
}
const ints = (a: Float32Array) => Int32Array.from(a, Math.round);

/** Packed rows (model order) -> (T, B, w) padded with 0, via the encoder's row map. */
function unpack(rows: ArrayLike<number>, enc: { eachRow(f: (row: number, i: number, t: number) => void): void; order: Int32Array }, T: number, B: number, w: number): Float32Array {
  const out = new Float32Array(T * B * w);
  enc.eachRow((row, i, t) => { for (let j = 0; j < w; j++) out[(t * B + enc.order[i]!) * w + j] = rows[row * w + j]!; });
  return out;
}

function load(ps: ParamSet, get: (n: string) => Float32Array): void {
  for (const v of ps.views) v.data.set(get(v.name));
}

interface Run { loss: number; logits: ArrayLike<number>; grads: ParamSet; attention?: ArrayLike<number> }

function runFixture(m: Meta, get: (n: string) => Float32Array): Run {
  const T = m['steps'] ?? m['tgt_steps'], B = m['batch'];
  if (m['kind'] === 'classifier') {
    const model = new Classifier({ ...m, input: m['input'] } as never);
    load(model.params, get);
    const seqs = m['lengths'].map((n: number, b: number) => m['input'] === 'float' ? column(get('x'), T, B, m['input_size'], b, n) : ints(column(get('ids'), T, B, 1, b, n)));
    model.zeroGrad();
    const r = model.forward(seqs, ints(get('labels')));
    model.backward();
    // logits rows are in sorted order: put them back in batch order
    const C = m['num_classes'], l = model.lastLogits(), logits = new Float32Array(B * C);
    for (let i = 0; i < B; i++) logits.set(l.subarray(i * C, (i + 1) * C), model.encoder.order[i]! * C);
    return { loss: r.loss / r.count, logits, grads: model.grads };
  }
  if (m['kind'] === 'tagger') {
    const model = new Tagger(m as never);
    load(model.params, get);
    const seqs = m['lengths'].map((n: number, b: number) => ints(column(get('ids'), T, B, 1, b, n)));
    const tags = m['lengths'].map((n: number, b: number) => ints(column(get('tags'), T, B, 1, b, n)));
    model.zeroGrad();
    const r = model.forward(seqs, tags);
    model.backward();
    return { loss: r.loss / r.count, logits: unpack(model.lastLogits(), model.encoder, T, B, m['num_classes']), grads: model.grads };
  }
  if (m['kind'] === 'generator') {
    const tokens = m['output'] === 'tokens';
    const model = new Generator({ ...m, bos: m['bos_id'] ?? 1, eos: m['eos_id'] ?? 2 } as never);
    load(model.params, get);
    const K = m['cond_size'], cond = get('cond');
    const batch = m['lengths'].map((n: number, b: number) => ({
      cond: cond.slice(b * K, (b + 1) * K),
      ...(tokens ? { tokens: ints(column(get('targets'), T, B, 1, b, n - 1)) } : { rows: column(get('rows'), T, B, m['input_size'], b, n) }),
    }));
    model.zeroGrad();
    const r = model.forward(batch);
    model.backward();
    return { loss: r.loss / r.count, logits: unpack(model.lastLogits(), model.decoder, T, B, model.outputs), grads: model.grads };
  }
  const Ts = m['src_steps'], V = m['tgt_vocab_size'];
  const model = new Seq2Seq({ ...m, bos: m['bos_id'], eos: m['eos_id'] } as never);
  load(model.params, get);
  const pairs = m['src_lengths'].map((n: number, b: number) => ({
    source: ints(column(get('src'), Ts, B, 1, b, n)),
    target: ints(column(get('tgt_out'), T, B, 1, b, m['tgt_lengths'][b] - 1)),
  }));
  model.zeroGrad();
  const r = model.forward(pairs);
  model.backward();
  const out: Run = { loss: r.loss / r.count, logits: unpack(model.lastLogits(), model.decoder, T, B, V), grads: model.grads };
  if (m['attention'] !== 'none') out.attention = model.attentionWeights(T, Ts);
  return out;
}

test('model fixtures are present', () => assert.ok(files.length >= 16, `found ${files.length}`));

for (const backend of availableBackends()) for (const file of files) {
  test(`${file.replace('.safetensors', '')} matches PyTorch on ${backend}`, () => {
    setBackend(backend);
    const { tensors, metadata } = decodeSafetensors(readFileSync(new URL(file, dir)), file);
    const m = JSON.parse(metadata['fixture']!) as Meta, get = (n: string) => tensors.get(n)!.data;
    const r = runFixture(m, get), bad: string[] = [];
    const check = (name: string, a: ArrayLike<number>, e: ArrayLike<number>) => {
      const d = maxRelDiff(a, e);
      if (!(d <= TOL)) bad.push(`${name}: ${d.toExponential(2)}`);
    };
    assert.ok(Math.abs(r.loss - get('loss')[0]!) <= 1e-5 * Math.max(1, Math.abs(r.loss)), `loss ${r.loss} vs ${get('loss')[0]}`);
    check('logits', r.logits, get('logits'));
    if (r.attention) check('attention', r.attention, get('attention'));
    for (const v of r.grads.views) check(`grad ${v.name}`, v.data, get(`grad.${v.name}`));
    assert.deepEqual(bad, []);
  });
}
