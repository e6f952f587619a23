// The seq2seq-tutorial normalisation, filter and split (src/data/translation-filter.ts),
// and scripts/translation-data.mjs end to end on a few lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepTutorialPair, normalizeTutorial, translationSplit } from '../src/data/translation-filter.js';
import { ROOT } from './cli-helpers.js';

test('normalisation matches the tutorial on accents, punctuation and French spacing', () => {
  assert.equal(normalizeTutorial("I'm cold."), 'i m cold .');
  assert.equal(normalizeTutorial('Cours\u202f!'), 'cours !');
  assert.equal(normalizeTutorial('«\u00a0Ça alors\u00a0»\u202f?'), 'ca alors ?');
  assert.equal(normalizeTutorial("  J'ai  été  élu... "), 'j ai ete elu . . .');
  assert.equal(normalizeTutorial("J'ai 20 ans."), 'j ai ans .', 'digits are not letters');
  assert.equal(normalizeTutorial('Mal au cœur.'), 'mal au c ur .', 'œ has no ASCII decomposition');
  assert.equal(normalizeTutorial('NAÏVE, Über-cool!'), 'naive uber cool !');
});

test('the filter needs fewer than 10 words on both sides and an English prefix', () => {
  assert.ok(keepTutorialPair('i m cold .', 'j ai froid .'));
  assert.ok(keepTutorialPair('he s a b c d e f .', 'x'), '9 words');
  assert.ok(!keepTutorialPair('he s a b c d e f g .', 'x'), '10 words');
  assert.ok(!keepTutorialPair('i m cold .', 'a b c d e f g h i j'), 'French too long');
  assert.ok(!keepTutorialPair('it is cold .', 'il fait froid .'));
  assert.ok(!keepTutorialPair('i meant it .', 'x'), '"i m " needs the space');
  assert.ok(keepTutorialPair('they are here .', 'ils sont la .'));
});

test('the split sends index 18 mod 20 to val and 19 to test', () => {
  const splits = Array.from({ length: 40 }, (_, i) => translationSplit(i));
  assert.equal(splits.filter((s) => s === 'train').length, 36);
  assert.deepEqual([splits[18], splits[19], splits[38], splits[39], splits[0], splits[17]], ['val', 'test', 'val', 'test', 'train', 'train']);
});

test('translation-data.mjs filters first, then splits, and writes english<TAB>french', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rnnkit-translation-'));
  try {
    const rows = Array.from({ length: 45 }, (_, i) => (i % 2 === 0 ? `I'm number ${i}.\tJe suis\u202fle ${i}\u202f!` : `Go ${i}.\tVa\u202f!`));
    writeFileSync(join(dir, 'in.tsv'), `${rows.join('\n')}\n`);
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'translation-data.mjs'), join(dir, 'in.tsv'), '--out', join(dir, 'out')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /45 pairs, kept 23: train 21, val 1, test 1/);
    const read = (f: string) => readFileSync(join(dir, 'out', f), 'utf8');
    assert.equal(read('val.tsv'), 'i m number .\tje suis le !\n');
    assert.equal(read('train.tsv').split('\n').length, 22);
    const bad = spawnSync(process.execPath, [join(ROOT, 'scripts', 'translation-data.mjs'), join(dir, 'none.tsv'), '--out', join(dir, 'o2')], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^translation-data: .*none\.tsv: no such file\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
