#!/usr/bin/env node
// C source -> per-character code/string/comment tags (src/data/c-labels.ts) as
// CoNLL-style train/val/test files for a sequence-labelling demo.
//
//   node scripts/c-tags.mjs [INPUT] [--out DIR] [--max-lines N] [--baseline]
//
// INPUT defaults to data/linux/input.txt. The whole file is labelled in one pass (block
// comments span lines), then its lines are split 90/5/5 in file order: train
// [0, floor(0.90 L)), val [floor(0.90 L), floor(0.95 L)), test the rest, L = number of
// lines. Each non-empty line is one sequence (`char<TAB>tag` rows, blank line between).
// --out writes DIR/{train,val,test}.tsv; --max-lines N keeps the first N sequences of
// each split (a quick run); --baseline prints the accuracy on test of tagging each
// character with its most frequent tag in train, looking at nothing else.
// Needs the build (npm run build).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIB = join(ROOT, 'dist', 'src', 'data', 'c-labels.js');
const FILES = join(ROOT, 'dist', 'src', 'node', 'files.js');

function fail(message) {
  process.stderr.write(`c-tags: ${message}\n`);
  process.exit(1);
}

if (!existsSync(LIB)) fail(`${LIB} not found: run npm run build first`);
const { C_TAGS, lineTokens, taggedLines } = await import(LIB);
const { formatConll } = await import(join(ROOT, 'dist', 'src', 'data', 'datasets.js'));
const { readTextFile } = await import(FILES);

/** Per split: sequences, chars and the count of each tag. */
function stats(seqs) {
  const tags = Object.fromEntries(C_TAGS.map((t) => [t, 0]));
  let chars = 0;
  for (const s of seqs) {
    chars += s.tokens.length;
    for (const t of s.tags) tags[t]++;
  }
  return { sequences: seqs.length, chars, tags };
}

const pct = (a, b) => `${((100 * a) / b).toFixed(2)}%`;

/** Most frequent tag of each character on train (ties: C_TAGS order); unseen characters get train's most frequent tag. */
function charBaseline(train, test) {
  const counts = new Map();
  const overall = new Array(C_TAGS.length).fill(0);
  for (const s of train) {
    s.tokens.forEach((c, k) => {
      const t = C_TAGS.indexOf(s.tags[k]);
      if (!counts.has(c)) counts.set(c, new Array(C_TAGS.length).fill(0));
      counts.get(c)[t]++;
      overall[t]++;
    });
  }
  const argmax = (a) => a.indexOf(Math.max(...a));
  const best = new Map([...counts].map(([c, a]) => [c, C_TAGS[argmax(a)]]));
  const fallback = C_TAGS[argmax(overall)];
  let right = 0, total = 0, majority = 0;
  for (const s of test) {
    s.tokens.forEach((c, k) => {
      total++;
      if ((best.get(c) ?? fallback) === s.tags[k]) right++;
      if (s.tags[k] === fallback) majority++;
    });
  }
  return { right, total, majority, fallback };
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { out: { type: 'string' }, 'max-lines': { type: 'string' }, baseline: { type: 'boolean' } },
    });
  } catch (err) {
    return fail(err.message);
  }
})();
if (positionals.length > 1) fail('expected at most one input file');
const input = positionals[0] ?? join(ROOT, 'data', 'linux', 'input.txt');
let maxLines = Infinity;
if (values['max-lines'] !== undefined) {
  maxLines = Number(values['max-lines']);
  if (!Number.isInteger(maxLines) || maxLines < 1) fail(`--max-lines must be a positive integer, got ${values['max-lines']}`);
}

let source;
try {
  source = await readTextFile(input, 'C source file');
} catch (err) {
  fail(err.message);
}
const lines = taggedLines(source);
const L = lines.length;
const cuts = [0, Math.floor(0.9 * L), Math.floor(0.95 * L), L];
const splits = {};
['train', 'val', 'test'].forEach((name, k) => {
  const seqs = lines.slice(cuts[k], cuts[k + 1]).filter((l) => l.text.length > 0).map(lineTokens);
  splits[name] = seqs.slice(0, maxLines);
});

console.log(`${input}: ${L} lines, ${source.length} chars; lines train [0,${cuts[1]}) val [${cuts[1]},${cuts[2]}) test [${cuts[2]},${L})`);
for (const [name, seqs] of Object.entries(splits)) {
  const s = stats(seqs);
  const dist = C_TAGS.map((t) => `${t} ${s.tags[t]} (${pct(s.tags[t], s.chars || 1)})`).join(', ');
  console.log(`${name}: ${s.sequences} sequences, ${s.chars} chars: ${dist}`);
}
if (values.out !== undefined) {
  mkdirSync(values.out, { recursive: true });
  for (const [name, seqs] of Object.entries(splits)) writeFileSync(join(values.out, `${name}.tsv`), formatConll(seqs));
  console.log(`wrote ${['train', 'val', 'test'].map((n) => join(values.out, `${n}.tsv`)).join(', ')}`);
}
if (values.baseline) {
  const b = charBaseline(splits.train, splits.test);
  console.log(`baseline (current character only): test accuracy ${pct(b.right, b.total)} (${b.right}/${b.total}); ` +
    `always "${b.fallback}": ${pct(b.majority, b.total)}`);
}
