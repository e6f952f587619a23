// rnnkit memory: the copy-task benchmark (src/tasks/copy-task.ts) over cells x lags.
// Every run trains a fresh model of about the same parameter count with the same step
// budget; the table shows at which lag each cell stops learning. docs/memory-task.md
// has a measured table and how to read it.
import { flagHelp, parseFlags, type FlagTable, type FlagValues } from './flags.js';
import { UserError } from '../core/errors.js';
import { getBackend } from '../backend/registry.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { COPY_DEFAULTS, copyLayout, trainCopyTask, type CopyTaskResult } from '../tasks/copy-task.js';
import { Progress, formatDuration } from './progress.js';

export const MEMORY_DEFAULTS = {
  cells: ['rnn_tanh', 'lstm', 'gru'] as CellType[],
  lags: [0, 5, 10, 20, 50, 100],
  params: COPY_DEFAULTS.paramBudget,
  symbols: 8,
  length: 5,
  steps: 10_000,
  batch: 32,
  lr: 0.002,
  clip: 1,
  seed: 1,
};

const D = MEMORY_DEFAULTS;

const FLAGS: FlagTable = {
  task: { arg: 'NAME', help: 'the benchmark task (only one so far)', choices: ['copy'], def: 'copy' },
  cells: { arg: 'LIST', help: 'comma-separated: rnn_tanh (or rnn), rnn_relu, lstm, gru', def: D.cells.join(',') },
  lags: { arg: 'LIST', help: 'comma-separated blanks between the last data symbol and the delimiter', def: D.lags.join(',') },
  params: { arg: 'N', help: 'parameter budget per model, embedding and head included', def: D.params, int: true, min: 100 },
  symbols: { arg: 'S', help: 'data symbols (vocabulary S + 2)', def: D.symbols, int: true, min: 2, max: 1000 },
  length: { arg: 'L', help: 'symbols to copy', def: D.length, int: true, min: 1, max: 1000 },
  embedding: { arg: 'E', help: 'embedding size (default: S + 2)', int: true, min: 1 },
  steps: { arg: 'N', help: 'most training steps per run', def: D.steps, int: true, min: 1 },
  batch: { arg: 'B', help: 'sequences per step', def: D.batch, int: true, min: 1 },
  lr: { arg: 'X', help: 'Adam learning rate', def: D.lr, min: 0, above: true },
  clip: { arg: 'X', help: 'max global gradient norm, 0 = off', def: D.clip, min: 0 },
  seed: { arg: 'S', help: 'weights, training data and held-out set', def: D.seed, int: true, min: 0 },
  'eval-every': { arg: 'N', help: 'steps between held-out checks', def: COPY_DEFAULTS.evalEvery, int: true, min: 1 },
  'eval-size': { arg: 'N', help: 'held-out sequences', def: COPY_DEFAULTS.evalSize, int: true, min: 1 },
  json: { help: 'print one JSON object (settings, every run, largest lags)' },
  markdown: { help: 'print a Markdown table and the command that reproduces it' },
  backend: { arg: 'NAME', help: 'compute backend', def: 'auto' },
};

export const MEMORY_HELP = `Usage: rnnkit memory [options]

Long-range memory benchmark: the copy task (Hochreiter & Schmidhuber 1997, as in
Arjovsky et al. 2016). Each sequence is L random data symbols, then LAG blanks, then
a delimiter and L-1 blanks; from the delimiter on, the network must output the L
symbols in order (each recalled L + LAG steps after it was read; nothing else is
scored, so chance is ln S nats, accuracy 1/S). For every cell and lag a fresh
one-layer model of about --params parameters (hidden size chosen per cell) is
trained with Adam on fresh random batches (zero initial state) for at most --steps
steps; every --eval-every steps it is checked on --eval-size held-out sequences
and stops once their symbol accuracy reaches 0.99 (solved).

Prints a table, rows = cells, columns = lags: "✓ N" = solved at step N,
"✗ a" = not solved, final held-out symbol accuracy a (rounded down); then the
largest lag each cell solved. Progress goes to stderr. See docs/memory-task.md.

${flagHelp(FLAGS)}`;

export interface MemorySettings {
  task: 'copy';
  cells: CellType[];
  lags: number[];
  params: number;
  symbols: number;
  length: number;
  embedding: number | null; // null: S + 2
  steps: number;
  batch: number;
  lr: number;
  clip: number;
  seed: number;
  evalEvery: number;
  evalSize: number;
}

export interface MemoryReport {
  settings: MemorySettings;
  backend: string;
  command: string;
  results: CopyTaskResult[];
  largestSolved: Record<string, number | null>;
  seconds: number;
}

function parseCells(f: FlagValues): CellType[] {
  return f.list('cells')!.map((c) => {
    const cell = c === 'rnn' ? 'rnn_tanh' : c;
    if (!CELL_TYPES.includes(cell as CellType)) throw new UserError(`--cells: unknown cell '${c}' (cells: rnn, ${CELL_TYPES.join(', ')})`);
    return cell as CellType;
  });
}

