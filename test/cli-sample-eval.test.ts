// End-to-end tests of `rnnkit sample` and `rnnkit eval`: the CLI is spawned as a
// child process on a tiny freshly trained model and on the committed PyTorch fixtures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { LanguageModel } from '../src/models/language-model.js';
import { cliRunner, assertUserError, ROOT, FIXTURES, TINY, type RunResult } from './cli-helpers.js';

const run = cliRunner(() => dir);

/** Successful sample run: returns the generated text (stdout minus the prime and the final newline). */
function generated(r: RunResult, prime = ''): string {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.ok(r.stdout.startsWith(prime), `output starts with the prime: ${JSON.stringify(r.stdout.slice(0, 40))}`);
  assert.ok(r.stdout.endsWith('\n'), 'output ends with a newline');
  return r.stdout.slice(prime.length, -1); // sample always appends exactly one newline
}

const codePoints = (s: string) => [...s].length;

let dir = '';
const CKPT = 'model/latest.safetensors';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-cli-sample-'));
  const all = await readFile(join(ROOT, 'data', 'tinyshakespeare.txt'), 'utf8');
  await writeFile(join(dir, 't.txt'), all.slice(0, 6000));
  const r = await run(['train', 't.txt', ...TINY, '--steps', '30', '--eval-every', '30', '--quiet', '--out', 'model']);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---- sample ----

test('sample prints the prime, then exactly --length characters', async () => {
  const r = await run(['sample', CKPT, '--length', '300', '--prime', 'ROMEO:', '--seed', '3']);
  assert.equal(codePoints(generated(r, 'ROMEO:')), 300);
  const none = await run(['sample', CKPT, '--length', '0', '--prime', 'First']);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, 'First\n');
  // no --prime: nothing is printed before the sample (the model is primed with a newline)
  const plain = await run(['sample', CKPT, '--length', '50']);
  assert.equal(codePoints(generated(plain)), 50);
});

test('sample counts code points: a character outside the BMP is one character', async () => {
  // lstm_unicode's vocabulary has accents, '—', 'Ω' and U+1F642 and no newline
  const ckpt = join(FIXTURES, 'lstm_unicode.safetensors');
  const vocab = new Set(JSON.parse(decodeSafetensors(readFileSync(ckpt)).metadata['vocab']!) as string[]);
  const r = await run(['sample', ckpt, '--length', '400', '--seed', '1', '--prime', 'Café 🙂']);
  const g = generated(r, 'Café 🙂');
  assert.equal(codePoints(g), 400);
  for (const ch of g) assert.ok(vocab.has(ch), `generated ${JSON.stringify(ch)} is in the vocabulary`);
  assert.ok(g.includes('🙂') || [...g].some((c) => c.codePointAt(0)! > 127), 'the sample uses non-ASCII characters');
});

test('sample output equals the library sampler with the same options', async () => {
  const lm = LanguageModel.fromBytes(readFileSync(join(dir, CKPT)), CKPT);
  const opts = { length: 200, temperature: 0.7, topK: 5, seed: 11, prime: 'First' };
  const r = await run(['sample', CKPT, '--length', '200', '--temperature', '0.7', '--top-k', '5', '--seed', '11', '--prime', 'First']);
  assert.equal(generated(r, 'First'), lm.sample(opts));
});

test('sample: --seed determinism, --argmax ignores the seed, --top-k 1 equals --argmax', async () => {
  const s = (...extra: string[]) => run(['sample', CKPT, '--length', '200', '--prime', 'The ', ...extra]);
  const [a1, a2, b, m1, m2, k1, t, tk] = await Promise.all([
    s('--seed', '1'), s('--seed', '1'), s('--seed', '2'),
    s('--argmax', '--seed', '1'), s('--argmax', '--seed', '2'), s('--top-k', '1', '--seed', '5'),
    s('--temperature', '0.5', '--seed', '1'), s('--temperature', '1.5', '--top-k', '5', '--seed', '1'),
  ]);
  assert.equal(generated(a1!, 'The '), generated(a2!, 'The '), 'same seed, same text');
  assert.notEqual(generated(b!, 'The '), generated(a1!, 'The '), 'another seed, another text');
  assert.equal(generated(m1!, 'The '), generated(m2!, 'The '), '--argmax does not depend on the seed');
  assert.equal(generated(k1!, 'The '), generated(m1!, 'The '), '--top-k 1 is --argmax');
  for (const r of [t!, tk!]) assert.equal(codePoints(generated(r, 'The ')), 200);
  assert.notEqual(generated(t!, 'The '), generated(a1!, 'The '), '--temperature changes the sample');
});

test('sample streams its output and stops when the reader goes away', async () => {
  // 3 million characters would take half a minute; the reader closes the pipe after the first chunk
  let firstWhileRunning: boolean | undefined;
  const t0 = Date.now();
  const r = await run(['sample', CKPT, '--length', '3000000'], {
    timeoutMs: 20_000,
    onOutput(_all, child) {
      if (firstWhileRunning === undefined) {
        firstWhileRunning = child.exitCode === null;
        child.stdout!.destroy();
      }
    },
  });
  assert.equal(firstWhileRunning, true, 'output arrived while the process was still generating');
  assert.equal(r.signal, null, `not killed by the test's timeout (${Date.now() - t0} ms)`);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
});

