// The streaming corpus reader (src/node/corpus.ts, src/io/utf8-chunks.ts) against the
// whole-string path (decodeText -> Vocab.fromText -> encode): same vocabulary, ids and
// errors for every chunk size, and the compact id arrays through training.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCorpus } from '../src/node/corpus.js';
import { decodeText } from '../src/node/files.js';
import { Vocab } from '../src/data/vocab.js';
import { recode, type TokenIds } from '../src/data/token-ids.js';
import { Rng } from '../src/core/rng.js';
import { UserError } from '../src/core/errors.js';
import { fingerprint } from '../src/train/run-checkpoint.js';
import { streamLoss } from '../src/models/lm-loss.js';
import { CharLM } from '../src/models/char-lm.js';
import { Trainer } from '../src/train/trainer.js';
import { ensureBackend } from '../src/backend/init.js';

let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'rnnkit-corpus-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

const enc = new TextEncoder();
let fileNo = 0;
async function fileOf(bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, `f${fileNo++}.txt`);
  await writeFile(path, typeof bytes === 'string' ? enc.encode(bytes) : bytes);
  return path;
}

/** What the whole-string path makes of the bytes: its vocabulary and ids, or its error message. */
function wholeString(bytes: Uint8Array, path: string): { chars: string[]; ids: number[] } | string {
  try {
    const text = decodeText(bytes, path);
    if (text.length === 0) return `${path}: file is empty`;
    const vocab = Vocab.fromText(text);
    return { chars: vocab.chars, ids: Array.from(vocab.encode(text)) };
  } catch (e) {
    return (e as Error).message;
  }
}

async function streamed(path: string, chunkBytes: number): Promise<{ chars: string[]; ids: number[] } | string> {
  try {
    const c = await readCorpus(path, { chunkBytes });
    return { chars: c.vocab.chars, ids: Array.from(c.ids) };
  } catch (e) {
    assert.ok(e instanceof UserError, String(e));
    assert.ok(!/[\r\n]/.test(e.message), 'one line');
    return e.message;
  }
}

async function sameAsWhole(bytes: Uint8Array, chunks: readonly number[], label: string): Promise<void> {
  const path = await fileOf(bytes), want = wholeString(bytes, path);
  for (const size of chunks) assert.deepEqual(await streamed(path, size), want, `${label}, ${size}-byte chunks`);
}

const PIECES = ['a', 'b', ' ', '\n', '\r', '\r\n', '\r\r\n', '\t', 'é', 'ß', '€', '中', '\uFEFF', '🙂', '𝄞', '\u{10FFFF}', '\u0080', '\u07FF', '\u0800', '\uFFFD'];

test('chunked reading gives the vocabulary and ids of the whole string: multibyte, astral, CRLF, lone CR and BOM across chunk boundaries', async () => {
  const rng = new Rng(7);
  for (let k = 0; k < 24; k++) {
    let s = k % 3 === 0 ? '\uFEFF' : '';
    const n = 5 + rng.int(60);
    for (let i = 0; i < n; i++) s += PIECES[rng.int(PIECES.length)];
    await sameAsWhole(enc.encode(s), [1, 2, 3, 4, 5, 7, 64], `text ${k} ${JSON.stringify(s)}`);
  }
  // CR as the last byte of a chunk and of the file; a BOM split over three chunks; a BOM after the first character stays
  for (const s of ['ab\r', 'a\r\nb\r\n', '\r', '\r\n', '\uFEFF\uFEFFx', 'x\uFEFF', '\uFEFF\r\n\r']) await sameAsWhole(enc.encode(s), [1, 2, 3, 4096], JSON.stringify(s));
});

test('chunked reading: errors name the line and byte offset in the whole file, as decodeText does', async () => {
  const prefix = 'line one\nline two é\r\nthree 🙂\n'.repeat(5);
  const cases: [string, number[], boolean?][] = [
    ['a lone continuation byte', [0x80]],
    ['Latin-1', [0x63, 0x61, 0x66, 0xe9, 0x0a]],
    ['a sequence cut by the end of the file', [0xe2, 0x82], true],
    ['an overlong form', [0xc0, 0x80]],
    ['a surrogate', [0xed, 0xa0, 0x80]],
    ['past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a bad third byte', [0xf0, 0x9f, 0x99, 0x41]],
    ['a NUL byte', [0x41, 0x00, 0x42]],
    ['a NUL byte inside a sequence', [0xe2, 0x00]],
    ['invalid UTF-8, then a NUL byte later (NUL is reported)', [0xff, 0x41, 0x0a, 0x42, 0x00]],
    ['invalid UTF-8 at the end of a sequence, then a NUL in a later chunk', [0xe2, 0x41, ...enc.encode('x\n'.repeat(40)), 0x00]],
  ];
  for (const [what, tail, atEnd] of cases) {
    const bytes = new Uint8Array([...enc.encode(prefix), ...tail, ...(atEnd ? [] : enc.encode('\nafter\n'))]);
    const path = await fileOf(bytes), want = wholeString(bytes, path);
    assert.equal(typeof want, 'string', what);
    for (const size of [1, 2, 3, 7, 16, 4096]) assert.equal(await streamed(path, size), want, `${what}, ${size}-byte chunks`);
  }
});

