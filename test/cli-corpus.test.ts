// `rnnkit train` on the streaming reader (src/node/corpus.ts) through the compiled CLI:
// a file read in 7-byte chunks trains bit for bit as the whole-string path does, a
// vocabulary past 65,536 characters (32-bit ids) trains, --val-max-chars bounds
// validation and survives --resume, and a 100 MB corpus trains in far less memory than
// the text would take as a string.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliRunner, assertUserError, SHAKESPEARE, TINY } from './cli-helpers.js';
import { decodeCheckpoint } from '../src/models/charlm-checkpoint.js';
import { decodeText } from '../src/node/files.js';
import { LanguageModel } from '../src/models/language-model.js';
import { Trainer } from '../src/train/trainer.js';
import { splitText } from '../src/train/train-text.js';
import { fingerprint } from '../src/train/run-checkpoint.js';
import { ensureBackend } from '../src/backend/init.js';
import { Rng } from '../src/core/rng.js';

const run = cliRunner(() => dir);
let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'rnnkit-cli-corpus-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

const checkpoint = async (path: string) => decodeCheckpoint(await readFile(join(dir, path)), path);
const trainMeta = (ck: { metadata: Record<string, string> }) => JSON.parse(ck.metadata['train']!);

/** Shakespeare with a BOM, CRLF line ends, lone CRs, accents, CJK and astral characters mixed in. */
function mixedText(chars: number): string {
  const rng = new Rng(5), extra = ['é', '中', '🙂', '\r', '𝄞', 'ß'];
  const src = readFileSync(SHAKESPEARE, 'utf8').slice(0, chars);
  let s = '\uFEFF';
  for (const ch of src) s += ch === '\n' ? '\r\n' : rng.uniform() < 0.02 ? extra[rng.int(extra.length)] + ch : ch;
  return s;
}

test('train reads a file in 7-byte chunks exactly as the whole string: the checkpoint equals the whole-string run\'s', async () => {
  await writeFile(join(dir, 'mixed.txt'), mixedText(6000));
  const args = ['train', 'mixed.txt', ...TINY, '--steps', '6', '--eval-every', '3', '--quiet'];
  const [tiny, whole] = await Promise.all([
    run([...args, '--out', 'tiny'], { env: { RNNKIT_READ_CHUNK_BYTES: '7' } }),
    run([...args, '--out', 'whole']),
  ]);
  assert.equal(tiny.code, 0, tiny.stderr);
  assert.equal(whole.code, 0, whole.stderr);
  assert.ok((await readFile(join(dir, 'tiny', 'latest.safetensors'))).equals(await readFile(join(dir, 'whole', 'latest.safetensors'))), 'the same checkpoint bytes');

  // the whole-string path (decodeText -> LanguageModel.create -> Vocab.encode) with the run's own settings
  await ensureBackend();
  const ck = await checkpoint(join('tiny', 'latest.safetensors')), meta = trainMeta(ck);
  const text = decodeText(await readFile(join(dir, 'mixed.txt')), 'mixed.txt');
  const { vocab_size: _, ...config } = ck.model.config;
  const lm = LanguageModel.create(text, config, meta.trainer.config.seed), ids = lm.vocab.encode(text);
  assert.deepEqual(ck.vocab.chars, lm.vocab.chars);
  assert.deepEqual(meta.text, { name: 'mixed.txt', chars: ids.length, hash: fingerprint(ids) }, 'no valChars: validation reads the whole split');
  const trainer = new Trainer(lm.net, splitText(ids).train, meta.trainer.config);
  for (let i = 0; i < 6; i++) trainer.trainStep();
  assert.deepEqual(ck.model.params.data, lm.net.params.data, 'the same weights, bit for bit');
});

