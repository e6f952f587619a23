// MNIST IDX parsing (src/data/mnist.ts) and the Node loader (src/node/mnist-file.ts):
// the shipped data/mnist files, then corrupt headers, lengths, labels and gzip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { mnistSet, parseIdxImages, parseIdxLabels } from '../src/data/mnist.js';
import { readIdxFile, readMnist } from '../src/node/mnist-file.js';
import { UserError } from '../src/core/errors.js';
import { ROOT } from './cli-helpers.js';

const MNIST = join(ROOT, 'data', 'mnist');
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-mnist-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function isUserError(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(!/[\r\n]/.test(e.message), 'one line');
    assert.match(e.message, pattern);
    return true;
  };
}
const throwsUserError = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, isUserError(pattern));

/** An IDX header: magic then big-endian u32 fields. */
function header(...fields: number[]): Uint8Array {
  const b = new Uint8Array(4 * fields.length);
  const v = new DataView(b.buffer);
  fields.forEach((f, i) => v.setUint32(4 * i, f));
  return b;
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const gunzipFile = async (name: string) => new Uint8Array(gunzipSync(await readFile(join(MNIST, name))));

test('the shipped train10k and t10k sets load with their known first labels', async () => {
  const train = await readMnist(MNIST, 'train10k');
  assert.deepEqual([train.count, train.rows, train.cols], [10000, 28, 28]);
  assert.equal(train.pixels.length, 10000 * 784);
  assert.equal(train.labels.length, 10000);
  assert.deepEqual([...train.labels.subarray(0, 5)], [5, 0, 4, 1, 9]); // the official train order
  const test10k = await readMnist(MNIST, 't10k');
  assert.equal(test10k.count, 10000);
  assert.deepEqual([...test10k.labels.subarray(0, 5)], [7, 2, 1, 0, 4]);
  // per-digit counts of the first 10k official train labels (shared data README)
  const counts = new Array<number>(10).fill(0);
  for (const l of train.labels) counts[l]!++;
  assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  assert.ok(train.pixels.some((p) => p === 255) && train.pixels[0] === 0, 'uint8 pixels, background 0');
});

test('uncompressed files are read too, and the result owns its memory', async () => {
  const sub = join(dir, 'plain');
  await mkdir(sub);
  const images = await gunzipFile('t10k-images-idx3-ubyte.gz');
  await writeFile(join(sub, 't10k-images-idx3-ubyte'), images);
  await writeFile(join(sub, 't10k-labels-idx1-ubyte'), await gunzipFile('t10k-labels-idx1-ubyte.gz'));
  const set = await readMnist(sub, 't10k');
  assert.equal(set.count, 10000);
  assert.deepEqual(set.pixels, images.subarray(16));
  assert.notEqual(set.pixels.buffer, images.buffer);
});

test('truncated and over-long files are rejected with the expected size', async () => {
  const images = await gunzipFile('t10k-images-idx3-ubyte.gz');
  throwsUserError(() => parseIdxImages(images.subarray(0, images.length - 1), 'x.idx'),
    /^x\.idx: truncated: header says 10,000 images of 28x28 \(7,840,016 bytes\), file has 7,840,015 bytes$/);
  throwsUserError(() => parseIdxImages(concat(images, new Uint8Array(3)), 'x.idx'), /^x\.idx: 3 unexpected bytes after/);
  throwsUserError(() => parseIdxImages(images.subarray(0, 10), 'x.idx'), /too short for an IDX image header/);
  const labels = await gunzipFile('t10k-labels-idx1-ubyte.gz');
  throwsUserError(() => parseIdxLabels(labels.subarray(0, 9000), 'l.idx'), /^l\.idx: truncated: header says 10,000 labels/);
  throwsUserError(() => parseIdxLabels(new Uint8Array(0), 'l.idx'), /too short/);
});

test('a wrong magic number is rejected, naming the file and the swap', () => {
  throwsUserError(() => parseIdxImages(concat(header(0x801, 1, 28, 28), new Uint8Array(784)), 'a'),
    /^a: not an IDX image file: magic 0x00000801, expected 0x00000803 \(that is a label file\)$/);
  throwsUserError(() => parseIdxLabels(concat(header(0x803, 1), new Uint8Array(1)), 'b'), /that is an image file/);
  throwsUserError(() => parseIdxImages(concat(header(0x0d03, 1, 1, 1), new Uint8Array(1)), 'c'), /magic 0x00000d03/);
  throwsUserError(() => parseIdxImages(gzipSync(header(0x803, 1, 1, 1)), 'd.gz'), /gzip-compressed/);
});

test('a huge claimed count fails on the length check, before any allocation', () => {
  const t0 = performance.now();
  throwsUserError(() => parseIdxImages(concat(header(0x803, 0xffffffff, 28, 28), new Uint8Array(784)), 'big'),
    /^big: truncated: header says 4,294,967,295 images of 28x28 \(3,367,254,359,296 bytes\)/);
  throwsUserError(() => parseIdxImages(concat(header(0x803, 0xffffffff, 0xffffffff, 0xffffffff)), 'big'), /truncated/);
  throwsUserError(() => parseIdxLabels(concat(header(0x801, 0xffffffff), new Uint8Array(5)), 'big'), /truncated/);
  assert.ok(performance.now() - t0 < 1000, 'no 3 TB allocation attempted');
});

test('dimensions come from the header; zero sizes and labels above 9 are rejected', () => {
  const img = parseIdxImages(concat(header(0x803, 2, 3, 4), Uint8Array.from({ length: 24 }, (_, i) => i)));
  assert.deepEqual([img.count, img.rows, img.cols, img.pixels.length, img.pixels[23]], [2, 3, 4, 24, 23]);
  throwsUserError(() => parseIdxImages(header(0x803, 0, 28, 28), 'z'), /^z: header says 0 images$/);
  throwsUserError(() => parseIdxImages(header(0x803, 5, 0, 28), 'z'), /images of 0x28 pixels/);
  throwsUserError(() => parseIdxLabels(concat(header(0x801, 3), Uint8Array.of(1, 10, 2)), 'l'), /^l: label 1 is 10, not a digit 0\.\.9$/);
  const labels = parseIdxLabels(concat(header(0x801, 2), Uint8Array.of(9, 0)));
  assert.deepEqual([...labels.labels], [9, 0]);
  throwsUserError(() => mnistSet(img, parseIdxLabels(concat(header(0x801, 3), Uint8Array.of(1, 2, 3))), 'i', 'l'),
    /^i has 2 images but l has 3 labels$/);
  assert.equal(mnistSet(img, labels).labels[0], 9);
});

test('gzip garbage, a truncated .gz, mismatched counts and missing files are one-line errors', async () => {
  const garbage = join(dir, 'garbage-images-idx3-ubyte.gz');
  await writeFile(garbage, Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  await assert.rejects(readIdxFile(garbage), isUserError(/garbage-images-idx3-ubyte\.gz: not a valid gzip file: /));
  const notGz = join(dir, 'text.gz');
  await writeFile(notGz, 'hello');
  await assert.rejects(readIdxFile(notGz), isUserError(/text\.gz: not a valid gzip file: incorrect header check/));
  const cut = join(dir, 'cut.gz');
  const full = await readFile(join(MNIST, 't10k-labels-idx1-ubyte.gz'));
  await writeFile(cut, full.subarray(0, full.length >> 1));
  await assert.rejects(readIdxFile(cut), isUserError(/cut\.gz: not a valid gzip file: unexpected end of file/));

  const mixed = join(dir, 'mixed');
  await mkdir(mixed);
  await writeFile(join(mixed, 't10k-images-idx3-ubyte.gz'), await readFile(join(MNIST, 't10k-images-idx3-ubyte.gz')));
  await writeFile(join(mixed, 't10k-labels-idx1-ubyte.gz'), gzipSync(concat(header(0x801, 2), Uint8Array.of(1, 2))));
  await assert.rejects(readMnist(mixed, 't10k'), isUserError(/t10k-images-idx3-ubyte\.gz has 10,000 images but .*t10k-labels-idx1-ubyte\.gz has 2 labels/));
  await assert.rejects(readMnist(mixed, 'train10k'), isUserError(/train10k-images-idx3-ubyte\.gz: no such file/));
  await assert.rejects(readMnist(mixed, 'train' as 't10k'), isUserError(/unknown MNIST split "train"/));
});
