// Checks shared by the readers of a training checkpoint's 'train' metadata (the char
// LM's run-checkpoint.ts, the example trainers' example-meta.ts): the file is untrusted,
// so the JSON is parsed here and every field checked before a trainer is built from it.
import { UserError } from '../core/errors.js';

export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
export const isInt = (x: unknown, lo: number, hi: number): x is number => Number.isSafeInteger(x) && (x as number) >= lo && (x as number) <= hi;
export const isNum = (x: unknown, lo: number, hi: number): x is number => typeof x === 'number' && Number.isFinite(x) && x >= lo && x <= hi;

/** What is wrong with a saved Rng state ({ s: four 32-bit words, spare }), or null. */
export function rngProblem(rng: unknown, what: string): string | null {
  if (!isObject(rng) || !Array.isArray(rng['s']) || rng['s'].length !== 4 || !rng['s'].every((v) => isInt(v, 0, 2 ** 32 - 1))) return `${what}.s is not four 32-bit integers`;
  if (rng['spare'] !== null && !isNum(rng['spare'], -Infinity, Infinity)) return `${what}.spare is not a number or null`;
  return null;
}

/**
 * The 'train' metadata parsed and checked by `problem` (which names what is wrong, or
 * returns null); a one-line UserError naming `source` when it is not JSON or not valid.
 */
export function parseTrainMeta(raw: string, source: string, problem: (m: unknown) => string | null): unknown {
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    throw new UserError(`${source}: the checkpoint's training state ('train' metadata) is not valid JSON`);
  }
  const why = problem(m);
  if (why) throw new UserError(`${source}: the checkpoint's training state ('train' metadata) is not a valid run: ${why}`);
  return m;
}