test('sample: a --prime character outside the vocabulary is a one-line error that lists it', async () => {
  const r = await run(['sample', CKPT, '--prime', 'Hello €✓ €', '--length', '10']);
  assertUserError(r, /^rnnkit: --prime has character\(s\) not in the model's vocabulary: "€" "✓"\n$/);
  assert.equal(r.stdout, '');
});

// ---- eval ----

test('eval matches PyTorch on the unicode fixture: --json and human output', async () => {
  const ckpt = join(FIXTURES, 'lstm_unicode.safetensors');
  const { metadata, tensors } = decodeSafetensors(readFileSync(ckpt));
  const text = (JSON.parse(metadata['fixture']!) as { text: string }).text;
  const torchLoss = tensors.get('fixture.loss')!.data[0]!;
  await writeFile(join(dir, 'unicode.txt'), text);
  const [j, h] = await Promise.all([run(['eval', ckpt, 'unicode.txt', '--json']), run(['eval', ckpt, 'unicode.txt'])]);
  assert.equal(j.code, 0, j.stderr);
  assert.equal(j.stderr, '');
  assert.equal(j.stdout.trimEnd().split('\n').length, 1, 'one JSON line');
  const s = JSON.parse(j.stdout) as { loss_nats: number; bits_per_char: number; predicted_chars: number; checkpoint: string; file: string };
  for (const k of ['loss_nats', 'bits_per_char', 'predicted_chars']) assert.ok(k in s, k);
  assert.ok(Math.abs(s.loss_nats - torchLoss) < 1e-5, `rnnkit ${s.loss_nats} vs PyTorch ${torchLoss}`);
  assert.ok(Math.abs(s.bits_per_char - s.loss_nats / Math.LN2) < 1e-12);
  assert.equal(s.predicted_chars, codePoints(text) - 1);
  assert.equal(s.predicted_chars, 44, 'the emoji counts once');
  assert.equal(s.file, 'unicode.txt');
  assert.equal(h.code, 0, h.stderr);
  assert.equal(h.stdout, `unicode.txt: 44 characters predicted, loss ${s.loss_nats.toFixed(4)} nats/char, ${s.bits_per_char.toFixed(4)} bits/char\n`);
});

test('eval matches PyTorch on every text fixture (all cells)', async () => {
  const files = (await readdir(FIXTURES)).filter((f) => f.endsWith('.safetensors')).sort();
  const cases = files.flatMap((f) => {
    const { metadata, tensors } = decodeSafetensors(readFileSync(join(FIXTURES, f)), f);
    const info = JSON.parse(metadata['fixture']!) as { text?: string; batch: number; has_initial_state: boolean };
    if (info.text === undefined || info.batch !== 1 || info.has_initial_state) return [];
    return [{ f, text: info.text, loss: tensors.get('fixture.loss')!.data[0]! }];
  });
  assert.ok(cases.length >= 9, `found ${cases.length} text fixtures`);
  const results = await Promise.all(cases.map(async (c) => {
    const file = `${c.f}.txt`;
    await writeFile(join(dir, file), c.text);
    return run(['eval', join(FIXTURES, c.f), file, '--json']);
  }));
  results.forEach((r, i) => {
    const c = cases[i]!;
    assert.equal(r.code, 0, `${c.f}: ${r.stderr}`);
    const s = JSON.parse(r.stdout) as { loss_nats: number; predicted_chars: number };
    assert.ok(Math.abs(s.loss_nats - c.loss) < 1e-5, `${c.f}: rnnkit ${s.loss_nats} vs PyTorch ${c.loss}`);
    assert.equal(s.predicted_chars, codePoints(c.text) - 1, c.f);
  });
});

test('eval strips a UTF-8 byte order mark', async () => {
  await writeFile(join(dir, 'bom.txt'), '\uFEFFFirst Citizen:\nBefore we proceed');
  await writeFile(join(dir, 'nobom.txt'), 'First Citizen:\nBefore we proceed');
  const [a, b] = await Promise.all([run(['eval', CKPT, 'bom.txt', '--json']), run(['eval', CKPT, 'nobom.txt', '--json'])]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const sa = JSON.parse(a.stdout) as { loss_nats: number; predicted_chars: number }, sb = JSON.parse(b.stdout) as typeof sa;
  assert.equal(sa.loss_nats, sb.loss_nats);
  assert.equal(sa.predicted_chars, sb.predicted_chars);
});

test('eval: characters outside the vocabulary are a one-line error that lists them', async () => {
  await writeFile(join(dir, 'unknown.txt'), 'First € Citizen ✓ and € again\n'.repeat(50));
  const r = await run(['eval', CKPT, 'unknown.txt']);
  assertUserError(r, /^rnnkit: unknown\.txt has 2 character\(s\) not in the model's vocabulary: "€" "✓"\n$/);
  assert.equal(r.stdout, '');
  await writeFile(join(dir, 'one.txt'), 'F');
  assertUserError(await run(['eval', CKPT, 'one.txt', '--json']), /text needs at least 2 characters/);
});
