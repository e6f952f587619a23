// Hypothesis signals for the interpretable-cell search (Karpathy, Johnson & Fei-Fei 2015):
// one number per character of a text, computed from the text alone, to correlate with
// each cell's activation. Every signal is the state AFTER reading the character at that
// position, the same moment the cell's activation describes: the opening quote of a
// string is inside it (1), the closing one is not (0); the newline ending a // comment
// is outside it. Characters are Unicode code points, as the vocabulary counts them.
import { UserError } from '../core/errors.js';

export interface Signal {
  name: string;
  description: string;
  values: Float32Array; // one per character
}

export const BUILTIN_SIGNALS: Readonly<Record<string, string>> = {
  quote: 'inside a "double-quoted" string (C rules: backslash escapes, not in comments or char literals)',
  comment: 'inside a // line comment or a /* block comment */',
  line_position: 'characters since the last newline, this one included (a newline is 0)',
  paren_depth: 'depth of ( ) nesting, outside strings and comments',
  bracket_depth: 'depth of [ ] nesting, outside strings and comments',
  brace_depth: 'depth of { } nesting, outside strings and comments',
  if_condition: 'inside the parentheses of an if (...) condition',
  if_block: "inside the statement an if controls: its { block } or, without braces, up to the ';'",
  word_start: 'the first character of a word (letters, digits, _)',
};

const WORD = /[\p{L}\p{N}_]/u;
const OPEN: Record<string, number> = { '(': 0, '[': 1, '{': 2 };
const CLOSE: Record<string, number> = { ')': 0, ']': 1, '}': 2 };

/** What an open `if` is waiting for: its condition to close, its body to start, or its body to end. */
interface OpenIf { phase: 'cond' | 'await' | 'block' | 'stmt'; paren: number; brace: number }

/** All built-in signals of the characters `chars` (code points), in BUILTIN_SIGNALS order. */
export function builtinSignals(chars: readonly string[]): Signal[] {
  const n = chars.length, F = () => new Float32Array(n);
  const out = { quote: F(), comment: F(), line_position: F(), paren_depth: F(), bracket_depth: F(), brace_depth: F(), if_condition: F(), if_block: F(), word_start: F() };
  let mode: 'code' | 'str' | 'chr' | 'line' | 'block' = 'code';
  let escape = false, slash = false, star = false, col = 0, word = '', lastToken = '';
  const depth = [0, 0, 0];
  const ifs: OpenIf[] = [];
  for (let i = 0; i < n; i++) {
    const ch = chars[i]!, isWord = WORD.test(ch);
    out.word_start[i] = isWord && !(i > 0 && WORD.test(chars[i - 1]!)) ? 1 : 0;
    col = ch === '\n' ? 0 : col + 1;
    out.line_position[i] = col;
    if (mode === 'str' || mode === 'chr') {
      const close = mode === 'str' ? '"' : "'";
      if (escape) escape = false;
      else if (ch === '\\') escape = true;
      else if (ch === close || ch === '\n') mode = 'code'; // a newline ends an unterminated literal
    } else if (mode === 'line') {
      if (ch === '\n') mode = 'code';
    } else if (mode === 'block') {
      if (star && ch === '/') mode = 'code';
      star = ch === '*';
    } else {
      // code
      if (isWord) { word += ch; startStatement(ifs, depth); } else if (word) { lastToken = word; word = ''; }
      if (slash && ch === '/') mode = 'line';
      else if (slash && ch === '*') { mode = 'block'; star = false; }
      else if (ch === '"' || ch === "'") { mode = ch === '"' ? 'str' : 'chr'; escape = false; startStatement(ifs, depth); }
      else if (!isWord && !/\s/u.test(ch)) { codeChar(ch, depth, ifs, lastToken); lastToken = ch; }
      slash = mode === 'code' && ch === '/';
    }
    out.quote[i] = mode === 'str' ? 1 : 0;
    out.comment[i] = mode === 'line' || mode === 'block' ? 1 : 0;
    out.paren_depth[i] = depth[0]!; out.bracket_depth[i] = depth[1]!; out.brace_depth[i] = depth[2]!;
    out.if_condition[i] = ifs.some((f) => f.phase === 'cond') ? 1 : 0;
    out.if_block[i] = ifs.some((f) => f.phase === 'block' || f.phase === 'stmt') ? 1 : 0;
  }
  return Object.entries(out).map(([name, values]) => ({ name, description: BUILTIN_SIGNALS[name]!, values }));
}

