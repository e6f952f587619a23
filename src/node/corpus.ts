// A character corpus read from a file in fixed-size chunks, never as one string: pass 1
// decodes it (the rules and errors of readTextFile / decodeText) and collects its
// characters, pass 2 decodes it again into compact token ids. Memory: the ids (1, 2 or 4
// bytes per character, src/data/token-ids.ts) plus a chunk and its code points.
import type { FileHandle } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { Vocab } from '../data/vocab.js';
import { MAX_TOKEN_IDS, tokenIdArray, type TokenIds } from '../data/token-ids.js';
import { Utf8Chunks } from '../io/utf8-chunks.js';
import { invalidUtf8Error, nulByteError, openUserFile, readError } from './files.js';

export type CorpusPass = 'vocabulary' | 'encoding';

export interface CorpusOptions {
  what?: string;          // what the file is, for errors ('text file')
  chunkBytes?: number;    // bytes per read (default 4 MiB)
  /** Called after every chunk read, with the bytes done and the file's size. */
  onProgress?: (pass: CorpusPass, done: number, total: number) => void;
}

export interface Corpus {
  vocab: Vocab;   // the sorted characters of the file (what Vocab.fromText gives for its text)
  ids: TokenIds;  // every character's id
  bytes: number;  // the file's size
}

// RNNKIT_READ_CHUNK_BYTES overrides the default: the tests read through the CLI in tiny chunks
export const DEFAULT_CHUNK_BYTES = Number(process.env['RNNKIT_READ_CHUNK_BYTES']) || 4 << 20;
const CODE_POINTS = 0x110000;

/** Reads a UTF-8 text file as token ids under the vocabulary of its own characters. */
export async function readCorpus(path: string, o: CorpusOptions = {}): Promise<Corpus> {
  const what = o.what ?? 'text file', chunkBytes = Math.max(1, Math.floor(o.chunkBytes ?? DEFAULT_CHUNK_BYTES));
  const { fh, size } = await openUserFile(path, what);
  try {
    const buf = new Uint8Array(Math.min(chunkBytes, Math.max(size, 1))), cps = new Uint32Array(buf.length + 1);
    // index[cp]: 1 + the character's id once the vocabulary is known; in pass 1, 1 = seen
    const index = new Int32Array(CODE_POINTS), seen: number[] = [];
    let count = 0;
    await decodeFile(fh, path, buf, cps, (n) => {
      for (let k = 0; k < n; k++) {
        const cp = cps[k]!;
        if (index[cp] === 0) { index[cp] = 1; seen.push(cp); }
      }
      count += n;
    }, o.onProgress && ((done) => o.onProgress!('vocabulary', done, size)));
    if (count === 0) throw new UserError(`${path}: file is empty`);
    if (count > MAX_TOKEN_IDS) throw new UserError(`${path}: ${count.toLocaleString('en')} characters; rnnkit holds at most ${MAX_TOKEN_IDS.toLocaleString('en')} (split the file)`);
    seen.sort((a, b) => a - b);
    seen.forEach((cp, id) => { index[cp] = id + 1; });
    const vocab = new Vocab(seen.map((cp) => String.fromCodePoint(cp))), ids = allocate(vocab.size, count, path);
    let pos = 0, changed = false;
    await decodeFile(fh, path, buf, cps, (n) => {
      if (changed || pos + n > count) { changed = true; return; }
      let bad = 0;
      for (let k = 0, p = pos; k < n; k++, p++) {
        const id = index[cps[k]!]! - 1;
        bad |= id;
        ids[p] = id;
      }
      pos += n;
      if (bad < 0) changed = true; // a character pass 1 did not see
    }, o.onProgress && ((done) => o.onProgress!('encoding', done, size)));
    if (changed || pos !== count) throw new UserError(`${path}: the file changed while it was read; try again once nothing writes to it`);
    return { vocab, ids, bytes: size };
  } finally {
    await fh.close().catch(() => {});
  }
}

function allocate(vocabSize: number, count: number, path: string): TokenIds {
  try {
    return tokenIdArray(vocabSize, count);
  } catch (e) {
    if (e instanceof RangeError) throw new UserError(`${path}: not enough memory for its ${count.toLocaleString('en')} characters' ids`, { cause: e });
    throw e;
  }
}

/**
 * Decodes the whole file chunk by chunk, handing each chunk's code points (cps[0..n)) to
 * sink; a NUL byte or invalid UTF-8 is decodeText's error, with the line and offset in
 * the whole file.
 */
async function decodeFile(fh: FileHandle, path: string, buf: Uint8Array, cps: Uint32Array, sink: (n: number) => void, progress?: (done: number) => void): Promise<void> {
  const dec = new Utf8Chunks();
  for (;;) {
    const got = await readAt(fh, path, buf, dec.offset);
    if (got === 0) break;
    const n = dec.push(got === buf.length ? buf : buf.subarray(0, got), cps);
    if (dec.nul >= 0) break; // reported whatever else follows
    if (!dec.failed) sink(n);
    progress?.(dec.offset);
  }
  const n = dec.finish(cps);
  if (dec.nul >= 0) throw nulByteError(path, await lineAt(fh, path, buf, dec.nul), dec.nul);
  if (dec.invalid >= 0) throw invalidUtf8Error(path, await lineAt(fh, path, buf, dec.invalid), dec.invalid, dec.invalidByte);
  sink(n);
}

async function readAt(fh: FileHandle, path: string, buf: Uint8Array, position: number): Promise<number> {
  try {
    return (await fh.read(buf, 0, buf.length, position)).bytesRead;
  } catch (err) {
    throw readError(path, err, 'text file');
  }
}

/** The line (1-based) of the byte at offset: one more than the LF bytes before it. */
async function lineAt(fh: FileHandle, path: string, buf: Uint8Array, offset: number): Promise<number> {
  let line = 1;
  for (let pos = 0; pos < offset;) {
    const got = await readAt(fh, path, buf, pos), end = Math.min(got, offset - pos);
    if (got === 0) break;
    for (let i = buf.indexOf(0x0a); i >= 0 && i < end; i = buf.indexOf(0x0a, i + 1)) line++;
    pos += got;
  }
  return line;
}