function parseLags(f: FlagValues): number[] {
  const lags = f.list('lags')!.map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 0) throw new UserError(`--lags must be non-negative integers, got '${s}'`);
    return v;
  });
  if (new Set(lags).size !== lags.length) throw new UserError('--lags lists a lag twice');
  return lags.sort((a, b) => a - b);
}

export function parseMemorySettings(f: FlagValues): MemorySettings {
  f.choice('task');
  const s: MemorySettings = {
    task: 'copy',
    cells: parseCells(f),
    lags: parseLags(f),
    params: f.num('params'),
    symbols: f.num('symbols'),
    length: f.num('length'),
    embedding: f.set('embedding') ? f.num('embedding') : null,
    steps: f.num('steps'),
    batch: f.num('batch'),
    lr: f.num('lr'),
    clip: f.num('clip'),
    seed: f.num('seed'),
    evalEvery: f.num('eval-every'),
    evalSize: f.num('eval-size'),
  };
  if (f.bool('json') && f.bool('markdown')) throw new UserError('--json and --markdown are alternatives; give one');
  return s;
}

/** The command line that reruns these settings (every value spelled out). */
export function memoryCommandLine(s: MemorySettings, format: 'text' | 'json' | 'markdown'): string {
  const parts = ['rnnkit memory', `--task ${s.task}`, `--cells ${s.cells.join(',')}`, `--lags ${s.lags.join(',')}`,
    `--params ${s.params}`, `--symbols ${s.symbols}`, `--length ${s.length}`];
  if (s.embedding !== null) parts.push(`--embedding ${s.embedding}`);
  parts.push(`--steps ${s.steps}`, `--batch ${s.batch}`, `--lr ${s.lr}`, `--clip ${s.clip}`, `--seed ${s.seed}`);
  if (s.evalEvery !== COPY_DEFAULTS.evalEvery) parts.push(`--eval-every ${s.evalEvery}`);
  if (s.evalSize !== COPY_DEFAULTS.evalSize) parts.push(`--eval-size ${s.evalSize}`);
  if (format !== 'text') parts.push(`--${format}`);
  return parts.join(' ');
}

const fmtInt = (n: number) => n.toLocaleString('en');

/** Two decimals rounded down, so an unsolved 0.986 reads 0.98, not 0.99. */
const acc2 = (a: number) => (Math.floor(a * 100 + 1e-9) / 100).toFixed(2);

/** "✓ 1,200" (solved at step 1200) or "✗ 0.42" (held-out symbol accuracy at the end, rounded down). */
export function cellEntry(r: CopyTaskResult): string {
  if (r.solved) return `✓ ${fmtInt(r.solvedAt!)}`;
  return `✗ ${acc2(r.symbolAccuracy)}${r.diverged ? ' (diverged)' : ''}`;
}

function largestSolved(results: CopyTaskResult[], cells: CellType[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const c of cells) {
    const solved = results.filter((r) => r.cell === c && r.solved).map((r) => r.lag);
    out[c] = solved.length ? Math.max(...solved) : null;
  }
  return out;
}

function largestLine(s: MemorySettings, largest: Record<string, number | null>, results: CopyTaskResult[]): string[] {
  return s.cells.map((c) => {
    const l = largest[c] ?? null;
    if (l === null) return `${c}: none`;
    const failedBelow = results.filter((r) => r.cell === c && !r.solved && r.lag < l).map((r) => r.lag);
    const all = l === s.lags[s.lags.length - 1] && !failedBelow.length;
    return `${c}: ${l}${all ? ' (every lag tried)' : ''}${failedBelow.length ? ` (but not ${failedBelow.join(', ')})` : ''}`;
  });
}

export function formatTable(rep: MemoryReport): string {
  const s = rep.settings, L = s.length;
  const rows = s.cells.map((c) => {
    const rs = s.lags.map((lag) => rep.results.find((r) => r.cell === c && r.lag === lag)!);
    return [c, String(rs[0]!.hidden), fmtInt(rs[0]!.params), ...rs.map(cellEntry)];
  });
  const head = ['cell', 'hidden', 'params', ...s.lags.map((l) => `lag ${l}`)];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]!].length)));
  const pad = (x: string, i: number) => (i === 0 ? x.padEnd(w[i]!) : ' '.repeat(w[i]! - [...x].length) + x);
  const line = (r: string[]) => r.map(pad).slice(0, 3).join('  ') + ' | ' + r.map(pad).slice(3).join('  ');
  const out = [
    `copy task: ${s.symbols} symbols, length ${L} (each recalled ${L} + lag steps after it was read), ` +
      `~${fmtInt(s.params)} parameters per model; at most ${fmtInt(s.steps)} steps of ${s.batch} sequences, ` +
      `Adam lr ${s.lr}, clip ${s.clip}, seed ${s.seed}; backend ${rep.backend}`,
    `✓ N: held-out symbol accuracy >= ${COPY_DEFAULTS.target} (${fmtInt(s.evalSize)} sequences) first at step N; ` +
      `✗ a: not solved, final accuracy a, rounded down (chance ${(1 / s.symbols).toFixed(3)})`,
    '',
    line(head),
    ...rows.map(line),
    '',
    'largest lag solved:',
    ...largestLine(s, rep.largestSolved, rep.results).map((x) => `  ${x}`),
    `wall time ${formatDuration(rep.seconds)}`,
  ];
  return out.join('\n') + '\n';
}

