// Corpus BLEU (Papineni et al. 2002) computed the way sacreBLEU 2.x computes it, so that
// sacreBleu() reproduces `sacrebleu.corpus_bleu(hyps, [refs]).score` to rounding:
// clipped n-gram matches and lengths are summed over the corpus first, and the score is
// built from those sums once (not an average of sentence scores).
import { UserError } from '../core/errors.js';

export type BleuSmoothing = 'none' | 'exp' | 'floor' | 'add-k';

export interface BleuOptions {
  /** Longest n-gram counted; default 4 (BLEU-4). */
  maxOrder?: number;
  /**
   * What an order with no matched n-grams contributes (Chen & Cherry 2014 numbering):
   * 'exp' (default, as sacreBLEU and mteval-v13a): the k-th such order gets precision 1/(2^k total);
   * 'floor': smoothValue / total (default 0.1); 'add-k': adds smoothValue (default 1) to the
   * matches and totals of every order above 1; 'none': precision 0, so BLEU is 0.
   */
  smooth?: BleuSmoothing;
  smoothValue?: number;
  /** Average only over the orders up to the last one the hypotheses contain (sacreBLEU's
   *  effective_order, meant for sentence-level BLEU); default false. */
  effectiveOrder?: boolean;
}

export interface BleuResult {
  /** BLEU in 0..100, as sacreBLEU reports it. */
  bleu: number;
  /** Modified n-gram precisions in percent (0..100), after smoothing, one per order. */
  precisions: number[];
  /** Clipped matches per order, before any smoothing. */
  counts: number[];
  /** Hypothesis n-grams per order, before any smoothing. */
  totals: number[];
  /** Brevity penalty: 1 when sysLen >= refLen, else exp(1 - refLen/sysLen) (0 when sysLen is 0). */
  bp: number;
  sysLen: number;
  refLen: number;
}

type Tokens = readonly string[];

/** sacreBLEU's log, which stands in a huge negative number for log(0) so the score becomes 0. */
const floorLog = (x: number): number => (x === 0 ? -9999999999 : Math.log(x));

/**
 * BLEU from corpus sums: counts[n-1] clipped matches and totals[n-1] hypothesis n-grams of
 * order n, and the summed hypothesis and (closest) reference lengths.
 */
export function bleuFromStats(counts: readonly number[], totals: readonly number[], sysLen: number, refLen: number, opts: BleuOptions = {}): BleuResult {
  const maxOrder = checkMaxOrder(opts.maxOrder ?? 4);
  if (counts.length !== maxOrder || totals.length !== maxOrder) {
    throw new UserError(`bleuFromStats: need ${maxOrder} counts and totals, got ${counts.length} and ${totals.length}`);
  }
  const smooth = opts.smooth ?? 'exp';
  const smoothValue = opts.smoothValue ?? (smooth === 'floor' ? 0.1 : 1);
  if (!['none', 'exp', 'floor', 'add-k'].includes(smooth)) throw new UserError(`unknown BLEU smoothing '${smooth}' (none, exp, floor, add-k)`);

  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = (bleu: number): BleuResult => ({ bleu, precisions, counts: counts.slice(), totals: totals.slice(), bp, sysLen, refLen });
  // no match of any order: 0 whatever the smoothing (sacreBLEU's early exit)
  if (counts.every((c) => c === 0)) return result(0);

  let expFactor = 1, order = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    let c = counts[n - 1]!, t = totals[n - 1]!;
    if (smooth === 'add-k' && n > 1) { c += smoothValue; t += smoothValue; }
    // no n-grams this long: this order and longer ones keep precision 0 (score 0
    // unless effectiveOrder stops the average before them)
    if (t === 0) break;
    if (opts.effectiveOrder) order = n;
    if (c === 0) {
      if (smooth === 'exp') { expFactor *= 2; precisions[n - 1] = 100 / (expFactor * t); }
      else if (smooth === 'floor') precisions[n - 1] = (100 * smoothValue) / t;
    } else {
      precisions[n - 1] = (100 * c) / t;
    }
  }
  let logSum = 0;
  for (let n = 0; n < order; n++) logSum += floorLog(precisions[n]!);
  return result(bp * Math.exp(logSum / order));
}