/** An if whose condition has closed starts its body at the next code character. */
function startStatement(ifs: OpenIf[], depth: number[]): void {
  for (const f of ifs) if (f.phase === 'await') { f.phase = 'stmt'; f.paren = depth[0]!; f.brace = depth[2]!; }
}

/** A non-blank code character other than a quote or comment opener: nesting and if bookkeeping. */
function codeChar(ch: string, depth: number[], ifs: OpenIf[], lastToken: string): void {
  if (ch === '{') {
    for (const f of ifs) if (f.phase === 'await') { f.phase = 'block'; f.brace = depth[2]! + 1; }
  } else startStatement(ifs, depth);
  if (ch in OPEN) {
    depth[OPEN[ch]!]!++;
    if (ch === '(' && lastToken === 'if') ifs.push({ phase: 'cond', paren: depth[0]!, brace: depth[2]! });
    return;
  }
  if (ch in CLOSE) {
    const k = CLOSE[ch]!;
    depth[k] = Math.max(0, depth[k]! - 1);
    if (ch === ')') for (const f of ifs) if (f.phase === 'cond' && depth[0]! < f.paren) f.phase = 'await';
    // a block ends with its brace; a braceless statement also ends when a brace closes it (if (x) for (...) { ... })
    if (ch === '}') removeIfs(ifs, (f) => (f.phase === 'block' && depth[2]! < f.brace) || (f.phase === 'stmt' && depth[2]! <= f.brace));
    return;
  }
  if (ch === ';') removeIfs(ifs, (f) => f.phase === 'stmt' && depth[0]! <= f.paren && depth[2]! <= f.brace);
}

function removeIfs(ifs: OpenIf[], done: (f: OpenIf) => boolean): void {
  for (let k = ifs.length - 1; k >= 0; k--) if (done(ifs[k]!)) ifs.splice(k, 1);
}

/** Code-point index of every UTF-16 offset of text (and of its end). */
function codePointIndex(text: string): Int32Array {
  const idx = new Int32Array(text.length + 1);
  let cp = 0;
  for (let u = 0; u < text.length; u++) {
    idx[u] = cp;
    const c = text.charCodeAt(u);
    if (c >= 0xd800 && c < 0xdc00 && u + 1 < text.length) { idx[++u] = cp; }
    cp++;
  }
  idx[text.length] = cp;
  return idx;
}

/**
 * 1 on every character a match of the regular expression covers, 0 elsewhere. The
 * pattern is a JavaScript regular expression, compiled with the flags g, m (^ and $ at
 * line ends) and u; a bad pattern is a UserError.
 */
export function regexSignal(name: string, pattern: string | RegExp, text: string): Signal {
  let re: RegExp;
  try {
    re = typeof pattern === 'string' ? new RegExp(pattern, 'gmu') : new RegExp(pattern.source, [...new Set(pattern.flags + 'g')].join(''));
  } catch (e) {
    throw new UserError(`signal '${name}': bad regular expression: ${(e as Error).message}`);
  }
  const idx = codePointIndex(text), values = new Float32Array(idx[text.length]!);
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].length === 0) { re.lastIndex++; continue; } // an empty match covers nothing
    values.fill(1, idx[m.index]!, idx[m.index + m[0].length]!);
  }
  return { name, description: `matches of /${re.source}/`, values };
}

/** Numbers separated by whitespace (or commas), one per character: a user signal file's content. */
export function parseNumberSignal(name: string, content: string, expected: number): Signal {
  const tokens = content.split(/[\s,]+/).filter((s) => s !== '');
  const values = new Float32Array(tokens.length);
  tokens.forEach((s, i) => {
    const v = Number(s);
    if (!Number.isFinite(v)) throw new UserError(`signal '${name}': item ${i + 1} is not a number: '${s.slice(0, 20)}'`);
    values[i] = v;
  });
  if (values.length !== expected) throw new UserError(`signal '${name}': has ${values.length} numbers, the text has ${expected} characters (one number per character)`);
  return { name, description: 'values from a file', values };
}
