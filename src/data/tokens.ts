// Token units and vocabularies for the example-based tasks (classify, tag, translate).
// chars: one token per Unicode code point; words: whitespace-separated, optionally
// lowercased. A vocabulary lists its special tokens first, then the tokens of the
// training data sorted by code point (so it does not depend on data order); tokens
// seen fewer than minCount times map to <unk>, and so do unseen ones at prediction time.
import { UserError } from '../core/errors.js';

export type Units = 'chars' | 'words';
export const UNITS: readonly Units[] = ['chars', 'words'];

export const UNK = '<unk>';
export const BOS = '<s>';
export const EOS = '</s>';

export interface Tokenizer {
  units: Units;
  lowercase: boolean;
}

export function tokenize(text: string, t: Tokenizer): string[] {
  const s = t.lowercase ? text.toLowerCase() : text;
  return t.units === 'chars' ? [...s] : s.split(/\s+/).filter((w) => w.length > 0);
}

export function detokenize(tokens: readonly string[], units: Units): string {
  return tokens.join(units === 'chars' ? '' : ' ');
}

export class TokenVocab {
  readonly tokens: string[];
  private index = new Map<string, number>();

  constructor(tokens: readonly string[]) {
    this.tokens = tokens.slice();
    this.tokens.forEach((tok, i) => {
      if (typeof tok !== 'string' || tok.length === 0) throw new UserError(`vocabulary entry ${i} is not a non-empty string`);
      if (this.index.has(tok)) throw new UserError(`vocabulary has ${JSON.stringify(tok)} twice`);
      this.index.set(tok, i);
    });
  }

  /** specials (in order), then every token seen at least minCount times, sorted by code point. */
  static build(seqs: Iterable<readonly string[]>, specials: readonly string[], minCount = 1): TokenVocab {
    const counts = new Map<string, number>();
    for (const s of seqs) for (const tok of s) counts.set(tok, (counts.get(tok) ?? 0) + 1);
    const kept = [...counts].filter(([tok, n]) => n >= minCount && !specials.includes(tok)).map(([tok]) => tok);
    kept.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new TokenVocab([...specials, ...kept]);
  }

  get size(): number {
    return this.tokens.length;
  }

  id(tok: string): number | undefined {
    return this.index.get(tok);
  }

  /**
   * Ids of tokens, in out from index at on (default: a new array); unknown ones become
   * <unk> when the vocabulary has it, else an error naming them.
   */
  encode(tokens: readonly string[], what = 'input', out: Int32Array = new Int32Array(tokens.length), at = 0): Int32Array {
    const unk = this.index.get(UNK);
    let missing: Set<string> | null = null;
    tokens.forEach((tok, i) => {
      const id = this.index.get(tok) ?? unk;
      if (id === undefined) (missing ??= new Set()).add(tok);
      else out[at + i] = id;
    });
    if (missing) {
      const list = [...missing as Set<string>].slice(0, 10).map((t) => JSON.stringify(t)).join(' ');
      throw new UserError(`${what}: ${(missing as Set<string>).size} token(s) the model does not know: ${list}`);
    }
    return out;
  }

  /** The distinct tokens that are not in the vocabulary (they would be read as <unk>). */
  unknown(tokens: readonly string[]): string[] {
    return [...new Set(tokens.filter((t) => !this.index.has(t)))];
  }

  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.tokens[id] ?? UNK);
  }
}
