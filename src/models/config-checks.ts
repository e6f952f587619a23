// Checks shared by the model configs, which come from code and from checkpoint files
// (any JSON value in any field): each throws an Error that names the model and the
// field; a checkpoint reader adds the file.

type Fields = Record<string, unknown>;

/** A value as a message shows it: JSON, cut short. */
export function shown(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

export function positiveInts(c: Fields, keys: readonly string[], what: string): void {
  for (const k of keys) if (!Number.isSafeInteger(c[k]) || (c[k] as number) < 1) throw new Error(`${what}: ${k} must be a positive integer, got ${shown(c[k])}`);
}

/** Dropout rates: numbers in [0, 1). */
export function rates(c: Fields, keys: readonly string[], what: string): void {
  for (const k of keys) {
    const v = c[k];
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new Error(`${what}: ${k} must be a number in [0, 1), got ${shown(v)}`);
  }
}

export function flags(c: Fields, keys: readonly string[], what: string): void {
  for (const k of keys) if (typeof c[k] !== 'boolean') throw new Error(`${what}: ${k} must be true or false, got ${shown(c[k])}`);
}

export function oneOf(c: Fields, key: string, allowed: readonly string[], what: string): void {
  if (!allowed.includes(c[key] as string)) throw new Error(`${what}: ${key} must be one of ${allowed.join(', ')}, got ${shown(c[key])}`);
}

/** The LSTM forget-gate bias at initialisation: a finite number, or null for PyTorch's init. */
export function forgetBias(c: Fields, what: string): void {
  const v = c['forget_bias'];
  if (v !== null && !Number.isFinite(v)) throw new Error(`${what}: forget_bias must be a number or null, got ${shown(v)}`);
}

/** Token ids (bos, eos) of a vocabulary of `size`. */
export function tokenIds(c: Fields, keys: readonly string[], size: number, what: string): void {
  for (const k of keys) {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= size) throw new Error(`${what}: ${k} must be a token id in [0, ${size}), got ${shown(v)}`);
  }
}
