// MNIST in the IDX format (LeCun's files), parsed from bytes that are already
// decompressed, so this file stays browser-safe; src/node/mnist-file.ts reads and
// gunzips. Every header field is checked against the byte length before anything is
// allocated: a corrupt header claiming 4 billion images fails instead of allocating.
import { UserError } from '../core/errors.js';

export const IDX_IMAGES_MAGIC = 0x00000803; // unsigned bytes, 3 dimensions
export const IDX_LABELS_MAGIC = 0x00000801; // unsigned bytes, 1 dimension

export interface MnistImages {
  count: number;
  rows: number;
  cols: number;
  /** count * rows * cols bytes, image-major then row-major; 0 = background. */
  pixels: Uint8Array;
}

export interface MnistSet extends MnistImages {
  /** count digits, 0..9. */
  labels: Uint8Array;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const fmt = (n: number) => n.toLocaleString('en-US');

function checkMagic(bytes: Uint8Array, name: string, headerLen: number, magic: number, what: string): DataView {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new UserError(`${name}: is gzip-compressed; decompress it before parsing`);
  }
  if (bytes.length < headerLen) {
    throw new UserError(`${name}: too short for an IDX ${what} header (${fmt(bytes.length)} bytes, need ${headerLen})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getUint32(0); // IDX is big-endian
  if (got !== magic) {
    const other = got === IDX_IMAGES_MAGIC ? ' (that is an image file)' : got === IDX_LABELS_MAGIC ? ' (that is a label file)' : '';
    throw new UserError(`${name}: not an IDX ${what} file: magic ${hex(got)}, expected ${hex(magic)}${other}`);
  }
  return view;
}

function checkLength(bytes: Uint8Array, name: string, expected: number, claim: string): void {
  // expected is exact below 2^53; anything larger is far beyond any real byte length.
  if (bytes.length < expected) {
    throw new UserError(`${name}: truncated: header says ${claim} (${fmt(expected)} bytes), file has ${fmt(bytes.length)} bytes`);
  }
  if (bytes.length > expected) {
    throw new UserError(`${name}: ${fmt(bytes.length - expected)} unexpected bytes after the ${claim} the header describes`);
  }
}

/** Parse an uncompressed IDX image file (magic 0x00000803, then count, rows, cols). */
export function parseIdxImages(bytes: Uint8Array, name = 'IDX images'): MnistImages {
  const view = checkMagic(bytes, name, 16, IDX_IMAGES_MAGIC, 'image');
  const count = view.getUint32(4), rows = view.getUint32(8), cols = view.getUint32(12);
  if (count === 0) throw new UserError(`${name}: header says 0 images`);
  if (rows === 0 || cols === 0) throw new UserError(`${name}: header says images of ${rows}x${cols} pixels`);
  checkLength(bytes, name, 16 + count * rows * cols, `${fmt(count)} images of ${rows}x${cols}`);
  return { count, rows, cols, pixels: bytes.slice(16) };
}

/** Parse an uncompressed IDX label file (magic 0x00000801, then count); labels must be 0..9. */
export function parseIdxLabels(bytes: Uint8Array, name = 'IDX labels'): { count: number; labels: Uint8Array } {
  const view = checkMagic(bytes, name, 8, IDX_LABELS_MAGIC, 'label');
  const count = view.getUint32(4);
  if (count === 0) throw new UserError(`${name}: header says 0 labels`);
  checkLength(bytes, name, 8 + count, `${fmt(count)} labels`);
  for (let i = 8; i < bytes.length; i++) {
    if (bytes[i]! > 9) throw new UserError(`${name}: label ${i - 8} is ${bytes[i]}, not a digit 0..9`);
  }
  return { count, labels: bytes.slice(8) };
}

/** Pair parsed images with their labels; the counts must agree. */
export function mnistSet(images: MnistImages, labels: { count: number; labels: Uint8Array }, imagesName = 'images', labelsName = 'labels'): MnistSet {
  if (images.count !== labels.count) {
    throw new UserError(`${imagesName} has ${fmt(images.count)} images but ${labelsName} has ${fmt(labels.count)} labels`);
  }
  return { ...images, labels: labels.labels };
}