/**
 * Corpus BLEU over token arrays. references[i] is either the one reference of hypothesis i
 * (string[][]) or a list of its references (string[][][]); with several, each n-gram is
 * clipped at its largest count in any one reference, and the reference length is the one
 * closest to the hypothesis length, the shorter on a tie.
 */
export function corpusBleu(hypotheses: readonly Tokens[], references: readonly Tokens[] | readonly (readonly Tokens[])[], opts: BleuOptions = {}): BleuResult {
  const maxOrder = checkMaxOrder(opts.maxOrder ?? 4);
  const refSets = referenceSets(hypotheses.length, references);
  const counts = new Array<number>(maxOrder).fill(0), totals = new Array<number>(maxOrder).fill(0);
  let sysLen = 0, refLen = 0;
  const ids = new Map<string, number>(); // token -> small integer, so n-gram keys are unambiguous
  const encode = (tokens: Tokens): number[] => tokens.map((w) => {
    let id = ids.get(w);
    if (id === undefined) ids.set(w, (id = ids.size));
    return id;
  });

  for (let i = 0; i < hypotheses.length; i++) {
    const hyp = hypotheses[i]!, refs = refSets[i]!;
    // the most times each n-gram occurs in any single reference
    const maxRef = new Map<string, number>();
    for (const ref of refs) {
      for (const [key, c] of ngramCounts(encode(ref), maxOrder)) {
        if (c > (maxRef.get(key) ?? 0)) maxRef.set(key, c);
      }
    }
    for (const [key, c] of ngramCounts(encode(hyp), maxOrder)) {
      const n = orderOf(key);
      totals[n - 1] += c;
      counts[n - 1] += Math.min(c, maxRef.get(key) ?? 0);
    }
    sysLen += hyp.length;
    refLen += closestLength(hyp.length, refs.map((r) => r.length));
  }
  return bleuFromStats(counts, totals, sysLen, refLen, opts);
}

/** The reference length closest to hypLen; the shorter of two equally close ones. */
export function closestLength(hypLen: number, refLens: readonly number[]): number {
  let best = -1, bestDiff = Infinity;
  for (const len of refLens) {
    const d = Math.abs(hypLen - len);
    if (d < bestDiff || (d === bestDiff && len < best)) { best = len; bestDiff = d; }
  }
  return best;
}

// Python's str.split()/strip() whitespace, which sacreBLEU splits on: JavaScript's \s
// without U+FEFF, plus U+001C..U+001F and U+0085.
const PY_SPACE = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SPACES = new RegExp(`[${PY_SPACE}]+`);
const SPACE = new RegExp(`[${PY_SPACE}]`);

/** Python's `s.rstrip()` (a loop: /\s+$/ can take quadratic time on long runs of spaces). */
function pyRstrip(s: string): string {
  let end = s.length;
  while (end > 0 && SPACE.test(s[end - 1]!)) end--;
  return s.slice(0, end);
}

/** Python's `s.split()`. */
function pySplit(s: string): string[] {
  return s.split(SPACES).filter((w) => w !== '');
}

// mteval-v13a's language-dependent rules as sacreBLEU writes them: split off every ASCII
// symbol except the apostrophe, comma, hyphen and period (space..&, (..+, /, :..@, [..`, {..~)...
const SYMBOL = /([\x20-\x26\x28-\x2b\x2f\x3a-\x40\x5b-\x60\x7b-\x7e])/g;
// ...then periods and commas, except between digits (3.14 and 1,000 stay whole)...
const PUNCT_AFTER_NON_DIGIT = /([^0-9])([.,])/g;
const PUNCT_BEFORE_NON_DIGIT = /([.,])([^0-9])/g;
// ...and a hyphen that follows a digit (5-6 becomes 5 - 6).
const DASH_AFTER_DIGIT = /([0-9])(-)/g;

