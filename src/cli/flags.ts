// One table per command lists its options: the help text and the parsed, validated
// values (with the defaults the help shows) both come from it, so they cannot drift.
import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.js';

export interface Flag {
  help: string;
  /** Placeholder of the value, e.g. 'N'; absent: a switch that takes no value. */
  arg?: string;
  /** Default, shown in the help; undefined: none (the option is off or required). */
  def?: number | string | boolean;
  int?: boolean;
  min?: number;
  /** The value must exceed min (not equal it). */
  above?: boolean;
  max?: number;
  choices?: readonly string[];
  /** Help section title; options follow the previous one's section when absent. */
  group?: string;
  short?: string;
  /** The option may be given more than once (read with strs). */
  multiple?: boolean;
}

export type FlagTable = Record<string, Flag>;

type Raw = string | boolean | string[] | undefined;

export class FlagValues {
  private values: Record<string, Raw>;

  /** preset: values that replace the table's defaults (a --preset); what the user gave still wins. */
  constructor(readonly command: string, readonly table: FlagTable, private user: Record<string, Raw>, preset: Record<string, string> = {}) {
    this.values = { ...preset };
    for (const [k, v] of Object.entries(user)) if (v !== undefined) this.values[k] = v;
  }

  /** The same options over a preset's defaults. */
  withPreset(preset: Record<string, string>): FlagValues {
    return new FlagValues(this.command, this.table, this.user, preset);
  }

  /** Whether the user gave the option (a preset's value does not count). */
  given(name: string): boolean {
    return this.user[this.known(name)] !== undefined;
  }

  /** Whether the option has a value, from the user or a preset. */
  set(name: string): boolean {
    return this.values[this.known(name)] !== undefined;
  }

  bool(name: string): boolean {
    return !!(this.values[this.known(name)] ?? this.table[name]!.def);
  }

  str(name: string): string | undefined {
    const v = this.values[this.known(name)];
    return v === undefined ? (this.table[name]!.def as string | undefined) : String(v);
  }

  /** The option's value (or default) as one of its choices. */
  choice<T extends string>(name: string): T {
    const f = this.table[this.known(name)]!, v = this.str(name);
    if (v === undefined) throw new UserError(`${this.command}: --${name} is required`);
    if (f.choices && !f.choices.includes(v)) throw new UserError(`--${name} must be one of ${f.choices.join(', ')}, got '${v}'`);
    return v as T;
  }

  /** Every value of a repeatable option, in the order given. */
  strs(name: string): string[] {
    const v = this.values[this.known(name)];
    return v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
  }

  /** The option's comma-separated items (or its default's); undefined when it has neither. */
  list(name: string): string[] | undefined {
    const raw = this.str(name);
    if (raw === undefined) return undefined;
    const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (!items.length) throw new UserError(`--${name} needs a comma-separated list, got '${raw}'`);
    if (new Set(items).size !== items.length) throw new UserError(`--${name} lists something twice: '${raw}'`);
    return items;
  }

  /** The option's number (or default), checked against the table's int/min/max. */
  num(name: string): number {
    const f = this.table[this.known(name)]!, raw = this.values[name];
    if (raw === undefined) {
      if (typeof f.def !== 'number') throw new UserError(`${this.command}: --${name} is required`);
      return f.def;
    }
    const s = String(raw).trim(), v = s === '' ? NaN : Number(s);
    if (!Number.isFinite(v) || (f.int && !Number.isInteger(v))) throw new UserError(`--${name} must be ${f.int ? 'an integer' : 'a number'}, got '${raw}'`);
    if (f.min !== undefined && (f.above ? v <= f.min : v < f.min)) throw new UserError(`--${name} must be ${f.above ? 'greater than' : 'at least'} ${f.min}, got ${v}`);
    if (f.max !== undefined && v > f.max) throw new UserError(`--${name} must be at most ${f.max}, got ${v}`);
    return v;
  }

  private known(name: string): string {
    if (!this.table[name]) throw new Error(`${this.command}: no option --${name} in its table`);
    return name;
  }
}

/**
 * Parses argv against the table (strict: unknown options are one-line errors). -h/--help
 * are always accepted, and so is --backend NAME: main.ts reads it before any command runs
 * (models take their arrays from the backend); a table lists it only to show it in the help.
 */
export function parseFlags(command: string, argv: string[], table: FlagTable): { flags: FlagValues; positionals: string[]; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' }, backend: { type: 'string' } };
  for (const [name, f] of Object.entries(table)) options[name] = { type: f.arg ? 'string' : 'boolean', ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { flags: new FlagValues(command, table, values as Record<string, Raw>), positionals, help: !!values['help'] };
  } catch (e) {
    const msg = (e as Error).message.replace(/\s*\n\s*/g, ' ').replace(/\. To specify a positional argument.*$/, '');
    throw new UserError(`${command}: ${msg} (see rnnkit ${command} --help)`);
  }
}

/** The options part of a command's help, in table order, grouped and aligned. */
export function flagHelp(table: FlagTable): string {
  const rows = Object.entries(table).map(([name, f]) => ({ f, left: `  ${f.short ? `-${f.short}, ` : ''}--${name}${f.arg ? ` ${f.arg}` : ''}` }));
  const width = Math.min(30, Math.max(...rows.map((r) => r.left.length)) + 2);
  let out = '';
  for (const { f, left } of rows) {
    if (f.group) out += `${out ? '\n' : ''}${f.group}:\n`;
    const def = f.def === undefined || f.def === false ? '' : ` (${f.def === true ? 'on' : f.def})`;
    const choices = f.choices ? ` ${f.choices.join(' | ')}` : '';
    const lines = wrap(`${f.help}${choices ? `:${choices}` : ''}${def}`, 80 - width), pad = ' '.repeat(width);
    out += left.length + 1 > width ? `${left}\n${pad}` : left.padEnd(width);
    out += lines.join(`\n${pad}`) + '\n';
  }
  return out + '  -h, --help\n';
}

/** Words of text in lines of at most n characters (a longer word gets its own line). */
function wrap(text: string, n: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur && cur.length + 1 + w.length > n) { lines.push(cur); cur = w; } else cur = cur ? `${cur} ${w}` : w;
  }
  return [...lines, cur];
}

/** Exactly the named positional arguments. */
export function expectPositionals(command: string, got: string[], names: string[]): string[] {
  if (got.length !== names.length) {
    throw new UserError(`${command}: expected ${names.map((n) => `<${n}>`).join(' ')}, got ${got.length} argument(s) (see rnnkit ${command} --help)`);
  }
  return got;
}
