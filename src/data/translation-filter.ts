// The PyTorch "seq2seq translation tutorial" preprocessing of English-French pairs:
// its normalizeString, its length and prefix filter, and the shared data README's
// deterministic 90/5/5 split by index. Kept here (not only in the data script) so a
// demo can normalise a typed sentence exactly as its training data was.

/** Sentences must have fewer than this many words (the tutorial's MAX_LENGTH). */
export const TUTORIAL_MAX_LENGTH = 10;

/** The tutorial's eng_prefixes, matched against the normalised English side. */
export const TUTORIAL_PREFIXES = [
  'i am ', 'i m ', 'he is', 'he s ', 'she is', 'she s ',
  'you are', 'you re ', 'we are', 'we re ', 'they are', 'they re ',
] as const;

/**
 * The tutorial's normalizeString: lowercase, trim, Unicode to ASCII (NFD, combining
 * marks dropped), a space before . ! ?, every run of other non-letters to one space.
 * Letters without an ASCII decomposition (œ, æ, ß) become spaces there too, as in the
 * tutorial. U+00A0 and U+202F (French punctuation spacing) are spaces.
 */
export function normalizeTutorial(s: string): string {
  return s
    .replace(/[\u00a0\u202f]/g, ' ')
    .toLowerCase()
    .trim()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .replace(/([.!?])/g, ' $1')
    .replace(/[^a-zA-Z.!?]+/g, ' ')
    .trim();
}

/** The tutorial's filterPair on normalised sides: both short (split on ' ') and English with a listed prefix. */
export function keepTutorialPair(english: string, french: string): boolean {
  return english.split(' ').length < TUTORIAL_MAX_LENGTH
    && french.split(' ').length < TUTORIAL_MAX_LENGTH
    && TUTORIAL_PREFIXES.some((p) => english.startsWith(p));
}

export type TranslationSplit = 'train' | 'val' | 'test';

/** Split of the i-th (0-based) pair: i % 20 == 18 -> val, 19 -> test, else train. */
export function translationSplit(i: number): TranslationSplit {
  const r = i % 20;
  return r === 18 ? 'val' : r === 19 ? 'test' : 'train';
}
