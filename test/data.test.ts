// Vocabulary (one token per code point, sorted by code point) and the char-rnn stream
// batching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Vocab } from '../src/data/vocab.js';
import { StreamBatches } from '../src/data/batches.js';
import { UserError } from '../src/core/errors.js';
import { decodeSafetensors } from '../src/io/safetensors.js';

function throwsUserError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(!/[\r\n]/.test(e.message), 'one line');
    assert.match(e.message, pattern);
    return true;
  });
}

// ---- Vocab ----

test('a character outside the BMP is one token', () => {
  const text = 'a🙂b🙂𝄞';
  assert.equal(text.length, 8); // UTF-16 code units
  const v = Vocab.fromText(text);
  assert.deepEqual(v.chars, ['a', 'b', '𝄞', '🙂']); // U+1D11E < U+1F642
  assert.equal(v.size, 4);
  assert.deepEqual([...v.encode(text)], [0, 3, 1, 3, 2]);
  assert.ok(v.has('🙂'));
  assert.ok(!v.has('\ud83d'), 'a lone surrogate is not a token');
});

test('tokens are sorted by code point, not by UTF-16 code unit', () => {
  // U+FF5A (fullwidth z) is one unit 0xFF5A; U+1F642 is 0xD83D 0xDE42. Sorting by code unit
  // (JavaScript's default sort) would put the emoji first.
  const v = Vocab.fromText('🙂ｚéa\n A');
  assert.deepEqual(v.chars, ['\n', ' ', 'A', 'a', 'é', 'ｚ', '🙂']);
  assert.notDeepEqual(v.chars, [...v.chars].sort());
  for (let i = 1; i < v.size; i++) assert.ok(v.chars[i - 1]!.codePointAt(0)! < v.chars[i]!.codePointAt(0)!);
});

test('the vocabulary matches Python\'s sorted(set(text)) on the unicode fixture', () => {
  const file = new URL('../../test/fixtures/lstm_unicode.safetensors', import.meta.url);
  const { metadata } = decodeSafetensors(readFileSync(file), 'lstm_unicode.safetensors');
  const text = (JSON.parse(metadata['fixture']!) as { text: string }).text;
  assert.deepEqual(Vocab.fromText(text).chars, JSON.parse(metadata['vocab']!));
});

test('decode(encode(x)) === x', () => {
  const texts = [
    'First Citizen:\nBefore we proceed any further, hear me speak.\r\n\t',
    'Café 🙂 naïve — déjà vu! Ωmega 🙂 crème brûlée. 𝄞 e\u0301 👍🏽 中文',
    'x',
    '',
  ];
  const v = Vocab.fromText(texts.join(''));
  for (const x of texts) {
    const ids = v.encode(x);
    assert.ok(ids instanceof Int32Array);
    assert.equal(ids.length, [...x].length, 'one id per code point');
    assert.equal(v.decode(ids), x);
    assert.equal(v.decode([...ids]), x, 'from a plain array too');
  }
});

test('encode lists unknown characters', () => {
  const v = Vocab.fromText('abc');
  throwsUserError(() => v.encode('abxyx🙂'), /^text has 3 character\(s\) not in the model's vocabulary: "x" "y" "🙂"$/);
  throwsUserError(() => v.encode('aQ', 'prime text'), /^prime text has 1 character/);
  const many = Array.from({ length: 25 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('');
  throwsUserError(() => v.encode(many), /has 25 character\(s\).* and 5 more$/);
});

test('the constructor refuses entries that are not one character, and duplicates', () => {
  throwsUserError(() => new Vocab(['a', 'bc']), /entry 1 is not a single character/);
  throwsUserError(() => new Vocab(['a', '']), /entry 1 is not a single character/);
  throwsUserError(() => new Vocab(['a', 'b', 'a']), /"a" twice/);
  assert.equal(new Vocab(['🙂', 'a']).size, 2, 'a surrogate pair is one character; order is the caller\'s');
  const chars = ['x', 'y'];
  const v = new Vocab(chars);
  chars.push('z');
  assert.equal(v.size, 2, 'keeps its own copy');
});

// ---- StreamBatches ----

test('stream layout: stream b covers ids[b*S ...], chunk k starts at k*T, time-major', () => {
  const N = 30, B = 3, T = 4;
  const ids = Int32Array.from({ length: N }, (_, i) => i);
  const sb = new StreamBatches(ids, B, T);
  assert.equal(sb.streamLen, 9); // floor((30 - 1) / 3)
  assert.equal(sb.chunksPerEpoch, 2); // floor(9 / 4); one input per stream is never read
  const inputs = new Int32Array(B * T), targets = new Int32Array(B * T);
  sb.fill(0, inputs, targets);
  assert.deepEqual([...inputs], [0, 9, 18, 1, 10, 19, 2, 11, 20, 3, 12, 21]);
  assert.deepEqual([...targets], [...inputs].map((x) => x + 1));
  sb.fill(1, inputs, targets);
  assert.deepEqual([...inputs], [4, 13, 22, 5, 14, 23, 6, 15, 24, 7, 16, 25]);
  assert.deepEqual([...targets], [...inputs].map((x) => x + 1));
});

test('stream layout holds for many shapes: contiguous streams, targets in range', () => {
  for (const [N, B, T] of [[2, 1, 1], [11, 2, 5], [12, 2, 5], [100, 7, 3], [161, 3, 10], [1000, 1, 999], [64, 8, 7]] as const) {
    const ids = Int32Array.from({ length: N }, (_, i) => i);
    const sb = new StreamBatches(ids, B, T);
    const S = Math.floor((N - 1) / B);
    assert.equal(sb.streamLen, S);
    assert.equal(sb.chunksPerEpoch, Math.floor(S / T));
    const inputs = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let k = 0; k < sb.chunksPerEpoch; k++) {
      sb.fill(k, inputs, targets);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
        assert.equal(inputs[t * B + b], b * S + k * T + t, `N=${N} B=${B} T=${T} k=${k} b=${b} t=${t}`);
        assert.equal(targets[t * B + b], inputs[t * B + b]! + 1);
        assert.ok(targets[t * B + b]! < N);
        assert.ok(inputs[t * B + b]! < (b + 1) * S, 'stays within its own stream');
      }
    }
  }
});

test('fill reads the ids, not positions', () => {
  const ids = Int32Array.from([5, 3, 8, 1, 9, 2, 7]); // N = 7, B = 2 -> S = 3, T = 3
  const sb = new StreamBatches(ids, 2, 3);
  const inputs = new Int32Array(6), targets = new Int32Array(6);
  sb.fill(0, inputs, targets);
  assert.deepEqual([...inputs], [5, 1, 3, 9, 8, 2]);
  assert.deepEqual([...targets], [3, 9, 8, 2, 1, 7]);
});

test('too-short text is a UserError that says how much is needed', () => {
  const B = 3, T = 4, ids = (n: number) => new Int32Array(n);
  throwsUserError(() => new StreamBatches(ids(B * T), B, T), /^training text is too short: 12 characters, need at least batch\*seq\+1 = 13$/);
  throwsUserError(() => new StreamBatches(ids(0), B, T), /too short: 0 characters/);
  throwsUserError(() => new StreamBatches(ids(1), 1, 1), /too short: 1 character.*need at least batch\*seq\+1 = 2/);
  throwsUserError(() => new StreamBatches(ids(5), 2, 4, 'validation text'), /^validation text is too short/);
  assert.equal(new StreamBatches(ids(B * T + 1), B, T).chunksPerEpoch, 1, 'batch*seq+1 is enough');
});