test('train with more than 65,536 distinct characters: 32-bit ids, trains and samples', async () => {
  const cps: number[] = [];
  for (let cp = 0x4e00; cps.length < 70_000; cp++) if (cp < 0xd800 || cp > 0xdfff) cps.push(cp);
  await writeFile(join(dir, 'wide.txt'), String.fromCodePoint(...cps, ...cps.slice(0, 2000)));
  const r = await run(['train', 'wide.txt', ...TINY, '--embedding', '4', '--sample-length', '20', '--steps', '2', '--eval-every', '2', '--val-max-chars', '100', '--out', 'wide'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\(72,000 chars, vocab 70000\)/);
  assert.match(r.stderr, /validation on the first 100 of 3,600 validation characters/);
  const ck = await checkpoint(join('wide', 'latest.safetensors'));
  assert.equal(ck.vocab.size, 70_000);
  assert.equal(ck.vocab.chars[69_999], String.fromCodePoint(cps[69_999]!));
  assert.equal(trainMeta(ck).trainer.step, 2);
  assert.ok(ck.model.params.data.every(Number.isFinite));
});

test('--val-max-chars: validation reads that many characters, the checkpoint keeps it, and --resume continues exactly', async () => {
  await writeFile(join(dir, 't.txt'), readFileSync(SHAKESPEARE, 'utf8').slice(0, 8000));
  const base = ['train', 't.txt', ...TINY, '--eval-every', '3', '--val-max-chars', '60'];
  const [a, b] = await Promise.all([run([...base, '--steps', '6', '--out', 'va']), run([...base, '--steps', '3', '--quiet', '--out', 'vb'])]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stderr, /\n {2}validation on the first 60 of 400 validation characters \(--val-max-chars\)\n/);
  const c = await run(['train', 't.txt', '--resume', join('vb', 'latest.safetensors'), '--steps', '6', '--quiet', '--out', 'vc']);
  assert.equal(c.code, 0, c.stderr);
  const ka = await checkpoint(join('va', 'latest.safetensors'));
  assert.equal(trainMeta(ka).text.valChars, 60);
  assert.ok((await readFile(join(dir, 'va', 'latest.safetensors'))).equals(await readFile(join(dir, 'vc', 'latest.safetensors'))), 'resumed = uninterrupted, bit for bit');
  // the bound is part of the run: not changed on resume
  assertUserError(await run(['train', 't.txt', '--resume', join('vb', 'latest.safetensors'), '--steps', '6', '--val-max-chars', '100']), /--val-max-chars cannot be changed when resuming/);
});

/** Peak resident memory (kB) of a process, read from /proc while it runs (Linux). */
function peakRss(pid: number): number {
  try { return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]); } catch { return 0; }
}

test('train on a 100 MB corpus: peak memory is the ids plus a fixed amount, far below the text as a string', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const path = join(dir, 'big.txt'), block = Buffer.from(readFileSync(SHAKESPEARE, 'utf8').slice(0, 1_000_000));
  const fd = openSync(path, 'w');
  for (let i = 0; i < 100; i++) writeSync(fd, block);
  closeSync(fd);
  const bytes = (await stat(path)).size;
  let peak = 0, timer: NodeJS.Timeout | undefined;
  try {
    const r = await run(['train', 'big.txt', ...TINY, '--steps', '1', '--val-max-chars', '10000', '--out', 'big'], {
      timeoutMs: 120_000,
      onOutput: (_, child) => { timer ??= setInterval(() => { peak = Math.max(peak, peakRss(child.pid!)); }, 20); },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\(100,000,000 chars, vocab 65\)/);
  } finally {
    clearInterval(timer);
    await rm(path, { force: true });
  }
  // 1 byte per character (65 characters fit 8-bit ids) plus the runtime; the whole-string
  // reader held the bytes, the string and 4-byte ids, over 6 bytes per character
  const mb = peak / 1024;
  assert.ok(peak > 0, 'peak RSS was read');
  assert.ok(mb < bytes / 2 ** 20 + 250, `peak RSS ${mb.toFixed(0)} MB for a ${(bytes / 2 ** 20).toFixed(0)} MB corpus`);
});
