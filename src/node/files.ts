// Node-only file helpers: crash-safe writes and user-friendly reads.

import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../core/errors.js';

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/** The temp file writeFileAtomic writes `path` through: `<path>.<pid>.<12 hex digits>.tmp`. */
function tempPathFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** The pid in the name of a temp file of writeFileAtomic's for `base` (a file name), or null when `name` is not one. */
export function tempFileOwner(name: string, base: string): number | null {
  if (!name.startsWith(`${base}.`)) return null;
  const m = /^\.(\d{1,10})\.[0-9a-f]{12}\.tmp$/.exec(name.slice(base.length));
  return m ? Number(m[1]) : null;
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
  const tmp = tempPathFor(path);
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

/** A one-line UserError for a failed read, by error code; codes not listed keep their name. */
export function readError(path: string, err: unknown, what: string): UserError {
  const code = errCode(err);
  const why: Record<string, string> = {
    ENOENT: 'no such file', ENOTDIR: 'no such file', EISDIR: `is a directory, not a ${what}`, EACCES: 'permission denied', EPERM: 'permission denied',
    ELOOP: 'cannot read (too many symbolic links: a link loop?)', ERR_FS_FILE_TOO_LARGE: 'file too large to read (over 2 GiB)',
  };
  return new UserError(`${path}: ${why[code ?? ''] ?? `cannot read (${code ?? (err instanceof Error ? err.message : String(err))})`}`, { cause: err });
}

function fileType(st: Stats): string {
  return st.isFIFO() ? 'FIFO (named pipe)' : st.isSocket() ? 'socket' : st.isCharacterDevice() ? 'character device' : st.isBlockDevice() ? 'block device' : 'special file';
}

/**
 * A regular file opened for reading, and its size. What is not one is refused before
 * reading, from fstat on the opened file: a directory, and a FIFO, socket or device,
 * whose reads could block forever or never end (opened non-blocking, so even opening a
 * FIFO without a writer returns at once).
 */
export async function openUserFile(path: string, what: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const st = await fh.stat();
    if (st.isDirectory()) throw new UserError(`${path}: is a directory, not a ${what}`);
    if (!st.isFile()) throw new UserError(`${path}: is a ${fileType(st)}, not a regular file (rnnkit reads a ${what} whole: save it to a file first)`);
    return { fh, size: st.size };
  } catch (err) {
    await fh?.close().catch(() => {});
    throw err instanceof UserError ? err : readError(path, err, what);
  }
}

/** The bytes of a regular file (openUserFile's checks). */
async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  const { fh } = await openUserFile(path, what);
  try {
    const buf = await fh.readFile();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    throw readError(path, err, what);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Byte offset of the first byte that does not start a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    // the second byte's range excludes overlong forms, surrogates and code points past U+10FFFF
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80, hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const x = b[i + k]!;
      if (k === 1 ? x < lo || x > hi : x < 0x80 || x > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

function lineOf(b: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (b[i] === 0x0a) line++;
  return line;
}

/**
 * Text as rnnkit reads it (docs/reliability.md): UTF-8, a leading byte order mark
 * dropped, CRLF line ends read as LF (a lone CR stays a character). A NUL byte or bytes
 * that are not UTF-8 are a one-line error naming where: such a file is binary, UTF-16
 * or in a legacy encoding, and guessing would train on garbage.
 */
export function decodeText(bytes: Uint8Array, source: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw nulByteError(source, lineOf(bytes, nul), nul);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    const at = firstInvalidUtf8(bytes);
    // valid UTF-8 that does not decode: more characters than a JS string holds (2^29 - 24)
    if (at < 0) throw new UserError(`${source}: too large to read as one text (${bytes.length.toLocaleString('en')} bytes); only rnnkit train streams a file this big`, { cause: err });
    throw invalidUtf8Error(source, lineOf(bytes, at), at, bytes[at]!);
  }
  return text.replace(/\r\n/g, '\n');
}

/** decodeText's errors (the streaming reader, src/node/corpus.ts, raises the same). */
export function nulByteError(source: string, line: number, offset: number): UserError {
  return new UserError(`${source}: NUL byte at line ${line} (byte offset ${offset}): not a text file (binary, or UTF-16? rnnkit reads UTF-8)`);
}

export function invalidUtf8Error(source: string, line: number, offset: number, byte: number): UserError {
  return new UserError(`${source}: not valid UTF-8 at line ${line} (byte offset ${offset}, 0x${byte.toString(16).padStart(2, '0')}); rnnkit reads UTF-8 text (convert it first, e.g. iconv -f latin1 -t utf-8)`);
}

/** Read a UTF-8 text file (training/eval corpus, labelled examples) as decodeText does; empty is an error. */
export async function readTextFile(path: string, what = 'text file'): Promise<string> {
  const text = decodeText(await readUserFile(path, what), path);
  if (text.length === 0) throw new UserError(`${path}: file is empty`);
  return text;
}

/** Read a whole file as bytes, with one-line errors for the common user mistakes. */
export async function readBinaryFile(path: string): Promise<Uint8Array> {
  return readUserFile(path, 'file');
}
