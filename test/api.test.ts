// The public API, imported the way users get it (src/index.ts): loading PyTorch-written
// checkpoints from a path or bytes, evaluate / lossAndGradients against the PyTorch
// fixtures, save + load round trips, create + train, sampling, user errors, and corrupt
// checkpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LanguageModel, UserError, loadModel, saveModel, trainLanguageModel,
  decodeCheckpoint, decodeSafetensors, encodeSafetensors, FORMAT,
} from '../src/index.js';
import { maxRelDiff } from './helpers.js';

const fixtureDir = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const GRAD_TOL = 2e-5; // relative to each gradient tensor's largest magnitude (as in pytorch-fixtures.test)

interface Fixture {
  file: string;
  path: string;
  text: string;
  loss: number;
  modelTensors: string[];                 // checkpoint tensor names, file order
  grads: Map<string, Float32Array>;       // fixture.grad.<name>
  vocab: string[];
}

function readFixture(file: string): Fixture | null {
  const path = join(fixtureDir, file);
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), file);
  const info = JSON.parse(metadata['fixture']!) as { text?: string };
  if (info.text === undefined) return null;
  const modelTensors = [...tensors.keys()].filter((n) => !n.startsWith('fixture.'));
  const grads = new Map(modelTensors.map((n) => [n, tensors.get(`fixture.grad.${n}`)!.data]));
  return {
    file, path, text: info.text, loss: tensors.get('fixture.loss')!.data[0]!, modelTensors, grads,
    vocab: JSON.parse(metadata['vocab']!) as string[],
  };
}

const textFixtures = readdirSync(fixtureDir).filter((f) => f.endsWith('.safetensors')).sort()
  .map(readFixture).filter((f): f is Fixture => f !== null);