export function formatMarkdown(rep: MemoryReport): string {
  const s = rep.settings;
  const head = ['cell', 'hidden', 'params', ...s.lags.map((l) => `lag ${l}`)];
  const rows = s.cells.map((c) => {
    const rs = s.lags.map((lag) => rep.results.find((r) => r.cell === c && r.lag === lag)!);
    return [`\`${c}\``, String(rs[0]!.hidden), fmtInt(rs[0]!.params), ...rs.map(cellEntry)];
  });
  const out = [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `Largest lag solved: ${largestLine(s, rep.largestSolved, rep.results).join('; ')}.`,
    '',
    `Copy task with ${s.symbols} symbols, length ${s.length}; ✓ N = held-out symbol accuracy ≥ ${COPY_DEFAULTS.target} ` +
      `first at step N (checked every ${s.evalEvery} steps on ${fmtInt(s.evalSize)} sequences), ✗ a = not solved within ` +
      `${fmtInt(s.steps)} steps, final held-out accuracy a, rounded down (chance ${(1 / s.symbols).toFixed(3)}). ` +
      `Backend ${rep.backend}, wall time ${formatDuration(rep.seconds)}.`,
    '',
    'Reproduce with:',
    '',
    '```sh',
    memoryCommandLine(s, 'markdown'),
    '```',
  ];
  return out.join('\n') + '\n';
}

export async function memoryCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals: pos, help } = parseFlags('memory', argv, FLAGS);
  if (help) { process.stdout.write(MEMORY_HELP); return 0; }
  if (pos.length) throw new UserError(`memory: unexpected argument '${pos[0]}' (see rnnkit memory --help)`);
  const s = parseMemorySettings(f);
  const format = f.bool('json') ? 'json' : f.bool('markdown') ? 'markdown' : 'text';
  for (const lag of s.lags) copyLayout({ symbols: s.symbols, length: s.length, lag }); // validates

  const progress = new Progress(), t0 = performance.now();
  const results: CopyTaskResult[] = [];
  const total = s.cells.length * s.lags.length;
  for (const cell of s.cells) {
    for (const lag of s.lags) {
      const tag = `[${results.length + 1}/${total}] ${cell} lag ${lag}`;
      const r = trainCopyTask({
        cell, lag, paramBudget: s.params, ...(s.embedding !== null ? { embedding: s.embedding } : {}),
        steps: s.steps, batch: s.batch, lr: s.lr, clip: s.clip, seed: s.seed, symbols: s.symbols, length: s.length,
        evalEvery: s.evalEvery, evalSize: s.evalSize,
        onProgress: (p) => progress.status(`memory ${tag}: step ${fmtInt(p.step)}/${fmtInt(p.steps)}, ` +
          `train loss ${p.trainLoss.toFixed(3)}, held-out accuracy ${p.heldOut.symbolAccuracy.toFixed(3)}, ${formatDuration(p.seconds)}`),
      });
      results.push(r);
      const what = r.solved
        ? `solved at step ${fmtInt(r.solvedAt!)}`
        : `not solved after ${fmtInt(r.steps)} steps${r.diverged ? ' (diverged)' : ''} ` +
          `(accuracy by recalled position: ${r.positionAccuracy.map((a) => a.toFixed(2)).join(' ')})`;
      progress.log(`memory ${tag}: ${what}, held-out accuracy ${r.symbolAccuracy.toFixed(3)} ` +
        `(sequences ${r.sequenceAccuracy.toFixed(3)}), loss ${r.loss.toFixed(3)}, H=${r.hidden}, ${fmtInt(r.params)} params, ${formatDuration(r.seconds)}`);
    }
  }
  progress.clear();
  const rep: MemoryReport = {
    settings: s, backend: getBackend().name, command: memoryCommandLine(s, format),
    results, largestSolved: largestSolved(results, s.cells), seconds: (performance.now() - t0) / 1000,
  };
  if (format === 'json') process.stdout.write(JSON.stringify(rep) + '\n');
  else if (format === 'markdown') process.stdout.write(formatMarkdown(rep));
  else process.stdout.write(formatTable(rep));
  return 0;
}