/**
 * sacreBLEU's default '13a' tokenization (mteval-v13a.pl, as WMT uses it) of one segment,
 * including the trailing-whitespace strip sacreBLEU applies first: the tokens BLEU sees,
 * i.e. Python's `Tokenizer13a()(s.rstrip()).split()`.
 */
export function tokenize13a(s: string): string[] {
  let line = pyRstrip(s);
  line = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  // the four entities mteval unescapes, one after another in its order (so &amp;lt; ends as <)
  line = line.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  line = ` ${line} `
    .replace(SYMBOL, ' $1 ')
    .replace(PUNCT_AFTER_NON_DIGIT, '$1 $2 ')
    .replace(PUNCT_BEFORE_NON_DIGIT, ' $1 $2')
    .replace(DASH_AFTER_DIGIT, '$1 $2 ');
  return pySplit(line);
}

export interface SacreBleuOptions extends BleuOptions {
  /** '13a' (default) or 'none' (split on whitespace only, sacreBLEU's tokenize='none'). */
  tokenize?: '13a' | 'none';
  /** Lowercase both sides first (sacreBLEU's lowercase=True); default false. */
  lowercase?: boolean;
}

/**
 * BLEU of detokenized text with sacreBLEU's defaults: 13a tokens, exp smoothing, BLEU-4.
 * refs[i] is the reference of hyps[i], or the list of its references. (sacreBLEU itself
 * takes reference streams, refs[k][i]; corpus_bleu(hyps, [refs]) is sacreBleu(hyps, refs).)
 */
export function sacreBleu(hyps: readonly string[], refs: readonly string[] | readonly (readonly string[])[], opts: SacreBleuOptions = {}): BleuResult {
  const tokenize = opts.tokenize ?? '13a';
  if (tokenize !== '13a' && tokenize !== 'none') throw new UserError(`unknown BLEU tokenizer '${String(tokenize)}' (13a, none)`);
  const prep = (s: string): string[] => {
    if (typeof s !== 'string') throw new UserError(`sacreBleu: segments must be strings, got ${typeof s}`);
    const t = opts.lowercase ? s.toLowerCase() : s;
    return tokenize === '13a' ? tokenize13a(t) : pySplit(t);
  };
  if (hyps.length !== refs.length) throw new UserError(`BLEU: ${hyps.length} hypotheses but ${refs.length} references`);
  const refTokens = refs.map((r: string | readonly string[], i) => {
    if (typeof r === 'string') return [prep(r)];
    if (r.length === 0) throw new UserError(`BLEU: hypothesis ${i} has no references`);
    return r.map(prep);
  });
  return corpusBleu(hyps.map(prep), refTokens, opts);
}

/** Each hypothesis's list of references, from either reference layout. */
function referenceSets(numHyps: number, references: readonly Tokens[] | readonly (readonly Tokens[])[]): (readonly Tokens[])[] {
  if (references.length !== numHyps) throw new UserError(`BLEU: ${numHyps} hypotheses but ${references.length} references`);
  // a segment whose first element is an array holds several references; an empty segment
  // is ambiguous and counts as one empty reference in the single layout
  const isMulti = (r: unknown): boolean => Array.isArray(r) && r.length > 0 && Array.isArray(r[0]);
  const multi = references.some(isMulti);
  return references.map((r, i) => {
    if (!multi) return [r as Tokens];
    if (!isMulti(r)) throw new UserError(`BLEU: reference ${i} is not a list of token arrays like the others`);
    return r as readonly Tokens[];
  });
}

/** Counts of every n-gram of order 1..maxOrder, keyed "n:id,id,...". */
function ngramCounts(ids: readonly number[], maxOrder: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= ids.length; i++) {
      const key = `${n}:${ids.slice(i, i + n).join(',')}`;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return m;
}

const orderOf = (key: string): number => Number(key.slice(0, key.indexOf(':')));

function checkMaxOrder(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new UserError(`BLEU maxOrder must be a positive integer, got ${n}`);
  return n;
}
