import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { symlink, truncate } from 'node:fs/promises';
import { decodeText, firstInvalidUtf8, readBinaryFile, readError, readTextFile, writeFileAtomic } from '../src/node/files.js';
import { UserError } from '../src/core/errors.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-files-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tempFiles(d: string): Promise<string[]> {
  return (await readdir(d)).filter((f) => f.endsWith('.tmp'));
}

async function expectUserError(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof UserError, `not a UserError: ${String(err)}`);
    assert.equal(err.name, 'UserError');
    assert.ok(!/[\r\n]/.test(err.message), 'one line');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test('writeFileAtomic writes, overwrites and creates parent directories', async () => {
  const d = join(dir, 'atomic', 'nested');
  const path = join(d, 'out.json');
  await writeFileAtomic(path, '{"é":"🙂"}\n');
  assert.equal(await readFile(path, 'utf8'), '{"é":"🙂"}\n');
  const bytes = new Uint8Array([0, 1, 2, 255]);
  await writeFileAtomic(path, bytes.subarray(1));
  assert.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array([1, 2, 255]));
  assert.deepEqual(await readdir(d), ['out.json'], 'no temp files left');
});

test('writeFileAtomic failure leaves the original alone and no temp files', async () => {
  const d = join(dir, 'atomic-fail');
  await mkdir(d);
  const file = join(d, 'model.safetensors');
  await writeFile(file, 'original');

  // Parent "directory" is a file: fails before anything is written.
  await assert.rejects(writeFileAtomic(join(file, 'child'), 'new'));
  assert.equal(await readFile(file, 'utf8'), 'original');

  // Target is a non-empty directory: the temp file is written, then the rename fails.
  const target = join(d, 'occupied');
  await mkdir(target);
  await writeFile(join(target, 'keep'), 'x');
  await assert.rejects(writeFileAtomic(target, 'new'));
  assert.deepEqual(await readdir(target), ['keep']);
  assert.deepEqual(await tempFiles(d), []);
  assert.deepEqual((await readdir(d)).sort(), ['model.safetensors', 'occupied']);
});

test('readTextFile reads UTF-8 and strips a BOM', async () => {
  const path = join(dir, 'bom.txt');
  await writeFile(path, '\uFEFFcafé 🙂\nline2\n');
  assert.equal(await readTextFile(path), 'café 🙂\nline2\n');
  const plain = join(dir, 'plain.txt');
  await writeFile(plain, 'To be, or not to be');
  assert.equal(await readTextFile(plain, 'training text'), 'To be, or not to be');
});

