#!/usr/bin/env node
// English->French pairs filtered as in the PyTorch seq2seq translation tutorial
// (src/data/translation-filter.ts), split by index of the filtered list:
// i % 20 == 18 -> val, 19 -> test, else train. Writes `english<TAB>french` lines.
//
//   node scripts/translation-data.mjs INPUT [--out DIR]
//
// INPUT is manythings.org/anki's fra.txt (`english<TAB>french` per line; the project's
// shared data folder has it as translation/eng-fra.tsv); DIR defaults to data/eng-fra.
// Needs the build (npm run build).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIB = join(ROOT, 'dist', 'src', 'data', 'translation-filter.js');
const FILES = join(ROOT, 'dist', 'src', 'node', 'files.js');

function fail(message) {
  process.stderr.write(`translation-data: ${message}\n`);
  process.exit(1);
}

if (!existsSync(LIB)) fail(`${LIB} not found: run npm run build first`);
const { keepTutorialPair, normalizeTutorial, translationSplit } = await import(LIB);
const { readTextFile } = await import(FILES);

const { values, positionals } = (() => {
  try {
    return parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
  } catch (err) {
    return fail(err.message);
  }
})();
if (positionals.length !== 1) fail('expected one input file: the eng-fra pairs (manythings.org/anki fra.txt)');
const input = positionals[0];
const out = values.out ?? join(ROOT, 'data', 'eng-fra');

let text;
try {
  text = await readTextFile(input, 'translation file');
} catch (err) {
  fail(err.message);
}
const lines = text.split('\n');
if (lines[lines.length - 1] === '') lines.pop();
const kept = [];
lines.forEach((line, n) => {
  const fields = line.split('\t');
  // manythings files of later releases add a third (attribution) column; ignore it
  if (fields.length < 2) fail(`${input}: line ${n + 1} has no tab (expected english<TAB>french)`);
  const english = normalizeTutorial(fields[0]), french = normalizeTutorial(fields[1]);
  if (keepTutorialPair(english, french)) kept.push(`${english}\t${french}\n`);
});

const splits = { train: [], val: [], test: [] };
kept.forEach((row, i) => splits[translationSplit(i)].push(row));
mkdirSync(out, { recursive: true });
for (const [name, rows] of Object.entries(splits)) writeFileSync(join(out, `${name}.tsv`), rows.join(''));
console.log(`${input}: ${lines.length} pairs, kept ${kept.length}: ` +
  `train ${splits.train.length}, val ${splits.val.length}, test ${splits.test.length} -> ${out}/{train,val,test}.tsv`);
