// Option parsing helpers for the CLI: every bad value is a one-line UserError that
// names the option.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../core/errors.js';

export type Options = ParseArgsConfig['options'] & {};

/** parseArgs in strict mode, with its errors turned into one-line UserErrors. */
export function parse(command: string, args: string[], options: Options): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    // one line, but keep all of it: `--lr -1` gets node's hint to write --lr=-1
    const msg = (e as Error).message.replace(/\s*\n\s*/g, ' ').replace(/\. To specify a positional argument.*$/, '');
    throw new UserError(`${command}: ${msg} (see rnnkit ${command} --help)`);
  }
}

interface NumSpec { int?: boolean; min?: number; max?: number; minExclusive?: boolean }

/** The number given for --name, or def when absent. */
export function num(values: Record<string, unknown>, name: string, def: number, spec: NumSpec = {}): number {
  const raw = values[name];
  if (raw === undefined) return def;
  const s = String(raw).trim();
  const v = s === '' ? NaN : Number(s);
  const kind = spec.int ? 'an integer' : 'a number';
  if (!Number.isFinite(v) || (spec.int && !Number.isInteger(v))) throw new UserError(`--${name} must be ${kind}, got '${raw}'`);
  if (spec.min !== undefined && (spec.minExclusive ? v <= spec.min : v < spec.min)) {
    throw new UserError(`--${name} must be ${spec.minExclusive ? 'greater than' : 'at least'} ${spec.min}, got ${v}`);
  }
  if (spec.max !== undefined && v > spec.max) throw new UserError(`--${name} must be at most ${spec.max}, got ${v}`);
  return v;
}

export function oneOf<T extends string>(values: Record<string, unknown>, name: string, def: T, allowed: readonly T[]): T {
  const raw = values[name];
  if (raw === undefined) return def;
  if (!allowed.includes(raw as T)) throw new UserError(`--${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** Exactly n positional arguments, named for the error message. */
export function positionals(command: string, got: string[], names: string[]): string[] {
  if (got.length !== names.length) {
    const want = names.map((n) => `<${n}>`).join(' ');
    throw new UserError(`${command}: expected ${want}, got ${got.length} argument(s) (see rnnkit ${command} --help)`);
  }
  return got;
}
