#!/usr/bin/env node
// rnnkit command line: train | sample | eval. User errors print one line and exit 1.
import { readFileSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { availableBackends, getBackend, setBackend } from '../backend/registry.js';
import { trainCommand } from './train.js';
import { sampleCommand, evalCommand } from './commands.js';

const HELP = `Usage: rnnkit <command> [options]

Commands:
  train <text-file>              train a character-level language model
  sample <checkpoint>            generate text from a trained model
  eval <checkpoint> <text-file>  loss of a text under a model (nats, bits/char)
  info                           version and compute backends

Common options:
  --backend NAME                 compute backend (available: ${availableBackends().join(', ')})
  -h, --help                     help for a command: rnnkit <command> --help
  -v, --version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // --backend may appear anywhere; the commands accept and ignore it
  const bi = rest.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  if (bi >= 0) {
    const name = rest[bi]!.includes('=') ? rest[bi]!.split('=')[1]! : rest[bi + 1];
    if (!name) throw new UserError('--backend needs a name');
    try { setBackend(name); } catch (e) { throw new UserError((e as Error).message); }
  }
  switch (cmd) {
    case 'train': return trainCommand(rest);
    case 'sample': return sampleCommand(rest);
    case 'eval': return evalCommand(rest);
    case 'info':
    case '--version':
    case '-v':
      process.stdout.write(`rnnkit ${version()} (node ${process.versions.node}), backend: ${getBackend().name} (available: ${availableBackends().join(', ')})\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return cmd === undefined ? 1 : 0;
    default:
      throw new UserError(`unknown command '${cmd}' (commands: train, sample, eval, info; see rnnkit --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof UserError) process.stderr.write(`rnnkit: ${e.message}\n`);
    else if (e instanceof Error && process.env['RNNKIT_DEBUG']) process.stderr.write(`rnnkit: internal error\n${e.stack}\n`);
    else process.stderr.write(`rnnkit: internal error: ${e instanceof Error ? e.message : String(e)} (set RNNKIT_DEBUG=1 for a stack trace)\n`);
    process.exitCode = 1;
  },
);
