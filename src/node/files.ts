// Node-only file helpers: crash-safe writes and user-friendly reads.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../core/errors.js';

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/**
 * Write `data` so that `path` holds either the old or the new content, never a partial
 * file: write a temp file in the same directory (rename is only atomic within one
 * filesystem), fsync it, rename it over `path`, then fsync the directory so the rename
 * itself survives a crash. The new file gets default permissions, not the old file's.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (err) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    // Some platforms (Windows, some network filesystems) cannot open or fsync directories.
    const code = errCode(err);
    if (!['EINVAL', 'EISDIR', 'EPERM', 'EACCES', 'EBADF', 'ENOTSUP', 'ENOSYS'].includes(code ?? '')) throw err;
  } finally {
    await fh?.close().catch(() => {});
  }
}

async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  try {
    // readFile on a directory fails on Linux but not everywhere; check explicitly.
    if ((await stat(path)).isDirectory()) throw new UserError(`${path}: is a directory, not a ${what}`);
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    if (err instanceof UserError) throw err;
    switch (errCode(err)) {
      case 'ENOENT':
      case 'ENOTDIR':
        throw new UserError(`${path}: no such file`, { cause: err });
      case 'EISDIR':
        throw new UserError(`${path}: is a directory, not a ${what}`, { cause: err });
      case 'EACCES':
      case 'EPERM':
        throw new UserError(`${path}: permission denied`, { cause: err });
      default:
        throw err;
    }
  }
}

/** Read a UTF-8 text file (training/eval corpus). A leading BOM is stripped. */
export async function readTextFile(path: string, what = 'text file'): Promise<string> {
  const bytes = await readUserFile(path, what);
  if (bytes.length === 0) throw new UserError(`${path}: file is empty`);
  const binary = new UserError(`${path}: not a UTF-8 text file (binary?)`);
  // Valid UTF-8 may contain NUL, but a text corpus never does; catches UTF-16 and binaries.
  if (bytes.subarray(0, 65536).includes(0)) throw binary;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw binary;
  }
  if (text.length === 0) throw new UserError(`${path}: file is empty`);
  return text;
}

/** Read a whole file as bytes, with one-line errors for the common user mistakes. */
export async function readBinaryFile(path: string): Promise<Uint8Array> {
  return readUserFile(path, 'file');
}
