// The text formats of the example-based tasks (file formats are contracts):
//   labelled  label<TAB>text           one example per line (classify)
//   pairs     source<TAB>target        one pair per line (translate)
//   conll     token<TAB>tag            one token per line, a blank line between sequences (tag)
// CRLF line ends are accepted; blank lines are skipped (except as conll separators).
// Every problem is a one-line UserError naming the file and line.
import { UserError } from '../core/errors.js';

export interface Labelled { label: string; text: string; line: number }
export interface Pair { source: string; target: string; line: number }
export interface TaggedSequence { tokens: string[]; tags: string[]; line: number }

function lines(text: string): string[] {
  const ls = text.split('\n');
  return ls.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function nonEmpty<T>(items: T[], what: string, kind: string): T[] {
  if (items.length === 0) throw new UserError(`${what}: no ${kind} (the file is empty or blank)`);
  return items;
}

/** label<TAB>text per line; the text is everything after the first tab. */
export function parseLabelled(text: string, what: string): Labelled[] {
  const out: Labelled[] = [];
  lines(text).forEach((l, i) => {
    if (l.trim() === '') return;
    const tab = l.indexOf('\t');
    if (tab < 0) throw new UserError(`${what}:${i + 1}: no tab; each line must be label<TAB>text`);
    const label = l.slice(0, tab).trim(), body = l.slice(tab + 1);
    if (label === '') throw new UserError(`${what}:${i + 1}: empty label`);
    if (body.trim() === '') throw new UserError(`${what}:${i + 1}: empty text`);
    out.push({ label, text: body, line: i + 1 });
  });
  return nonEmpty(out, what, 'examples');
}

/** source<TAB>target per line, exactly two fields. */
export function parsePairs(text: string, what: string): Pair[] {
  const out: Pair[] = [];
  lines(text).forEach((l, i) => {
    if (l.trim() === '') return;
    const f = l.split('\t');
    if (f.length < 2) throw new UserError(`${what}:${i + 1}: no tab; each line must be source<TAB>target`);
    if (f.length > 2) throw new UserError(`${what}:${i + 1}: ${f.length} tab-separated fields; each line must be source<TAB>target`);
    if (f[0]!.trim() === '' || f[1]!.trim() === '') throw new UserError(`${what}:${i + 1}: empty ${f[0]!.trim() === '' ? 'source' : 'target'}`);
    out.push({ source: f[0]!, target: f[1]!, line: i + 1 });
  });
  return nonEmpty(out, what, 'pairs');
}

/**
 * token<TAB>tag per line, sequences separated by blank lines. The line is split at its
 * last tab, so a token may itself be a tab or a space (character-level tagging).
 */
export function parseConll(text: string, what: string): TaggedSequence[] {
  const out: TaggedSequence[] = [];
  let cur: TaggedSequence | null = null;
  lines(text).forEach((l, i) => {
    if (l === '') { cur = null; return; }
    const tab = l.lastIndexOf('\t');
    if (tab < 0) throw new UserError(`${what}:${i + 1}: no tab; each line must be token<TAB>tag (a blank line ends a sequence)`);
    const tok = l.slice(0, tab), tag = l.slice(tab + 1).trim();
    if (tok === '') throw new UserError(`${what}:${i + 1}: empty token`);
    if (tag === '') throw new UserError(`${what}:${i + 1}: empty tag`);
    if (!cur) out.push(cur = { tokens: [], tags: [], line: i + 1 });
    cur.tokens.push(tok);
    cur.tags.push(tag);
  });
  return nonEmpty(out, what, 'sequences');
}

/** Writes sequences in the conll format (parseConll reads it back; empty sequences are skipped). */
export function formatConll(sequences: readonly { tokens: readonly string[]; tags: readonly string[] }[]): string {
  const blocks: string[] = [];
  for (const { tokens, tags } of sequences) if (tokens.length) blocks.push(tokens.map((t, k) => `${t}\t${tags[k]}`).join('\n'));
  return blocks.length === 0 ? '' : `${blocks.join('\n\n')}\n`;
}