test('readTextFile one-line errors', async () => {
  const missing = join(dir, 'nope.txt');
  await expectUserError(readTextFile(missing), `${missing}: no such file`);
  await expectUserError(readTextFile(join(dir, 'nope', 'x.txt')), /: no such file$/);

  const empty = join(dir, 'empty.txt');
  await writeFile(empty, '');
  await expectUserError(readTextFile(empty), `${empty}: file is empty`);
  const bomOnly = join(dir, 'bom-only.txt');
  await writeFile(bomOnly, '\uFEFF');
  await expectUserError(readTextFile(bomOnly), `${bomOnly}: file is empty`);

  const nul = join(dir, 'nul.bin');
  await writeFile(nul, new Uint8Array([0x68, 0x69, 0x00, 0x21]));
  await expectUserError(readTextFile(nul), `${nul}: NUL byte at line 1 (byte offset 2): not a text file (binary, or UTF-16? rnnkit reads UTF-8)`);
  const latin1 = join(dir, 'latin1.txt');
  await writeFile(latin1, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
  await expectUserError(readTextFile(latin1), `${latin1}: not valid UTF-8 at line 1 (byte offset 3, 0xe9); rnnkit reads UTF-8 text (convert it first, e.g. iconv -f latin1 -t utf-8)`);
  const utf16 = join(dir, 'utf16.txt');
  await writeFile(utf16, Buffer.from('\uFEFFhello', 'utf16le'));
  await expectUserError(readTextFile(utf16), /: NUL byte at line 1 \(byte offset 3\): not a text file \(binary, or UTF-16\?/);

  await expectUserError(readTextFile(dir, 'training text'), `${dir}: is a directory, not a training text`);
});

test('readTextFile permission denied', { skip: process.getuid?.() === 0 || process.platform === 'win32' }, async () => {
  const path = join(dir, 'secret.txt');
  await writeFile(path, 'secret');
  await chmod(path, 0o000);
  try {
    await expectUserError(readTextFile(path), `${path}: permission denied`);
    await expectUserError(readBinaryFile(path), `${path}: permission denied`);
  } finally {
    await chmod(path, 0o600);
  }
});

test('readBinaryFile reads bytes with one-line errors', async () => {
  const path = join(dir, 'data.bin');
  await writeFile(path, new Uint8Array([0, 255, 7]));
  const got = await readBinaryFile(path);
  assert.ok(got instanceof Uint8Array);
  assert.deepEqual([...got], [0, 255, 7]);
  const empty = join(dir, 'empty.bin');
  await writeFile(empty, '');
  assert.equal((await readBinaryFile(empty)).length, 0);
  await expectUserError(readBinaryFile(join(dir, 'missing.bin')), /missing\.bin: no such file$/);
  await expectUserError(readBinaryFile(dir), /: is a directory/);
});

test('decodeText: BOM dropped, CRLF read as LF, a lone CR kept, NUL and bad UTF-8 located', () => {
  const b = (...x: number[]) => new Uint8Array(x);
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(decodeText(enc('\uFEFFa\r\nb\rc\r\n'), 's'), 'a\nb\rc\n');
  assert.equal(decodeText(enc('x\uFEFFy'), 's'), 'x\uFEFFy', 'only a leading BOM is dropped');
  assert.equal(decodeText(b(), 's'), '');
  assert.throws(() => decodeText(enc('ab\ncd\n\0'), 'f.txt'), { message: 'f.txt: NUL byte at line 3 (byte offset 6): not a text file (binary, or UTF-16? rnnkit reads UTF-8)' });
  assert.throws(() => decodeText(b(0x61, 0x0a, 0x62, 0xc3), 'f.txt'), { message: /^f\.txt: not valid UTF-8 at line 2 \(byte offset 3, 0xc3\)/ });
});

test('firstInvalidUtf8 agrees with the WHATWG decoder on every 1-3 byte sequence and some 4-byte ones', () => {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const valid = (a: Uint8Array) => { try { fatal.decode(a); return true; } catch { return false; } };
  const check = (a: Uint8Array) => assert.equal(firstInvalidUtf8(a) < 0, valid(a), `[${[...a].map((x) => x.toString(16))}]`);
  for (let x = 0; x < 256; x++) {
    check(new Uint8Array([x]));
    for (let y = 0; y < 256; y++) {
      check(new Uint8Array([x, y]));
      if (x >= 0xe0 && x <= 0xf4) for (const z of [0x00, 0x7f, 0x80, 0xbf, 0xc0]) check(new Uint8Array([x, y, z]));
    }
  }
  for (const a of [[0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x9f, 0x99, 0x82]]) check(new Uint8Array(a));
  assert.equal(firstInvalidUtf8(new TextEncoder().encode('café ') .slice(0, 4)), 3, 'a sequence cut at the end');
});

test('readTextFile and readBinaryFile refuse a FIFO at once instead of blocking', { skip: process.platform === 'win32' }, async () => {
  const fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  await expectUserError(readTextFile(fifo), `${fifo}: is a FIFO (named pipe), not a regular file (rnnkit reads a text file whole: save it to a file first)`);
  await expectUserError(readBinaryFile(fifo), /: is a FIFO \(named pipe\), not a regular file/);
  await expectUserError(readTextFile('/dev/null'), '/dev/null: is a character device, not a regular file (rnnkit reads a text file whole: save it to a file first)');
});

test('an unreadable path: a symbolic link loop, a file too large, and the error mapping for permission denied', async () => {
  const loop = join(dir, 'loop.txt');
  await symlink(loop, loop);
  await expectUserError(readTextFile(loop), `${loop}: cannot read (too many symbolic links: a link loop?)`);
  const big = join(dir, 'big.txt');
  await writeFile(big, '');
  await truncate(big, 2 ** 31 + 8); // sparse: nothing is written
  await expectUserError(readTextFile(big), `${big}: file too large to read (over 2 GiB)`);
  await rm(big);
  // tests run as root, where chmod 000 does not stop a read (the test above is skipped there): the mapping alone
  const eacces = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  assert.equal(readError('x.txt', eacces, 'text file').message, 'x.txt: permission denied');
  assert.equal(readError('x.txt', Object.assign(new Error('EIO'), { code: 'EIO' }), 'text file').message, 'x.txt: cannot read (EIO)');
});
