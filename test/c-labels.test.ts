// The C code/string/comment labeller (src/data/c-labels.ts) on tricky snippets, the
// CoNLL writer/reader, and scripts/c-tags.mjs end to end on a small file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelC, lineTokens, taggedLines } from '../src/data/c-labels.js';
import { formatConll, parseConll } from '../src/data/datasets.js';
import { UserError } from '../src/core/errors.js';
import { ROOT } from './cli-helpers.js';

type Span = [tag: 'c' | 's' | 'm', text: string];

/** Labels as one letter per character: c = code, s = string, m = comment. */
const letters = (src: string) => [...labelC(src)].map((t) => 'csm'[t]).join('');

/** Check the labeller on source built from spans, each with its expected tag. */
function check(...spans: Span[]): void {
  const src = spans.map(([, t]) => t).join('');
  const want = spans.map(([tag, t]) => tag.repeat(t.length)).join('');
  assert.equal(letters(src), want, JSON.stringify(src));
}

test('escaped quotes and backslashes stay inside the string', () => {
  check(['c', 'p = '], ['s', '"say \\"hi\\""'], ['c', '; q = '], ['s', '"\\\\"'], ['c', ';']);
  check(['c', 'x('], ['s', '"a\\\\"'], ['c', ', b)']); // "a\\" ends at the second quote
});

test('comment openers inside strings are string', () => {
  check(['c', 'url = '], ['s', '"http://x/*y*/"'], ['c', '; '], ['m', '// real']);
  check(['s', '"/*"'], ['c', ' a '], ['s', '"*/"']);
});

test('quotes inside comments are comment', () => {
  check(['m', '// don\'t "quote"'], ['c', '\nint a;']);
  check(['m', '/* it\'s a "test" */'], ['c', ' b = '], ['s', '\'x\''], ['c', ';']);
});

test('character literals, including a double quote and an escaped single quote', () => {
  check(['c', 'c == '], ['s', '\'"\''], ['c', ' || c == '], ['s', "'\\''"], ['c', ' || c == '], ['s', "'\\\\'"], ['c', ';']);
  check(['c', 'f('], ['s', "'\\n'"], ['c', ', '], ['s', '"\'"'], ['c', ');']);
});

test('a block comment spans lines, its newlines and delimiters included', () => {
  check(['c', 'a;\n  '], ['m', '/* one\n * two // not a line comment\n */'], ['c', '\nb;']);
  check(['m', '/**/'], ['c', 'x'], ['m', '/***/'], ['c', '/ '], ['m', '/* unterminated\nat end of file']);
  check(['c', 'a '], ['m', '/***/'], ['m', '// after a comment, // is a line comment']);
  const lines = taggedLines('int x; /* a\nb */ y;\n\nz;\n');
  assert.deepEqual(lines.map((l) => l.text), ['int x; /* a', 'b */ y;', '', 'z;']);
  assert.deepEqual(lineTokens(lines[1]!).tags, ['comment', 'comment', 'comment', 'comment', 'code', 'code', 'code']);
});

test('a backslash-newline continues a string and a line comment', () => {
  check(['c', 'puts('], ['s', '"one \\\ntwo"'], ['c', ');\n']);
  check(['m', '// one \\\n two'], ['c', '\nthree']);
  check(['c', 'a = '], ['s', '"x\\\r\ny"'], ['c', ';']);
});

test('preprocessor lines are code except their comments and strings', () => {
  check(['c', '#include <linux/x//y.h>'], ['c', ' '], ['m', '/* why */'], ['c', '\n']);
  check(['c', '  # include_next <a\'b.h>\n#define S '], ['s', '"s"'], ['c', ' '], ['m', '// c']);
  check(['c', '#include '], ['s', '"local.h"'], ['c', '\n#if A < B'], ['m', '// x'], ['c', '\n']);
  check(['c', 'a < b; # '], ['c', 'x'], ['m', '/* ok */']);
});

