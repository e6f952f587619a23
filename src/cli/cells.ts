// rnnkit cells: the interpretable-cell viewer page and the automatic cell search.
import { expectPositionals, flagHelp, parseFlags, type FlagTable } from './flags.js';
import { UserError } from '../core/errors.js';
import { readTextFile, writeFileAtomic } from '../node/files.js';
import { readCheckpointFile } from '../node/checkpoint-file.js';
import { LanguageModel } from '../models/language-model.js';
import { analyzeCells, DEFAULT_MAX_SHOWN, type CellsReport, type UserSignal } from '../analysis/cells.js';
import { BUILTIN_SIGNALS, parseNumberSignal } from '../analysis/cell-signals.js';
import { cellsPage, viewAnchor } from '../viz/cells-page.js';
import { Progress, formatDuration } from './progress.js';

const FLAGS: FlagTable = {
  out: { arg: 'FILE', short: 'o', help: 'the HTML page to write', def: 'cells.html' },
  'max-chars': { arg: 'N', help: 'characters shown in the page (about 1.5 KB of page per character for a 2x256 LSTM; the statistics always cover the whole text)', def: DEFAULT_MAX_SHOWN, int: true, min: 1, max: 50000 },
  start: { arg: 'N', help: 'first shown character (position in the text)', def: 0, int: true, min: 0 },
  top: { arg: 'N', help: 'best cells listed per signal', def: 5, int: true, min: 1, max: 100 },
  regex: { arg: 'NAME=RE', multiple: true, help: 'a signal that is 1 on the characters matches of the JavaScript regular expression RE cover (flags g, m, u: ^ and $ match at line ends); repeatable' },
  signal: { arg: 'NAME=FILE', multiple: true, help: 'a signal read from FILE: one number per character of the text, separated by whitespace or commas; repeatable' },
  builtins: { arg: 'LIST', help: `built-in signals to use, comma-separated, or 'none' (default all: ${Object.keys(BUILTIN_SIGNALS).join(', ')})` },
  'skip-unknown': { help: 'leave out characters the model does not know (they are an error otherwise)' },
  title: { arg: 'TEXT', help: 'title of the page (default: the text file and checkpoint)' },
  json: { help: 'print the search as one JSON object instead of a table' },
  quiet: { help: 'no progress on stderr' },
};

export const CELLS_HELP = `Usage: rnnkit cells <checkpoint> <text-file> [-o page.html] [options]

Runs a character language model over the text (from the zero state, the state carried
through the whole file, as rnnkit eval does) and writes one self-contained HTML page
(no network needed) that shows the text coloured by any cell's activation (LSTM: h and
tanh(c); GRU and RNN: h; blue -1, white 0, red +1), the model's top-5 next-character
guesses on hover, the gates' saturation (LSTM input/forget/output, GRU reset/update)
and a reverse search: select a span, get the cells on there and the most similar spans.

It also correlates every cell with hypothesis signals computed from the text and lists
the best cells per signal (Pearson r over the whole text; stdout, or --json). Built-in
signals, each the state after reading the character:
${Object.entries(BUILTIN_SIGNALS).map(([k, v]) => `  ${k.padEnd(14)} ${v}`).join('\n')}
and any --regex NAME=RE or --signal NAME=FILE. The page shows at most --max-chars
characters from --start on; long texts keep only that window's activations in memory.

Example: rnnkit cells checkpoints/linux/best.safetensors test.c -o cells.html \\
           --regex 'macro=^#.*$'

${flagHelp(FLAGS)}`;

/** NAME=VALUE of a --regex or --signal. */
function nameValue(flag: string, item: string): [string, string] {
  const i = item.indexOf('=');
  if (i <= 0 || i === item.length - 1) throw new UserError(`--${flag} needs NAME=${flag === 'regex' ? 'RE' : 'FILE'}, got '${item}'`);
  return [item.slice(0, i), item.slice(i + 1)];
}

