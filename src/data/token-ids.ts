// Token ids of a corpus, kept compactly: a 1 GB text is a billion ids, so they take the
// smallest unsigned type that holds the vocabulary (1, 2 or 4 bytes each). Int32Array
// (what Vocab.encode returns) is accepted everywhere too.
import { unknownCharsError, type Vocab } from './vocab.js';

export type TokenIds = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/** The largest number of ids one array can hold (V8's typed-array length limit). */
export const MAX_TOKEN_IDS = 2 ** 32;

/** A zeroed id array for `length` tokens of a vocabulary of `vocabSize`: Uint8 up to 256, Uint16 up to 65,536, else Uint32. */
export function tokenIdArray(vocabSize: number, length: number): Uint8Array | Uint16Array | Uint32Array {
  return vocabSize <= 256 ? new Uint8Array(length) : vocabSize <= 65536 ? new Uint16Array(length) : new Uint32Array(length);
}

/**
 * ids of characters of vocabulary `from`, as ids of vocabulary `to` (in place when the
 * array type holds them). A character `to` lacks is Vocab.encode's error.
 */
export function recode(ids: TokenIds, from: Vocab, to: Vocab, what: string): TokenIds {
  if (from.size === to.size && from.chars.every((ch, i) => to.chars[i] === ch)) return ids;
  const map = new Int32Array(from.size), unknown = new Set<string>();
  from.chars.forEach((ch, i) => { const j = to.id(ch); if (j === undefined) unknown.add(ch); else map[i] = j; });
  if (unknown.size) throw unknownCharsError(what, unknown);
  const out = to.size <= 2 ** (8 * ids.BYTES_PER_ELEMENT) || ids instanceof Int32Array ? ids : tokenIdArray(to.size, ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = map[ids[i]!]!;
  return out;
}
