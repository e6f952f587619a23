// Vocabulary: one token per Unicode code point (a character outside the BMP is one
// token), sorted by code point, as in the reference `sorted(set(text))`.
import { UserError } from '../core/errors.js';

export class Vocab {
  readonly chars: string[]; // id -> character
  private index = new Map<string, number>();

  constructor(chars: string[]) {
    this.chars = chars.slice();
    chars.forEach((ch, i) => {
      if ([...ch].length !== 1) throw new UserError(`vocabulary entry ${i} is not a single character: ${JSON.stringify(ch)}`);
      if (this.index.has(ch)) throw new UserError(`vocabulary has ${JSON.stringify(ch)} twice`);
      this.index.set(ch, i);
    });
  }

  static fromText(text: string): Vocab {
    const set = new Set<string>();
    for (const ch of text) set.add(ch);
    return new Vocab([...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  get size(): number {
    return this.chars.length;
  }

  has(ch: string): boolean {
    return this.index.has(ch);
  }

  id(ch: string): number | undefined {
    return this.index.get(ch);
  }

  /** Token ids of text; characters outside the vocabulary are an error that lists them. */
  encode(text: string, what = 'text'): Int32Array {
    const ids: number[] = [];
    let unknown: Set<string> | null = null;
    for (const ch of text) {
      const id = this.index.get(ch);
      if (id === undefined) (unknown ??= new Set()).add(ch);
      else ids.push(id);
    }
    if (unknown) throw unknownCharsError(what, unknown);
    return Int32Array.from(ids);
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.chars[ids[i]!];
    return s;
  }
}

/** Vocab.encode's error for characters outside the vocabulary. */
export function unknownCharsError(what: string, unknown: ReadonlySet<string>): UserError {
  const list = [...unknown].slice(0, 20).map((c) => JSON.stringify(c)).join(' ');
  const more = unknown.size > 20 ? ` and ${unknown.size - 20} more` : '';
  return new UserError(`${what} has ${unknown.size} character(s) not in the model's vocabulary: ${list}${more}`);
}
