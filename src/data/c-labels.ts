// Per-character labels of C source (code / string / comment) for a sequence-labelling
// demo. A lexer-level scan, not a parser: it runs over the whole file so a block
// comment can span lines, and it recovers at the end of a line from an unterminated
// quote (an apostrophe in `#error don't` or in `#if 0` text), as compilers do.
export const C_TAGS = ['code', 'string', 'comment'] as const;
export type CTag = (typeof C_TAGS)[number];
const STRING = 1, COMMENT = 2; // 0 is code

/** `#include <...>` (also include_next, import): the angle-bracketed name is code. */
const INCLUDE = /#[ \t]*(?:include|include_next|import)[ \t]*<[^>\n]*>?/y;

/** True when s[i] is the first non-blank character of its line. */
function firstOnLine(s: string, i: number): boolean {
  for (let j = i - 1; j >= 0 && s[j] !== '\n'; j--) if (s[j] !== ' ' && s[j] !== '\t') return false;
  return true;
}

/** Index where the // comment at i ends: the newline, unless it is spliced by a backslash (C phase 2). */
function lineCommentEnd(s: string, i: number): number {
  let j = i + 2;
  while (j < s.length && s[j] !== '\n') {
    if (s[j] === '\\' && s[j + 1] === '\n') j += 2;
    else if (s[j] === '\\' && s[j + 1] === '\r' && s[j + 2] === '\n') j += 3;
    else j++;
  }
  return Math.min(j, s.length);
}

/** Index just past the "..." or '...' literal at i (quotes included); stops before an unescaped newline. */
function literalEnd(s: string, i: number): number {
  const quote = s[i];
  let j = i + 1;
  while (j < s.length) {
    const ch = s[j];
    if (ch === '\\') j += s[j + 1] === '\r' && s[j + 2] === '\n' ? 3 : 2; // escape, or backslash-newline continuation
    else if (ch === quote) return j + 1;
    else if (ch === '\n') return j;
    else j++;
  }
  return s.length;
}

/**
 * One tag per UTF-16 code unit of source, as indices into C_TAGS. Comment delimiters
 * and string quotes carry the comment/string tag; everything else, whitespace and
 * preprocessor directives included, is code. Newlines get the tag of what they are in
 * (a newline inside a block comment is comment).
 */
export function labelC(source: string): Uint8Array {
  const s = source, n = s.length;
  const tags = new Uint8Array(n); // all code to begin with
  let i = 0;
  while (i < n) {
    const ch = s[i];
    if (ch === '/' && s[i + 1] === '/') {
      const end = lineCommentEnd(s, i);
      tags.fill(COMMENT, i, end);
      i = end;
    } else if (ch === '/' && s[i + 1] === '*') {
      const close = s.indexOf('*/', i + 2);
      const end = close < 0 ? n : close + 2;
      tags.fill(COMMENT, i, end);
      i = end;
    } else if (ch === '"' || ch === "'") {
      const end = literalEnd(s, i);
      tags.fill(STRING, i, end);
      i = end;
    } else if (ch === '#' && firstOnLine(s, i)) {
      INCLUDE.lastIndex = i;
      i = INCLUDE.test(s) ? INCLUDE.lastIndex : i + 1;
    } else {
      i++;
    }
  }
  return tags;
}

export interface TaggedLine {
  /** 0-based source line number. */
  line: number;
  /** The line without its newline. */
  text: string;
  /** One C_TAGS index per UTF-16 code unit of text. */
  tags: Uint8Array;
}

/** The file's lines (a final newline does not start another line), each with its tags from labelC. */
export function taggedLines(source: string): TaggedLine[] {
  const tags = labelC(source);
  const out: TaggedLine[] = [];
  let start = 0;
  while (start < source.length) {
    let end = source.indexOf('\n', start);
    if (end < 0) end = source.length;
    out.push({ line: out.length, text: source.slice(start, end), tags: tags.subarray(start, end) });
    start = end + 1;
  }
  return out;
}

/** A line as tokens (datasets.ts formatConll writes them): one per code point, tagged by its first code unit. */
export function lineTokens(line: TaggedLine): { tokens: string[]; tags: string[] } {
  const tokens: string[] = [], tags: string[] = [];
  let k = 0;
  for (const ch of line.text) {
    tokens.push(ch);
    tags.push(C_TAGS[line.tags[k]!]!);
    k += ch.length;
  }
  return { tokens, tags };
}
