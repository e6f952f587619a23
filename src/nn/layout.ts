// Which rows of a time-major activation buffer each step uses (PyTorch's PackedSequence).
// Sequences are sorted by length, longest first, so step t runs on the first B_t of
// them, and the rows of all steps are packed one after another:
//
//   rows [offsets[t], offsets[t] + sizes[t]) = step t of sequences 0 .. sizes[t]-1
//
// Padded steps take no rows and no work. With every length equal to T this is the
// plain (T*B, ·) layout: step t at rows [t*B, (t+1)*B).
import { UserError } from '../core/errors.js';

export interface StepLayout {
  T: number;            // steps (the longest sequence)
  B: number;            // sequences
  N: number;            // rows: Σ lengths
  sizes: Int32Array;    // (T) B_t, non-increasing
  offsets: Int32Array;  // (T+1) first row of step t; offsets[T] = N
  lengths: Int32Array;  // (B) sorted, non-increasing
  uniform: boolean;     // every length is T
}

export function uniformLayout(T: number, B: number): StepLayout {
  const sizes = new Int32Array(T).fill(B), offsets = new Int32Array(T + 1);
  for (let t = 0; t <= T; t++) offsets[t] = t * B;
  return { T, B, N: T * B, sizes, offsets, lengths: new Int32Array(B).fill(T), uniform: true };
}

/** The layout of sequences with these lengths, already sorted longest first. */
export function packedLayout(sorted: ArrayLike<number>): StepLayout {
  const B = sorted.length;
  if (B < 1) throw new UserError('a batch needs at least one sequence');
  const lengths = Int32Array.from(sorted), T = lengths[0]!;
  for (let i = 0; i < B; i++) {
    const n = lengths[i]!;
    if (!(Number.isInteger(n) && n >= 1)) throw new UserError(`sequence lengths must be positive integers, got ${sorted[i]}`);
    if (i > 0 && n > lengths[i - 1]!) throw new Error('packedLayout: lengths must be sorted longest first');
  }
  const sizes = new Int32Array(T), offsets = new Int32Array(T + 1);
  let b = B;
  for (let t = 0; t < T; t++) {
    while (lengths[b - 1]! <= t) b--;
    sizes[t] = b;
    offsets[t + 1] = offsets[t]! + b;
  }
  return { T, B, N: offsets[T]!, sizes, offsets, lengths, uniform: lengths[B - 1] === T };
}

/**
 * Sorts sequences longest first, ties in their given order (each sequence's result is
 * the same whatever the order). order[i] is the original index of sorted sequence i.
 */
export function sortByLength(lengths: ArrayLike<number>): { order: Int32Array; layout: StepLayout } {
  const order = Int32Array.from({ length: lengths.length }, (_, i) => i);
  order.sort((a, b) => (lengths[b]! - lengths[a]!) || (a - b));
  return { order, layout: packedLayout(Array.from(order, (i) => lengths[i]!)) };
}

/** Row of step t of sorted sequence i (t < lengths[i]). */
export function rowOf(lay: StepLayout, t: number, i: number): number {
  return lay.offsets[t]! + i;
}

/**
 * The row map of the time-reversed sequences: row r = (t, i) of the reversed order
 * holds step lengths[i]-1-t of sequence i. The reversed sequences have the same layout,
 * and the map is its own inverse.
 */
export function reversedRows(lay: StepLayout, into: Int32Array = new Int32Array(lay.N)): Int32Array {
  const { T, sizes, offsets, lengths } = lay;
  for (let t = 0; t < T; t++) {
    const o = offsets[t]!;
    for (let i = 0; i < sizes[t]!; i++) into[o + i] = offsets[lengths[i]! - 1 - t]! + i;
  }
  return into;
}
