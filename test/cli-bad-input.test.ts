// Bad text input through the compiled CLI, for every command that reads text
// (docs/reliability.md has the table): a BOM and CRLF line ends are read as documented;
// invalid UTF-8, NUL bytes, a directory, a FIFO, a link loop, a missing or empty file
// are one-line errors that name the file (and where in it), and nothing hangs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertUserError, cliRunner, CLI, TINY } from './cli-helpers.js';
import { seedCheckpoints } from './checkpoint-fuzz.js';

let dir = '';
const run = cliRunner(() => dir);
const p = (f: string) => join(dir, f);
const fifoOk = process.platform !== 'win32';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnnkit-bad-input-'));
  const lines = Array.from({ length: 120 }, (_, i) => `line ${i} of a small text`);
  writeFileSync(p('crlf-bom.txt'), '\uFEFF' + lines.join('\r\n') + '\r\n');
  writeFileSync(p('lf.txt'), lines.join('\n') + '\n');
  writeFileSync(p('crlf-bom.tsv'), '\uFEFF' + Array.from({ length: 60 }, (_, i) => `${i % 2 ? 'pos' : 'neg'}\t${i % 2 ? 'good' : 'bad'} film ${i % 5}`).join('\r\n') + '\r\n');
  writeFileSync(p('bad-utf8.txt'), Buffer.concat([Buffer.from('pos\tfine\npos\tcaf'), Buffer.from([0xe9]), Buffer.from(' noir\n')]));
  writeFileSync(p('nul.txt'), Buffer.from('pos\tfine\n\0\0\0\n'));
  writeFileSync(p('empty.txt'), '');
  mkdirSync(p('adir'));
  symlinkSync(p('loop.txt'), p('loop.txt'));
  if (fifoOk) execFileSync('mkfifo', [p('fifo.txt')]);
  const seeds = seedCheckpoints(), seed = (prefix: string) => seeds.find((s) => s.name.startsWith(prefix))!.bytes;
  writeFileSync(p('lm.safetensors'), seed('charlm rnn_tanh'));
  writeFileSync(p('cls.safetensors'), seed('classifier tokens'));
  writeFileSync(p('tagger.safetensors'), seed('tagger'));
  writeFileSync(p('s2s.safetensors'), seed('seq2seq luong'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

// every command that reads a text file, with the file as its last argument
const READERS: [string, string[]][] = [
  ['train', ['train', '--out', 'never', ...TINY, '--steps', '1']],
  ['eval', ['eval', 'lm.safetensors']],
  ['classify train', ['classify', 'train', '--out', 'never']],
  ['classify eval', ['classify', 'eval', 'cls.safetensors']],
  ['tag train', ['tag', 'train', '--out', 'never']],
  ['tag eval', ['tag', 'eval', 'tagger.safetensors']],
  ['translate train', ['translate', 'train', '--out', 'never']],
  ['translate eval', ['translate', 'eval', 's2s.safetensors']],
];

const BAD: [string, string, RegExp, boolean][] = [
  ['invalid UTF-8', 'bad-utf8.txt', /^rnnkit: bad-utf8\.txt: not valid UTF-8 at line 2 \(byte offset 16, 0xe9\); rnnkit reads UTF-8 text/, true],
  ['NUL bytes', 'nul.txt', /^rnnkit: nul\.txt: NUL byte at line 2 \(byte offset 9\): not a text file \(binary, or UTF-16\? rnnkit reads UTF-8\)\n$/, true],
  ['a FIFO', 'fifo.txt', /^rnnkit: fifo\.txt: is a FIFO \(named pipe\), not a regular file \(rnnkit reads a [^)]+ whole: save it to a file first\)\n$/, fifoOk],
  ['a directory', 'adir', /^rnnkit: adir: is a directory, not a [a-z ]+\n$/, true],
  ['a symbolic link loop', 'loop.txt', /^rnnkit: loop\.txt: cannot read \(too many symbolic links: a link loop\?\)\n$/, true],
  ['a missing file', 'missing.txt', /^rnnkit: missing\.txt: no such file\n$/, true],
  ['an empty file', 'empty.txt', /^rnnkit: empty\.txt: file is empty\n$/, true],
];

for (const [command, args] of READERS) {
  for (const [what, file, pattern, ok] of BAD) {
    // the full set for one reader of each format; the rest get the two that need the new checks
    const all = command === 'train' || command === 'classify train';
    if (!all && !['invalid UTF-8', 'a FIFO'].includes(what)) continue;
    test(`${command}: ${what}`, { skip: !ok }, async () => {
      const t0 = Date.now();
      assertUserError(await run([...args, file], { timeoutMs: 20_000 }), pattern);
      assert.ok(Date.now() - t0 < 15_000, 'answered without waiting on the input');
    });
  }
}

test('train reads a BOM and CRLF line ends as documented: the model is the one its LF copy gives', async () => {
  for (const f of ['crlf-bom.txt', 'lf.txt']) {
    const r = await run(['train', f, ...TINY, '--steps', '2', '--quiet', '--out', f.replace('.txt', '')]);
    assert.equal(r.code, 0, r.stderr);
  }
  const info = (f: string) => JSON.parse(spawnSync(process.execPath, [CLI, 'info', '--json', p(f)], { encoding: 'utf8' }).stdout) as { vocabulary: number; parameters: number };
  const [crlf, lf] = [info('crlf-bom/latest.safetensors'), info('lf/latest.safetensors')];
  assert.equal(crlf.vocabulary, lf.vocabulary, 'no \\r and no BOM in the vocabulary');
  const ev = (f: string) => spawnSync(process.execPath, [CLI, 'eval', p('lf/latest.safetensors'), p(f)], { encoding: 'utf8' });
  const [a, b] = [ev('crlf-bom.txt'), ev('lf.txt')];
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout.replaceAll('lf.txt', 'crlf-bom.txt'), 'the same loss on both copies');
});

test('classify reads a BOM and CRLF TSV: the first label has no BOM, no label or text ends in \\r', async () => {
  const r = await run(['classify', 'train', 'crlf-bom.tsv', '--epochs', '1', '--hidden', '8', '--embedding', '4', '--quiet', '--out', 'cls-crlf']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(spawnSync(process.execPath, [CLI, 'info', '--json', p('cls-crlf/latest.safetensors')], { encoding: 'utf8' }).stdout) as { labels: string[] };
  assert.deepEqual(info.labels.sort(), ['neg', 'pos']);
});

test('predict on standard input: decoded as files are (invalid UTF-8 is an error naming standard input; a BOM is dropped)', () => {
  const bad = spawnSync(process.execPath, [CLI, 'classify', 'predict', 'cls.safetensors'], { cwd: dir, input: Buffer.from([0x61, 0x0a, 0xff, 0x0a]), encoding: 'utf8' });
  assertUserError({ code: bad.status, signal: null, stdout: bad.stdout, stderr: bad.stderr }, /^rnnkit: standard input: not valid UTF-8 at line 2 \(byte offset 2, 0xff\)/);
  const bom = spawnSync(process.execPath, [CLI, 'classify', 'predict', 'cls.safetensors', '--json'], { cwd: dir, input: '\uFEFFa b\r\nc\r\n', encoding: 'utf8' });
  assert.equal(bom.status, 0, bom.stderr);
  const texts = bom.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
  assert.deepEqual(texts, ['a b', 'c']);
});
