import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBinaryFile, readTextFile, writeFileAtomic } from '../src/node/files.js';
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
  await expectUserError(readTextFile(nul), `${nul}: not a UTF-8 text file (binary?)`);
  const latin1 = join(dir, 'latin1.txt');
  await writeFile(latin1, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
  await expectUserError(readTextFile(latin1), `${latin1}: not a UTF-8 text file (binary?)`);
  const utf16 = join(dir, 'utf16.txt');
  await writeFile(utf16, Buffer.from('\uFEFFhello', 'utf16le'));
  await expectUserError(readTextFile(utf16), /not a UTF-8 text file/);

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
