#!/usr/bin/env node
// rnnkit command line: train | sample | eval | bench. User errors print one line and exit 1.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { UserError } from '../core/errors.js';
import { availableBackends, getBackend } from '../backend/registry.js';
import { BACKEND_PREFERENCE, initBackend, loadBackends } from '../backend/init.js';
import { hasRelaxedSimd } from '../backend/wasm/index.js';
import { trainCommand } from './train.js';
import { sampleCommand, evalCommand } from './commands.js';
import { benchCommand } from './bench.js';
import { memoryCommand } from './memory.js';
import { analyzeCommand } from './analyze.js';
import { classifyCommand } from './classify.js';
import { tagCommand } from './tag.js';
import { translateCommand } from './translate.js';
import { infoCheckpoint } from './info.js';
import { cellsCommand } from './cells.js';

const HELP = `Usage: rnnkit <command> [options]

Commands:
  train <text-file>              train a character-level language model
  sample <checkpoint>            generate text from a trained model
  eval <checkpoint> <text-file>  loss of a text under a model (nats, bits/char)
  bench                          training tokens/s and sampling chars/s
  memory                         long-range memory benchmark (copy task): RNN vs LSTM vs GRU
  analyze gradients [<ckpt>...]  vanishing/exploding gradients: norm vs distance, Jacobians
  cells <checkpoint> <text-file> interpretable cells: a viewer page and a search by signal
  classify train|eval|predict    many-to-one text classification (label<TAB>text files)
  tag train|eval|predict         a label per token (token<TAB>tag conll files)
  translate train|eval|<ckpt>    sequence to sequence (source<TAB>target files)
  info [<checkpoint>]            version and compute backends, or what a checkpoint holds

Common options:
  --backend NAME                 compute backend: auto (the fastest available), native,
                                 wasm or ref (the plain TypeScript reference)
  -h, --help                     help for a command: rnnkit <command> --help
  -v, --version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function versionInfo(cmd: string): Promise<number> {
  process.stdout.write(`rnnkit ${version()} (node ${process.versions.node}), backend: ${getBackend().name} (available: ${availableBackends().join(', ')})\n`);
  if (cmd === 'info') {
    const d = getBackend().describe?.();
    if (d) process.stdout.write(`  ${getBackend().name}: ${d}\n`);
    const slow = getBackend().slowWarning?.();
    if (slow) process.stdout.write(`  warning: ${slow}\n`);
    for (const [name, why] of Object.entries(await loadBackends())) process.stdout.write(`  ${name}: unavailable (${why})\n`);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // --backend may appear anywhere; the commands accept and ignore it. The backend is
  // chosen before any model exists, since models allocate their arrays from it.
  const bi = rest.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
  let backend = 'auto';
  if (bi >= 0) {
    const name = rest[bi]!.includes('=') ? rest[bi]!.split('=')[1]! : rest[bi + 1];
    if (!name || name.startsWith('-')) throw new UserError('--backend needs a name (auto, native, wasm or ref)');
    backend = name;
  }
  if (['train', 'sample', 'eval', 'cells', 'bench', 'memory', 'analyze', 'classify', 'tag', 'translate', 'info', '--version', '-v'].includes(cmd ?? '')) {
    // Relaxed SIMD (the wasm kernels' fused multiply-add) is on by default from Node 22;
    // Node 20's V8 has it behind a flag. The CLI owns its process, so it sets the flag
    // before any wasm is compiled (RNNKIT_WASM_RELAXED=0 keeps the plain kernels).
    if (process.env['RNNKIT_WASM_RELAXED'] !== '0' && !hasRelaxedSimd()) setFlagsFromString('--experimental-wasm-relaxed-simd');
    await loadBackends();
    if (backend !== 'auto' && !(BACKEND_PREFERENCE as readonly string[]).includes(backend)) {
      throw new UserError(`unknown backend '${backend}' (backends: auto, ${BACKEND_PREFERENCE.join(', ')})`);
    }
    try { await initBackend(backend); } catch (e) { throw new UserError((e as Error).message); }
    // said on every command: a silent 3-4x slowdown is how this went unnoticed before
    const slow = cmd === 'info' ? null : getBackend().slowWarning?.();
    if (slow) process.stderr.write(`rnnkit: warning: ${getBackend().name} backend: ${slow}\n`);
  }
  switch (cmd) {
    case 'train': return trainCommand(rest);
    case 'sample': return sampleCommand(rest);
    case 'eval': return evalCommand(rest);
    case 'cells': return cellsCommand(rest);
    case 'bench': return benchCommand(rest);
    case 'memory': return memoryCommand(rest);
    case 'analyze': return analyzeCommand(rest);
    case 'classify': return classifyCommand(rest);
    case 'tag': return tagCommand(rest);
    case 'translate': return translateCommand(rest);
    case 'info': {
      const files = rest.filter((a, i) => !a.startsWith('-') && rest[i - 1] !== '--backend');
      if (files.length > 1) throw new UserError('info: expected at most one <checkpoint>');
      if (files.length === 1) return infoCheckpoint(files[0]!, rest.includes('--json'));
      return versionInfo(cmd);
    }
    case '--version':
    case '-v':
      return versionInfo(cmd);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return cmd === undefined ? 1 : 0;
    default:
      throw new UserError(`unknown command '${cmd}' (commands: train, sample, eval, cells, bench, memory, analyze, classify, tag, translate, info; see rnnkit --help)`);
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
