// Commands with subcommands (classify train|eval|predict, tag ...): dispatch, usage, errors.
import { UserError } from '../core/errors.js';

export async function dispatch(command: string, argv: string[], subs: Record<string, (argv: string[]) => Promise<number>>, usage?: string): Promise<number> {
  const [sub, ...rest] = argv, names = Object.keys(subs);
  if (sub !== undefined && subs[sub]) return subs[sub]!(rest);
  if (sub === undefined || sub === '-h' || sub === '--help') {
    process.stdout.write(usage ?? `Usage: rnnkit ${command} ${names.join('|')} ...  (rnnkit ${command} <subcommand> --help)\n`);
    return sub === undefined ? 1 : 0;
  }
  throw new UserError(`${command}: unknown subcommand '${sub}' (${names.join(', ')})`);
}
