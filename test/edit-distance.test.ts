// Levenshtein distance against hand-counted edits and a full-matrix reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levenshtein, tokenErrorRate } from '../src/metrics/edit-distance.js';
import { Rng } from '../src/core/rng.js';
import { UserError } from '../src/core/errors.js';

const w = (s: string): string[] => s.split(' ').filter((x) => x !== '');

/** The textbook (n+1) x (m+1) table, to check the one-row version against. */
function fullTable<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
    d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

test('hand-counted distances', () => {
  assert.equal(levenshtein('kitten', 'sitting'), 3); // k->s, e->i, +g
  assert.equal(levenshtein('flaw', 'lawn'), 2); // -f, +n
  assert.equal(levenshtein([], []), 0);
  assert.equal(levenshtein(w('a b c'), []), 3);
  assert.equal(levenshtein([], w('a b')), 2);
  assert.equal(levenshtein(w('the cat sat'), w('the cat sat')), 0);
  // one substitution (sat -> sits), one deletion (on), one insertion (down)
  assert.equal(levenshtein(w('the cat sat on the mat'), w('the cat sits the mat down')), 3);
  assert.equal(levenshtein(w('a b c d'), w('d c b a')), 4); // reversed: 4 substitutions; lining up any one equal pair costs an insertion and a deletion
  // tokens compare whole: "ab" vs "a" is one substitution, not a character edit
  assert.equal(levenshtein(['ab'], ['a']), 1);
});

test('symmetric, and equal to the full table on random sequences', () => {
  const rng = new Rng(7);
  for (let t = 0; t < 300; t++) {
    const a = Array.from({ length: rng.int(9) }, () => rng.int(4));
    const b = Array.from({ length: rng.int(9) }, () => rng.int(4));
    const d = levenshtein(a, b);
    assert.equal(d, fullTable(a, b), `${a} / ${b}`);
    assert.equal(levenshtein(b, a), d);
    assert.ok(d >= Math.abs(a.length - b.length) && d <= Math.max(a.length, b.length));
  }
});

test('tokenErrorRate sums edits over the corpus and divides by reference tokens', () => {
  // 1 edit over 3 tokens, 2 edits over 2 tokens: 3 / 5 (not the mean of 1/3 and 1)
  assert.equal(tokenErrorRate([w('a b x'), w('p')], [w('a b c'), w('q r')]), 3 / 5);
  assert.equal(tokenErrorRate([w('a b')], [w('a b')]), 0);
  // inserted words can push it above 1
  assert.equal(tokenErrorRate([w('a b c d')], [w('z')]), 4);
  assert.throws(() => tokenErrorRate([w('a')], []), UserError);
  assert.throws(() => tokenErrorRate([w('a')], [[]]), /no tokens/);
});
