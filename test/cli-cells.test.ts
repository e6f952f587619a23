// End to end: `rnnkit cells` through the compiled CLI, on a tiny freshly trained model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Classifier } from '../src/models/classifier.js';
import { encodeClassifier } from '../src/models/classifier-checkpoint.js';
import { Rng } from '../src/core/rng.js';
import { cliRunner, assertUserError, ROOT, TINY } from './cli-helpers.js';

const run = cliRunner(() => dir);
let dir = '', held = '';
const CKPT = 'model/latest.safetensors';
const C_CODE = 'int f(int a) {\n\tif (a > 1) {\n\t\treturn g("x\\"y", a); // done\n\t}\n\t/* no */\n\treturn 0;\n}\n';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-cli-cells-'));
  const all = await readFile(join(ROOT, 'data', 'tinyshakespeare.txt'), 'utf8');
  await writeFile(join(dir, 't.txt'), all.slice(0, 6000) + C_CODE);
  // held-out text: the next 3,000 characters, less any the training part lacks
  const known = new Set(all.slice(0, 6000) + C_CODE);
  held = [...all.slice(6000, 9000)].filter((c) => known.has(c)).join('');
  await writeFile(join(dir, 'held.txt'), held);
  const r = await run(['train', 't.txt', ...TINY, '--steps', '20', '--eval-every', '20', '--quiet', '--out', 'model']);
  assert.equal(r.code, 0, r.stderr);
  const cls = new Classifier({ vocab_size: 6, embedding_size: 4, hidden_size: 8, num_classes: 2 }).init(new Rng(1));
  await writeFile(join(dir, 'cls.safetensors'), encodeClassifier({ model: cls, labels: ['a', 'b'], vocab: null, tokenizer: null }));
  await writeFile(join(dir, 'empty.txt'), '');
  await writeFile(join(dir, 'binary.txt'), Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]));
  await writeFile(join(dir, 'accents.txt'), 'Café Ωmega\n');
  await writeFile(join(dir, 'c.txt'), C_CODE);
  await writeFile(join(dir, 'nums3.txt'), '1 2 3\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('cells writes the page and prints the best cells per signal', async () => {
  const r = await run(['cells', CKPT, 'held.txt', '-o', 'out/page.html', '--max-chars', '500', '--regex', 'speaker=^[A-Z][A-Za-z ]*:$', '--top', '2']);
  assert.equal(r.code, 0, r.stderr);
  const n = held.length.toLocaleString('en');
  assert.match(r.stderr, new RegExp(`^wrote out/page.html \\(\\d+\\.\\d MB, 500 of ${n} characters shown\\)`, 'm'));
  assert.match(r.stdout, new RegExp(`^held.txt: ${n} characters,`));
  assert.match(r.stdout, /^held.txt: [\d,]+ characters, loss \d+\.\d{4} nats\/char; best cells per signal/);
  assert.match(r.stdout, /\n {2}speaker +L[12] (h|tanh_c) \d+ [+-]\d\.\d{3} {3}L[12] /);
  assert.match(r.stdout, /\n {2}quote +\(constant signal\)/);
  const html = await readFile(join(dir, 'out/page.html'), 'utf8');
  assert.match(html, /<title>rnnkit cells: held.txt \(model\/latest.safetensors\)<\/title>/);
  assert.ok(html.includes(`showing characters 0-500 of ${n}`));
  assert.deepEqual((await readdir(join(dir, 'out'))), ['page.html'], 'no temp file left behind');
});

test('cells --json: the search as JSON, with user number signals and views', async () => {
  const n = [...C_CODE].length;
  await writeFile(join(dir, 'nums.txt'), Array.from({ length: n }, (_, i) => i % 3).join('\n'));
  const r = await run(['cells', CKPT, 'c.txt', '--json', '--signal', 'mod3=nums.txt', '--builtins', 'quote,comment', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const j = JSON.parse(r.stdout);
  assert.equal(j.chars, n);
  assert.equal(j.page, 'cells.html');
  assert.deepEqual(j.signals.map((s: { name: string }) => s.name), ['quote', 'comment', 'mod3']);
  const best = j.signals[0].best[0];
  assert.equal(best.view, `#L${best.layer + 1}-${best.quantity}-${best.cell}`);
  assert.ok(Math.abs(best.r) > 0 && Math.abs(best.r) <= 1);
  assert.deepEqual(j.gates.map((g: { gate: string }) => g.gate), ['input', 'forget', 'output']);
  assert.ok((await readFile(join(dir, 'cells.html'), 'utf8')).includes('id="cells-data"'));
});

test('cells --skip-unknown leaves out characters the model does not know', async () => {
  const r = await run(['cells', CKPT, 'accents.txt', '--skip-unknown', '--json', '-o', 'acc.html', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.skipped, 2); assert.equal(j.chars, 9);
});

test('cells: bad input is a one-line error, exit 1, and nothing is written', async () => {
  const cases: [string, string[], RegExp][] = [
    ['missing text file', ['cells', CKPT, 'nope.txt'], /nope.txt: no such file/],
    ['empty text file', ['cells', CKPT, 'empty.txt'], /empty.txt: file is empty/],
    ['binary text file', ['cells', CKPT, 'binary.txt'], /binary.txt: NUL byte at line 1 .*not a text file/],
    ['not a char LM', ['cells', 'cls.safetensors', 'c.txt'], /is a classifier checkpoint, not a character language model/],
    ['unknown characters', ['cells', CKPT, 'accents.txt'], /accents.txt has 2 character\(s\) not in the model's vocabulary: "é" "Ω" \(--skip-unknown leaves them out\)/],
    ['bad regex', ['cells', CKPT, 'c.txt', '--regex', 'bad=(x'], /signal 'bad': bad regular expression/],
    ['regex without a name', ['cells', CKPT, 'c.txt', '--regex', '^x'], /--regex needs NAME=RE, got '\^x'/],
    ['number file of the wrong length', ['cells', CKPT, 'c.txt', '--signal', 'n=nums3.txt'], /signal 'n': has 3 numbers, the text has \d+ characters/],
    ['missing number file', ['cells', CKPT, 'c.txt', '--signal', 'n=none.txt'], /none.txt: no such file/],
    ['unknown built-in', ['cells', CKPT, 'c.txt', '--builtins', 'quote,depth'], /unknown signal\(s\) depth/],
    ['start past the end', ['cells', CKPT, 'c.txt', '--start', '5000'], /--start 5000 is past the text's end/],
    ['bad --max-chars', ['cells', CKPT, 'c.txt', '--max-chars', '0'], /--max-chars must be at least 1/],
    ['missing argument', ['cells', CKPT], /cells: expected <checkpoint> <text-file>, got 1/],
  ];
  for (const [what, args, pattern] of cases) {
    const r = await run([...args, '-o', 'bad/page.html']);
    assertUserError(r, pattern);
    assert.ok(!(await readdir(dir)).includes('bad'), `${what}: nothing written`);
  }
});

test('cells --help lists the signals and options', async () => {
  const r = await run(['cells', '--help']);
  assert.equal(r.code, 0);
  for (const s of ['-o, --out FILE', '--max-chars N', '--regex NAME=RE', '--signal NAME=FILE', '--skip-unknown', 'if_condition', 'line_position']) assert.ok(r.stdout.includes(s), s);
});