function closeLoss(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${what}: ${got} vs PyTorch ${want}`);
}

function assertUserError(fn: () => unknown, pattern: RegExp, source?: string): UserError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof UserError, `expected a UserError, got ${String(caught)}`);
  const msg = caught.message;
  assert.ok(!/[\r\n]/.test(msg), `one line: ${JSON.stringify(msg)}`);
  if (source !== undefined) assert.ok(msg.startsWith(`${source}: `), `names the source: ${msg}`);
  assert.match(msg, pattern);
  return caught;
}

async function assertRejectsUserError(p: Promise<unknown>, pattern: RegExp, source: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(!/[\r\n]/.test(e.message), 'one line');
    assert.ok(e.message.startsWith(`${source}: `), `names the source: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

let tmp = '';
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rnnkit-api-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('text fixtures are present', () => {
  assert.ok(textFixtures.length >= 8, `found ${textFixtures.length}`);
  assert.ok(textFixtures.some((f) => f.file === 'lstm_unicode.safetensors'));
});

for (const fx of textFixtures) {
  test(`loadModel(path) evaluates and differentiates like PyTorch: ${fx.file}`, async () => {
    const model = await loadModel(fx.path);
    assert.ok(model instanceof LanguageModel);
    assert.deepEqual(model.vocab.chars, fx.vocab);
    closeLoss(model.evaluate(fx.text), fx.loss, 'evaluate');
    const stats = model.evaluateStats(fx.text);
    assert.equal(stats.predicted_chars, [...fx.text].length - 1);
    assert.ok(Math.abs(stats.bits_per_char - stats.loss_nats / Math.LN2) < 1e-12);

    const { loss, gradients } = model.lossAndGradients(fx.text);
    closeLoss(loss, fx.loss, 'lossAndGradients');
    assert.ok(gradients instanceof Map);
    assert.deepEqual([...gradients.keys()], fx.modelTensors, 'one gradient per checkpoint tensor, in order');
    const report: string[] = [];
    for (const [name, g] of gradients) {
      assert.ok(g instanceof Float32Array, `${name} is a Float32Array`);
      const d = maxRelDiff(g, fx.grads.get(name)!);
      if (!(d <= GRAD_TOL)) report.push(`${name}: max rel diff ${d.toExponential(2)}`);
    }
    assert.deepEqual(report, []);
    // gradients are copies: a second call gives the same, not twice as much
    const again = model.lossAndGradients(fx.text);
    for (const [name, g] of again.gradients) assert.deepEqual(g, gradients.get(name));
  });
}

test('loadModel(bytes) and loadModel(ArrayBuffer) give the same model as loadModel(path)', async () => {
  const fx = textFixtures.find((f) => f.file === 'lstm_unicode.safetensors')!;
  const fromPath = await loadModel(fx.path);
  const bytes = new Uint8Array(await readFile(fx.path));
  const fromBytes = await loadModel(bytes);
  const copy = bytes.slice();
  const fromBuffer = await loadModel(copy.buffer);
  for (const m of [fromBytes, fromBuffer]) {
    assert.deepEqual(m.config, fromPath.config);
    assert.deepEqual(m.vocab.chars, fromPath.vocab.chars);
    assert.deepEqual(m.net.params.data, fromPath.net.params.data);
    assert.equal(m.evaluate(fx.text), fromPath.evaluate(fx.text));
  }
  closeLoss(fromBytes.evaluate(fx.text), fx.loss, 'evaluate');
});

test('saveModel then loadModel round-trips byte-identical tensors', async () => {
  const fx = textFixtures.find((f) => f.file === 'gru_l2.safetensors') ?? textFixtures[0]!;
  const model = await loadModel(fx.path);
  const out = join(tmp, 'nested', 'saved.safetensors');
  await saveModel(model, out);
  const again = await loadModel(out);
  assert.deepEqual(again.config, model.config);
  assert.deepEqual(again.vocab.chars, model.vocab.chars);
  const want = decodeSafetensors(await readFile(fx.path), fx.file).tensors;
  const got = decodeSafetensors(await readFile(out), out);
  assert.equal(got.metadata['format'], FORMAT);
  assert.deepEqual([...got.tensors.keys()], fx.modelTensors, 'exactly the model tensors, in state_dict order');
  for (const name of fx.modelTensors) {
    const a = got.tensors.get(name)!, b = want.get(name)!;
    assert.deepEqual(a.shape, b.shape, name);
    assert.deepEqual(new Uint8Array(a.data.buffer), new Uint8Array(b.data.buffer), `${name} bytes`);
  }
  assert.equal(again.evaluate(fx.text), model.evaluate(fx.text));
  // and the saved file is what toBytes() gives
  assert.deepEqual(new Uint8Array(await readFile(out)), model.toBytes());
  // saving over an existing file replaces it
  await saveModel(LanguageModel.create('abc', { hidden_size: 4, embedding_size: 2 }, 3), out);
  assert.deepEqual((await loadModel(out)).vocab.chars, ['a', 'b', 'c']);
});

test('LanguageModel.create is deterministic by seed; trainLanguageModel lowers the loss', async () => {
  const text = 'the cat sat on the mat. the rat sat on the hat. '.repeat(10);
  const modelCfg = { cell: 'lstm' as const, embedding_size: 8, hidden_size: 16, num_layers: 1 };
  const a = LanguageModel.create(text, modelCfg, 7), b = LanguageModel.create(text, modelCfg, 7);
  const c = LanguageModel.create(text, modelCfg, 8);
  assert.deepEqual(a.net.params.data, b.net.params.data);
  assert.notDeepEqual(a.net.params.data, c.net.params.data);
  assert.deepEqual(a.vocab.chars, [...new Set(text)].sort());
  assert.equal(a.config.vocab_size, a.vocab.size);
  const before = a.evaluate(text);
  assert.ok(Math.abs(before - Math.log(a.vocab.size)) < 0.5, `untrained loss ${before} near ln V`);

  const steps: number[] = [];
  const { model, trainer, stopReason } = await trainLanguageModel(text, {
    model: modelCfg,
    train: { batch: 4, seq: 16, optimizer: 'adam', lr: 0.02, seed: 7 },
    steps: 80,
    evalEvery: 40,
    hooks: { onStep: (r) => steps.push(r.loss) },
  });
  assert.equal(stopReason, 'steps');
  assert.equal(trainer.step, 80);
  assert.equal(steps.length, 80);
  // trainLanguageModel starts from LanguageModel.create(text, model, train.seed)
  assert.deepEqual(model.vocab.chars, a.vocab.chars);
  const afterLoss = model.evaluate(text);
  assert.ok(afterLoss < before - 1, `loss ${before} -> ${afterLoss}`);
});

test('sample is deterministic by seed, in the vocabulary, and counts code points', async () => {
  const fx = textFixtures.find((f) => f.file === 'lstm_unicode.safetensors')!;
  const model = await loadModel(fx.path);
  const vocab = new Set(model.vocab.chars);
  assert.ok([...vocab].some((ch) => ch.codePointAt(0)! > 0xffff), 'vocab has a character outside the BMP');
  for (const length of [0, 1, 200]) {
    const s = model.sample({ length, seed: 42 });
    const chars = [...s];
    assert.equal(chars.length, length, `length ${length} in code points`);
    for (const ch of chars) assert.ok(vocab.has(ch), `sampled ${JSON.stringify(ch)} is in the vocabulary`);
    assert.equal(model.sample({ length, seed: 42 }), s, 'same seed, same text');
  }
  const s1 = model.sample({ length: 200, seed: 1 }), s2 = model.sample({ length: 200, seed: 2 });
  assert.notEqual(s1, s2, 'different seeds, different text');
  assert.equal(model.sample({ length: 50, seed: 1, prime: 'Café' }), model.sample({ length: 50, seed: 1, prime: 'Café' }));
  assert.equal(model.sample({ length: 30, argmax: true }), model.sample({ length: 30, argmax: true, seed: 99 }), 'argmax ignores the seed');
  // a 200-character sample of this model hits the emoji sometimes; long enough to be sure
  assert.ok([...model.sample({ length: 3000, seed: 3 })].includes('🙂'));
});

test('evaluate and lossAndGradients refuse unknown characters and too-short text', async () => {
  const fx = textFixtures.find((f) => f.file === 'lstm_unicode.safetensors')!;
  const model = await loadModel(fx.path);
  assert.ok(!model.vocab.has('Z') && !model.vocab.has('😀') && !model.vocab.has('#'));
  const err = assertUserError(() => model.evaluate('Café Z#😀Z'), /3 character\(s\) not in the model's vocabulary/);
  for (const ch of ['Z', '#', '😀']) assert.ok(err.message.includes(JSON.stringify(ch)), `lists ${ch}: ${err.message}`);
  assertUserError(() => model.lossAndGradients('CaféZ'), /"Z"/);
  for (const text of ['C', '🙂', '']) {
    assertUserError(() => model.evaluate(text), /at least 2 characters/);
    assertUserError(() => model.lossAndGradients(text), /at least 2 characters/);
  }
  // two code points in three UTF-16 units is enough
  assert.ok(Number.isFinite(model.evaluate('🙂 ')));
});

test('corrupt checkpoints are one-line UserErrors naming the source', async () => {
  const fx = textFixtures.find((f) => f.file === 'lstm_l1.safetensors') ?? textFixtures[0]!;
  const good = new Uint8Array(await readFile(fx.path));
  const { tensors, metadata } = decodeSafetensors(good, fx.file);
  const entries = () => [...tensors].map(([name, t]) => ({ name, shape: t.shape.slice(), data: t.data.slice() }));
  const src = 'bad.safetensors';
  const decode = (bytes: Uint8Array) => () => decodeCheckpoint(bytes, src);

  // sanity: the unmodified re-encoding decodes
  assert.equal(decodeCheckpoint(encodeSafetensors(entries(), metadata), src).vocab.size, fx.vocab.length);

  assertUserError(decode(good.subarray(0, 5)), /truncated/, src);
  assertUserError(decode(good.subarray(0, 100)), /truncated/, src);
  assertUserError(decode(good.subarray(0, good.length - 4)), /outside the data section/, src);

  assertUserError(decode(encodeSafetensors(entries(), { ...metadata, format: 'rnnkit/2' })), /format 'rnnkit\/2' is not supported/, src);
  const { format: _f, ...noFormat } = metadata;
  assertUserError(decode(encodeSafetensors(entries(), noFormat)), /not an rnnkit checkpoint/, src);

  assertUserError(decode(encodeSafetensors(entries().filter((e) => e.name !== 'head.bias'), metadata)), /tensor 'head\.bias' is missing/, src);

  const reshaped = entries().map((e) => e.name === 'rnn.weight_hh_l0' ? { ...e, shape: [e.shape[1]!, e.shape[0]!] } : e);
  assertUserError(decode(encodeSafetensors(reshaped, metadata)), /tensor 'rnn\.weight_hh_l0' has shape \[\d+,\d+\], expected \[\d+,\d+\]/, src);

  for (const bad of [NaN, Infinity]) {
    const poisoned = entries();
    poisoned.find((e) => e.name === 'rnn.weight_ih_l0')!.data[3] = bad;
    assertUserError(decode(encodeSafetensors(poisoned, metadata)), /tensor 'rnn\.weight_ih_l0' contains NaN or infinite values/, src);
  }

  const vocab = JSON.parse(metadata['vocab']!) as string[];
  assertUserError(decode(encodeSafetensors(entries(), { ...metadata, vocab: JSON.stringify(vocab.slice(1)) })),
    new RegExp(`vocab has ${vocab.length - 1} entries but config.vocab_size is ${vocab.length}`), src);
  assertUserError(decode(encodeSafetensors(entries(), { ...metadata, vocab: '["a",' })), /"vocab" metadata is not valid JSON/, src);

  // through loadModel: from a path the message names the file, from bytes 'checkpoint'
  const path = join(tmp, 'truncated.safetensors');
  await writeFile(path, good.subarray(0, good.length - 4));
  await assertRejectsUserError(loadModel(path), /outside the data section/, path);
  const v2 = join(tmp, 'v2.safetensors');
  await writeFile(v2, encodeSafetensors(entries(), { ...metadata, format: 'rnnkit/2' }));
  await assertRejectsUserError(loadModel(v2), /rnnkit\/2/, v2);
  await assertRejectsUserError(loadModel(good.subarray(0, 100)), /truncated/, 'checkpoint');
  await assertRejectsUserError(loadModel(join(tmp, 'missing.safetensors')), /no such file/, join(tmp, 'missing.safetensors'));
});