export async function cellsCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals: pos, help } = parseFlags('cells', argv, FLAGS);
  if (help) { process.stdout.write(CELLS_HELP); return 0; }
  const [path, file] = expectPositionals('cells', pos, ['checkpoint', 'text-file']);
  const out = f.str('out')!, maxShown = f.num('max-chars'), start = f.num('start'), top = f.num('top');
  const builtins = f.set('builtins') ? (f.str('builtins') === 'none' ? [] : f.list('builtins')!) : undefined;
  const { model, vocab } = await readCheckpointFile(path!);
  const text = await readTextFile(file!, 'text file');
  const lm = new LanguageModel(model, vocab), chars = [...text];
  const unknown = [...new Set(chars)].filter((c) => !vocab.has(c));
  if (unknown.length && !f.bool('skip-unknown')) {
    const list = unknown.slice(0, 10).map((c) => JSON.stringify(c)).join(' ');
    throw new UserError(`${file} has ${unknown.length} character(s) not in the model's vocabulary: ${list}${unknown.length > 10 ? ' ...' : ''} (--skip-unknown leaves them out)`);
  }
  const signals: UserSignal[] = [];
  for (const item of f.strs('regex')) { const [name, regex] = nameValue('regex', item); signals.push({ name, regex }); }
  for (const item of f.strs('signal')) {
    const [name, p] = nameValue('signal', item);
    signals.push({ name, values: parseNumberSignal(name, await readTextFile(p, 'signal file'), chars.length).values });
  }
  const known = chars.length - (f.bool('skip-unknown') ? chars.filter((c) => !vocab.has(c)).length : 0);
  if (start >= known) throw new UserError(`--start ${start} is past the text's end (${known.toLocaleString('en')} characters)`);
  const progress = new Progress(), t0 = Date.now(), quiet = f.bool('quiet');
  let lastLog = t0;
  const onProgress = (done: number, total: number) => {
    if (quiet) return;
    const now = Date.now(), secs = (now - t0) / 1000;
    const line = `cells: ${done.toLocaleString('en')}/${total.toLocaleString('en')} characters, ${formatDuration(secs)}, ${formatDuration((secs * (total - done)) / done)} left`;
    if (progress.live) progress.status(line);
    else if (now - lastLog >= 10_000 && done < total) { progress.log(line); lastLog = now; }
  };
  const report = analyzeCells(lm, text, {
    signals, top, maxShown, start, skipUnknown: f.bool('skip-unknown'), source: file!, onProgress, ...(builtins ? { builtins } : {}),
  });
  progress.clear();
  const page = cellsPage(report, { title: f.str('title') ?? `rnnkit cells: ${file} (${path})` });
  await writeFileAtomic(out, page);
  const seconds = (Date.now() - t0) / 1000;
  if (!quiet) process.stderr.write(`wrote ${out} (${(page.length / 1e6).toFixed(1)} MB, ${[...report.shown.text].length.toLocaleString('en')} of ${report.chars.toLocaleString('en')} characters shown) in ${formatDuration(seconds)}\n`);
  process.stdout.write(f.bool('json') ? JSON.stringify(summary(report, path!, file!, out, seconds)) + '\n' : table(report, file!));
  return 0;
}

/** The search results as plain JSON (no activations): what --json prints. */
function summary(r: CellsReport, checkpoint: string, file: string, page: string, seconds: number): object {
  const cellRef = (c: { layer: number; quantity: string; cell: number; r: number }) => ({ ...c, r: Number(c.r.toFixed(4)), view: viewAnchor(c) });
  return {
    checkpoint, file, page, seconds, model: { cell: r.model.cell, layers: r.model.layers, hidden: r.model.hidden },
    chars: r.chars, skipped: r.skipped, loss_nats: r.lossNats, shown: { start: r.shown.start, chars: [...r.shown.text].length },
    signals: r.signals.map((s) => ({ name: s.name, description: s.description, mean: s.mean, best: s.best.map(cellRef) })),
    gates: r.gates.names.map((name, g) => ({
      gate: name,
      layers: r.gates.left.map((left, l) => {
        const H = r.model.hidden, mean = (a: Float32Array) => a.subarray(g * H, (g + 1) * H).reduce((x, y) => x + y, 0) / H;
        return { layer: l, mean_left: Number(mean(left).toFixed(4)), mean_right: Number(mean(r.gates.right[l]!).toFixed(4)) };
      }),
    })),
  };
}

function table(r: CellsReport, file: string): string {
  const lines = [`${file}: ${r.chars.toLocaleString('en')} characters, loss ${r.lossNats.toFixed(4)} nats/char; best cells per signal (Pearson r; layer L1 is the lowest):`];
  const w = Math.max(6, ...r.signals.map((s) => s.name.length));
  for (const s of r.signals) {
    const cells = s.best.map((c) => `L${c.layer + 1} ${c.quantity} ${c.cell} ${c.r >= 0 ? '+' : '-'}${Math.abs(c.r).toFixed(3)}`);
    lines.push(`  ${s.name.padEnd(w)}  ${cells.join('   ') || '(constant signal)'}`);
  }
  return lines.join('\n') + '\n';
}
