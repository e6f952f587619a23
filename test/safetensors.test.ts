import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../src/io/safetensors.js';
import type { TensorEntry } from '../src/io/safetensors.js';
import { UserError } from '../src/core/errors.js';

const SRC = 'checkpoint.safetensors';

/** Build a file from a raw header string (padded to `pad` bytes if given) and data bytes. */
function rawFile(header: string, data: number[] | Uint8Array = [], pad = true): Uint8Array {
  const json = new TextEncoder().encode(header);
  const n = pad ? Math.ceil(json.length / 8) * 8 : json.length;
  const out = new Uint8Array(8 + n + data.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setUint32(0, n, true);
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

function headerLength(bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return v.getUint32(4, true) * 2 ** 32 + v.getUint32(0, true);
}

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, SRC),
    (err: unknown) => {
      assert.ok(err instanceof SafetensorsError, `not a SafetensorsError: ${String(err)}`);
      assert.ok(err instanceof UserError);
      assert.equal(err.name, 'SafetensorsError');
      assert.ok(!/[\r\n]/.test(err.message), `message is not one line: ${JSON.stringify(err.message)}`);
      assert.ok(err.message.startsWith(`${SRC}: `), err.message);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('round trip: several tensors and non-ASCII metadata', () => {
  const tensors: TensorEntry[] = [
    { name: 'rnn.weight_ih_l0', shape: [3, 2], data: new Float32Array([1, -2, 3.5, 1e-30, -0, Math.PI]) },
    { name: 'rnn.bias', shape: [4], data: new Float32Array([Infinity, -Infinity, NaN, 65504]) },
    { name: 'scalar', shape: [], data: new Float32Array([42]) },
    { name: 'empty', shape: [0, 3], data: new Float32Array(0) },
    { name: '10', shape: [1], data: new Float32Array([7]) },
    { name: '__proto__', shape: [2], data: new Float32Array([8, 9]) },
  ];
  const vocab = JSON.stringify(['a', 'é', '🙂', '\n', '"', '\u0000']);
  const metadata = { format: 'rnnkit', vocab, 'clé 🙂': 'valeur' };
  const bytes = encodeSafetensors(tensors, metadata);
  assert.equal(headerLength(bytes) % 8, 0);

  const out = decodeSafetensors(bytes, SRC);
  assert.deepEqual([...out.tensors.keys()], tensors.map((t) => t.name), 'file order is kept');
  for (const t of tensors) {
    const got = out.tensors.get(t.name);
    assert.ok(got, t.name);
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual(got.data, t.data); // deepEqual treats NaN as equal to NaN and -0 as distinct
  }
  assert.deepEqual(out.metadata, metadata);
  assert.deepEqual(JSON.parse(out.metadata['vocab']!), ['a', 'é', '🙂', '\n', '"', '\u0000']);
});

test('encodes data from a Float32Array that is a view into a larger buffer', () => {
  const big = new Float32Array([0, 1, 2, 3, 4, 5]);
  const out = decodeSafetensors(encodeSafetensors([{ name: 'v', shape: [3], data: big.subarray(2, 5) }], {}));
  assert.deepEqual(out.tensors.get('v')!.data, new Float32Array([2, 3, 4]));
  assert.deepEqual(out.metadata, {});
});

test('header is padded with spaces to a multiple of 8 for any length', () => {
  for (let len = 1; len <= 17; len++) {
    const bytes = encodeSafetensors([{ name: 'x'.repeat(len), shape: [1], data: new Float32Array([1]) }], {});
    const n = headerLength(bytes);
    assert.equal(n % 8, 0, `name length ${len}`);
    assert.equal(bytes.length, 8 + n + 4);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.match(header, /^\{.*\} *$/);
    assert.ok(header.trimEnd().length > n - 8, 'at most 7 padding bytes');
  }
});

test('byte-exact layout for a tiny file', () => {
  const bytes = encodeSafetensors([{ name: 'a', shape: [2], data: new Float32Array([1, -2]) }], { k: 'v' });
  const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}';
  assert.equal(json.length, 79);
  const expected = new Uint8Array([
    80, 0, 0, 0, 0, 0, 0, 0, // u64 LE header length
    ...[...json].map((c) => c.charCodeAt(0)), 0x20, // header + 1 space of padding
    0x00, 0x00, 0x80, 0x3f, // 1.0f LE
    0x00, 0x00, 0x00, 0xc0, // -2.0f LE
  ]);
  assert.deepEqual(bytes, expected);
});

test('empty tensor list still gives a valid file', () => {
  const out = decodeSafetensors(encodeSafetensors([], {}));
  assert.equal(out.tensors.size, 0);
  assert.deepEqual(out.metadata, {});
});

test('decodes third-party files: no padding, unaligned data, no __metadata__', () => {
  // Header of 81 bytes, so data starts at byte 89 (not 4-aligned), and the input itself
  // is a view at an odd byte offset.
  let header = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  header += ' '.repeat(81 - header.length);
  const file = rawFile(header, new Uint8Array(new Float32Array([1.5, -3]).buffer), false);
  const shifted = new Uint8Array(file.length + 1);
  shifted.set(file, 1);
  const out = decodeSafetensors(shifted.subarray(1), SRC);
  assert.deepEqual(out.tensors.get('w'), { shape: [2], data: new Float32Array([1.5, -3]) });
  assert.deepEqual(out.metadata, {});
  // The result must be a copy, not a view into the input.
  shifted.fill(0);
  assert.deepEqual(out.tensors.get('w')!.data, new Float32Array([1.5, -3]));
});

test('encode rejects bad input, naming the tensor', () => {
  assert.throws(
    () => encodeSafetensors([{ name: 'emb', shape: [2, 3], data: new Float32Array(5) }], {}),
    /'emb'.*\[2,3\].*6 elements.*5/,
  );
  assert.throws(() => encodeSafetensors([{ name: 'neg', shape: [-1], data: new Float32Array(0) }], {}), /'neg'/);
  const t = { name: 'dup', shape: [1], data: new Float32Array(1) };
  assert.throws(() => encodeSafetensors([t, t], {}), /duplicate.*'dup'/);
  assert.throws(() => encodeSafetensors([{ ...t, name: '__metadata__' }], {}), /reserved/);
  assert.throws(() => encodeSafetensors([], { n: 1 as unknown as string }), /metadata 'n'/);
});

test('corrupt input: truncated files', () => {
  expectError(new Uint8Array(5), /truncated file \(5 bytes, need at least 8/);
  const cut = new Uint8Array(12);
  new DataView(cut.buffer).setUint32(0, 400, true);
  cut.set([0x7b, 0x22, 0x61, 0x22], 8); // '{"a"'
  const err = (() => {
    try {
      decodeSafetensors(cut, SRC);
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  assert.equal(err?.message, `${SRC}: truncated file (12 bytes, need at least 8 + header length 400)`);
  // A valid file cut inside its data section.
  const full = encodeSafetensors([{ name: 'x', shape: [4], data: new Float32Array(4) }], {});
  expectError(full.subarray(0, full.length - 3), /tensor 'x' data_offsets \[0,16\] outside the data section \(13 bytes\)/);
});

test('corrupt input: not a safetensors file at all', () => {
  const text = new TextEncoder().encode('First Citizen:\nBefore we proceed any further, hear me speak.\n');
  expectError(text, new RegExp(`not a safetensors file \\(header length 7584941881947220294 exceeds file size ${text.length}\\)`));
  expectError(rawFile('[1,2,3]'), /not a safetensors file \(header does not start with '\{'\)/);
  expectError(rawFile(''), /not a safetensors file/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(4, 0xffffffff, true);
  huge[8] = 0x7b;
  expectError(huge, /not a safetensors file \(header length \d+ exceeds file size 16\)/);
});

test('corrupt input: bad header JSON', () => {
  expectError(rawFile('{"a": nope}'), /: header is not valid JSON$/);
  expectError(rawFile('{"a":'), /header is not valid JSON/);
  const badUtf8 = rawFile('{"a":1}      x');
  badUtf8[8 + 13] = 0xff;
  expectError(badUtf8, /header is not valid UTF-8/);
  expectError(rawFile('{"a":1}'), /tensor 'a' entry is not a JSON object/);
  expectError(rawFile('{"__metadata__":[]}'), /__metadata__ is not a JSON object/);
});

test('corrupt input: bad tensor entries', () => {
  expectError(
    rawFile('{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', new Array(8).fill(0)),
    /: tensor 'x' has dtype I64; only F32 is supported$/,
  );
  expectError(
    rawFile('{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}', new Array(4).fill(0)),
    /dtype BF16; only F32/,
  );
  expectError(rawFile('{"x":{"shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /tensor 'x' has no dtype/);
  expectError(
    rawFile('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,40]}}', new Array(20).fill(0)),
    /: tensor 'x' data_offsets \[0,40\] outside the data section \(20 bytes\)$/,
  );
  expectError(
    rawFile('{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}', new Array(24).fill(0)),
    /: tensor 'x' shape \[2,3\] needs 24 bytes but data_offsets span 20$/,
  );
  expectError(
    rawFile('{"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}', new Array(8).fill(0)),
    /tensor 'x' has invalid data_offsets \[8,4\]/,
  );
  expectError(
    rawFile('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Array(4).fill(0)),
    /tensor 'x' has invalid shape \[-1\]/,
  );
  expectError(rawFile('{"x":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}'), /tensor 'x' has invalid shape "2"/);
});

test('corrupt input: non-string metadata and names with newlines stay one line', () => {
  expectError(rawFile('{"__metadata__":{"epoch":3}}'), /: metadata 'epoch' is not a string \(got 3\)$/);
  expectError(
    rawFile('{"bad\\nname":{"dtype":"I32\\nX","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
    /tensor "bad\\nname" has dtype "I32\\nX"/,
  );
});

test('corrupt input: tensors must tile the data section (overlaps, gaps, trailing bytes)', () => {
  const entry = (name: string, begin: number, end: number) => `"${name}":{"dtype":"F32","shape":[${(end - begin) / 4}],"data_offsets":[${begin},${end}]}`;
  expectError(rawFile(`{${entry('a', 0, 8)},${entry('b', 4, 12)}}`, new Array(12).fill(0)), /tensor 'b' data_offsets \[4,12\] overlap the tensor before \(which ends at 8\)$/);
  expectError(rawFile(`{${entry('a', 0, 4)},${entry('b', 8, 12)}}`, new Array(12).fill(0)), /tensor 'b' data_offsets \[8,12\] leave a gap after the tensor before \(which ends at 4\)$/);
  expectError(rawFile(`{${entry('a', 4, 8)}}`, new Array(8).fill(0)), /tensor 'a' data_offsets \[4,8\] leave a gap/);
  expectError(rawFile(`{${entry('a', 0, 4)}}`, new Array(8).fill(0)), /data section has 4 bytes after the last tensor/);
  // the same bytes, in order and contiguous: fine, in any header order
  const out = decodeSafetensors(rawFile(`{${entry('b', 4, 12)},${entry('a', 0, 4)}}`, new Array(12).fill(0)), SRC);
  assert.deepEqual([...out.tensors.keys()], ['a', 'b']);
});