test('readCorpus: an empty file (or a lone BOM) and a directory are readTextFile\'s errors', async () => {
  for (const s of ['', '\uFEFF']) {
    const path = await fileOf(s);
    await assert.rejects(readCorpus(path, { chunkBytes: 2 }), { name: 'UserError', message: `${path}: file is empty` });
  }
  const d = join(dir, 'a-directory');
  await mkdir(d);
  await assert.rejects(readCorpus(d), { name: 'UserError', message: `${d}: is a directory, not a text file` });
  await assert.rejects(readCorpus(join(dir, 'missing.txt')), { name: 'UserError', message: `${join(dir, 'missing.txt')}: no such file` });
});

/** A text of n distinct characters (from U+0100 on, skipping surrogates), each once, then the first 50 again. */
function distinct(n: number): string {
  const cps: number[] = [];
  for (let cp = 0x100; cps.length < n; cp++) if (cp < 0xd800 || cp > 0xdfff) cps.push(cp);
  return String.fromCodePoint(...cps, ...cps.slice(0, 50));
}

test('ids take 1, 2 or 4 bytes by vocabulary size, with the values of the whole-string path', async () => {
  for (const [n, type] of [[256, Uint8Array], [257, Uint16Array], [65536, Uint16Array], [65537, Uint32Array]] as const) {
    const text = distinct(n), path = await fileOf(text);
    const c = await readCorpus(path, { chunkBytes: 1000 });
    assert.ok(c.ids instanceof type, `${n} characters: ${c.ids.constructor.name}`);
    const vocab = Vocab.fromText(text);
    assert.deepEqual(c.vocab.chars, vocab.chars);
    assert.deepEqual(Array.from(c.ids), Array.from(vocab.encode(text)));
    assert.equal(fingerprint(c.ids), fingerprint(vocab.encode(text)), 'the same hash as the Int32Array of the same ids');
  }
});

test('recode maps ids to another vocabulary (widening the array when needed) and names characters it lacks', () => {
  const from = new Vocab(['a', 'b', 'c']), to = new Vocab([...distinct(300)].slice(0, 297).concat(['c', 'a', 'b']));
  const ids = Uint8Array.from([0, 1, 2, 2, 0]);
  const out = recode(ids, from, to, 'f.txt');
  assert.ok(out instanceof Uint16Array);
  assert.deepEqual(Array.from(out), [298, 299, 297, 297, 298]);
  assert.equal(recode(ids, from, new Vocab(['a', 'b', 'c']), 'f.txt'), ids, 'the same vocabulary: the same array');
  assert.throws(() => recode(ids, from, new Vocab(['a', 'c']), 'f.txt'), { name: 'UserError', message: 'f.txt has 1 character(s) not in the model\'s vocabulary: "b"' });
});

test('training, validation and fingerprints read every id array type the same way (bitwise)', async () => {
  await ensureBackend();
  const rng = new Rng(3), base = Array.from({ length: 3000 }, () => rng.int(40));
  const run = (ids: TokenIds) => {
    const net = new CharLM({ vocab_size: 40, hidden_size: 12, embedding_size: 6, num_layers: 1 }).init(new Rng(1));
    const trainer = new Trainer(net, ids.subarray(0, 2500), { batch: 4, seq: 16, bptt: 24, seed: 2 });
    for (let i = 0; i < 5; i++) trainer.trainStep();
    return { params: Array.from(net.params.data), val: streamLoss(net, ids.subarray(2500), 4, 16), hash: fingerprint(ids) };
  };
  const want = run(Int32Array.from(base));
  for (const ids of [Uint8Array.from(base), Uint16Array.from(base), Uint32Array.from(base)]) assert.deepEqual(run(ids), want, ids.constructor.name);
});
