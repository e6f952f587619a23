// Node-only MNIST loader: finds `<set>-images-idx3-ubyte[.gz]` and
// `<set>-labels-idx1-ubyte[.gz]` in a directory, gunzips them (zlib is Node-only, hence
// this split from src/data/mnist.ts) and parses them with the browser-safe parsers.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../core/errors.js';
import { mnistSet, parseIdxImages, parseIdxLabels, type MnistSet } from '../data/mnist.js';
import { readBinaryFile } from './files.js';

export type MnistSplit = 'train10k' | 't10k';
const SPLITS: readonly string[] = ['train10k', 't10k'];

/** Decompressed size cap: the full 60k training set is 47 MB, so this only stops gzip bombs. */
export const MAX_IDX_BYTES = 256 * 1024 * 1024;

/** Prefer the .gz file (as shipped in data/mnist/), fall back to an uncompressed one. */
function findFile(dir: string, base: string): string {
  const gz = join(dir, `${base}.gz`);
  if (existsSync(gz)) return gz;
  const plain = join(dir, base);
  if (existsSync(plain)) return plain;
  throw new UserError(`${gz}: no such file (nor ${base} uncompressed)`);
}

/** The file's bytes, gunzipped when it is named .gz or starts with the gzip magic. */
export async function readIdxFile(path: string): Promise<Uint8Array> {
  const raw = await readBinaryFile(path);
  if (!path.endsWith('.gz') && !(raw[0] === 0x1f && raw[1] === 0x8b)) return raw;
  try {
    const buf = gunzipSync(raw, { maxOutputLength: MAX_IDX_BYTES });
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    const why = err instanceof RangeError ? `decompresses to more than ${MAX_IDX_BYTES} bytes` : (err as Error).message;
    throw new UserError(`${path}: not a valid gzip file: ${why.split('\n')[0]}`, { cause: err });
  }
}

/** Read one MNIST split (images and labels) from dir, e.g. data/mnist. */
export async function readMnist(dir: string, split: MnistSplit): Promise<MnistSet> {
  if (!SPLITS.includes(split)) throw new UserError(`unknown MNIST split ${JSON.stringify(split)}: expected ${SPLITS.join(' or ')}`);
  const imagesPath = findFile(dir, `${split}-images-idx3-ubyte`);
  const labelsPath = findFile(dir, `${split}-labels-idx1-ubyte`);
  const labels = parseIdxLabels(await readIdxFile(labelsPath), labelsPath);
  const images = parseIdxImages(await readIdxFile(imagesPath), imagesPath);
  return mnistSet(images, labels, imagesPath, labelsPath);
}