test('an unterminated quote stops at the end of its line', () => {
  check(['c', '#error '], ['s', "'t work"], ['c', '\nint '], ['s', '"open'], ['c', '\nok;']);
});

test('CoNLL rows keep tab and space characters; the reader splits at the last tab', () => {
  const seqs = taggedLines('\tint a = \'\t\'; // x\t\n\n  "s"\n').map(lineTokens);
  const text = formatConll(seqs);
  assert.ok(text.startsWith('\t\tcode\ni\tcode\n'), JSON.stringify(text.slice(0, 20)));
  assert.ok(text.includes("'\tstring\n\t\tstring\n'\tstring\n"));
  assert.ok(text.includes('\t\tcomment\n\n \tcode\n \tcode\n"\tstring\n'), 'empty line skipped, one blank between');
  assert.ok(text.endsWith('"\tstring\n') && !text.endsWith('\n\n'));
  const back = parseConll(text, 'text');
  assert.equal(back.length, 2, 'the empty line is not a sequence');
  assert.deepEqual(back.map(({ tokens, tags }) => ({ tokens, tags })), seqs.filter((s) => s.tokens.length > 0));
  assert.equal(formatConll([]), '');
  assert.throws(() => parseConll('a\tcode\nbad row\n', 'f.tsv'), (e: unknown) =>
    e instanceof UserError && /^f\.tsv:2: no tab/.test(e.message));
});

test('characters outside the BMP are one token', () => {
  const [line] = taggedLines('x = "🙂";').map(lineTokens);
  assert.deepEqual(line!.tokens, ['x', ' ', '=', ' ', '"', '🙂', '"', ';']);
  assert.equal(line!.tags[5], 'string');
});

// ---- scripts/c-tags.mjs ----

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-ctags-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function script(args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'scripts', 'c-tags.mjs'), ...args], { encoding: 'utf8', timeout: 60_000 });
}

test('c-tags.mjs splits 90/5/5 by line, skips empty lines and reports the baseline', async () => {
  // 40 lines: 36 train, 2 val, 2 test; line 38 is inside a block comment that opens in val.
  const lines = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? `x${i} = "a";` : i % 3 === 1 ? '' : `y; // c${i}`));
  lines[37] = 'q /* open';
  lines[38] = 'still comment */ z;';
  lines[39] = "'a'";
  const src = join(dir, 'in.c');
  await writeFile(src, `${lines.join('\n')}\n`);
  const out = join(dir, 'out');
  const r = script([src, '--out', out, '--baseline']);
  assert.equal(r.status, 0, r.stderr);
  const read = async (f: string) => parseConll(await readFile(join(out, f), 'utf8'), f);
  const [train, val, test] = [await read('train.tsv'), await read('val.tsv'), await read('test.tsv')];
  assert.equal(train.length, 24, '36 lines minus 12 empty');
  assert.deepEqual(val.map((s) => s.tokens.join('')), ['x36 = "a";', 'q /* open']);
  assert.deepEqual(test.map((s) => s.tokens.join('')), ['still comment */ z;', "'a'"]);
  assert.deepEqual(test[0]!.tags.slice(0, 17), [...new Array(16).fill('comment'), 'code'], 'the comment opened in val');
  assert.deepEqual(test[1]!.tags, ['string', 'string', 'string']);
  assert.match(r.stdout, /test: 2 sequences, 22 chars/);
  // Right: 'c' and '/' (comment in train's "// cN"), 'a' (string in train's "a"), the
  // last ' ', 'z', ';' (code: unseen chars fall back to code, train's majority).
  assert.match(r.stdout, /baseline \(current character only\): test accuracy 27\.27% \(6\/22\); always "code": 13\.64%/);

  const quick = script([src, '--out', join(dir, 'quick'), '--max-lines', '3']);
  assert.equal(quick.status, 0, quick.stderr);
  assert.equal(parseConll(await readFile(join(dir, 'quick', 'train.tsv'), 'utf8'), 'train.tsv').length, 3);

  const bad = script([join(dir, 'missing.c')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /missing\.c: no such file/);
});
