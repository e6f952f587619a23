// Levenshtein distance (unit-cost insertions, deletions, substitutions) over token
// sequences, and the token error rate built on it (word error rate when tokens are words).
import { UserError } from '../core/errors.js';

/**
 * Fewest insertions, deletions and substitutions turning a into b; tokens are compared with
 * ===. O(|a| |b|) time, one row of O(min(|a|, |b|)) memory. A string works too (UTF-16 units).
 */
export function levenshtein<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  // the row runs along the shorter sequence; the distance is symmetric
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  const m = short.length;
  if (m === 0) return long.length;
  const row = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) row[j] = j; // "" -> short[0..j): j insertions
  for (let i = 1; i <= long.length; i++) {
    const x = long[i - 1];
    let diag = row[0]!; // D[i-1][j-1]
    row[0] = i;
    for (let j = 1; j <= m; j++) {
      const up = row[j]!; // D[i-1][j]
      const sub = diag + (x === short[j - 1] ? 0 : 1);
      row[j] = Math.min(sub, up + 1, row[j - 1]! + 1);
      diag = up;
    }
  }
  return row[m]!;
}

/**
 * Sum over segments of levenshtein(hyp, ref), divided by the total number of reference
 * tokens (corpus-level, like WER; can exceed 1 when hypotheses are long). Throws when the
 * references have no tokens at all, where the rate is undefined.
 */
export function tokenErrorRate<T>(hyps: readonly ArrayLike<T>[], refs: readonly ArrayLike<T>[]): number {
  if (hyps.length !== refs.length) throw new UserError(`${hyps.length} hypotheses but ${refs.length} references`);
  let edits = 0, refTokens = 0;
  for (let i = 0; i < hyps.length; i++) {
    edits += levenshtein(hyps[i]!, refs[i]!);
    refTokens += refs[i]!.length;
  }
  if (refTokens === 0) throw new UserError('token error rate: the references have no tokens');
  return edits / refTokens;
}
