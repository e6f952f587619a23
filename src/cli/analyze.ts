// rnnkit analyze gradients: makes vanishing and exploding gradients visible, for
// checkpoints and for fresh models (src/analysis/gradients.ts does the measuring).
// docs/gradients.md shows and explains its charts.
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagHelp, parseFlags, type FlagTable, type FlagValues } from './flags.js';
import { Progress, formatDuration } from './progress.js';
import { UserError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { getBackend, setBackend } from '../backend/registry.js';
import { readTextFile, writeFileAtomic } from '../node/files.js';
import { readCheckpointFile } from '../node/checkpoint-file.js';
import { CharLM } from '../models/char-lm.js';
import { Vocab } from '../data/vocab.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { lineChart, type Series } from '../viz/chart.js';
import { svgToPng } from '../viz/png.js';
import {
  gradientWindows, gradientVsDistance, float64Copy, weightSpectra, scaleRecurrentWeights, jacobianNorms,
  perStepFactor, quantile, mean, type DistanceProfile, type JacobianProfile, type WeightSpectrum,
} from '../analysis/gradients.js';

/** The bundled text: dist/src/cli/ is three levels below the package root. */
const DEFAULT_TEXT = fileURLToPath(new URL('../../../data/tinyshakespeare.txt', import.meta.url));

const FLAGS: FlagTable = {
  cell: { arg: 'LIST', help: 'rnn_tanh (or rnn), rnn_relu, lstm, gru; comma-separated', group: 'Fresh models (--cell)' },
  sigma: { arg: 'LIST', help: "scale each layer's whole W_hh (all gate blocks alike) so its largest singular value is S; one model per value (default: PyTorch init, unscaled)" },
  'forget-bias': { arg: 'LIST', help: "LSTM forget-gate bias; 'pytorch' = PyTorch's uniform init", def: '1' },
  'layer-norm': { help: 'layer-normalised cells (they normalise W_hh h, so --sigma changes nothing there)' },
  hidden: { arg: 'H', help: 'hidden units per layer', def: 128, int: true, min: 1 },
  layers: { arg: 'L', help: 'stacked recurrent layers', def: 1, int: true, min: 1 },
  embedding: { arg: 'E', help: 'embedding size', def: 64, int: true, min: 1 },
  seed: { arg: 'S', help: 'initialisation seed, the same for every model', def: 1, int: true, min: 0 },
  text: { arg: 'FILE', help: 'text the windows come from (default: the bundled data/tinyshakespeare.txt)', group: 'Measurement' },
  distance: { arg: 'K', help: 'largest distance k', def: 100, int: true, min: 1 },
  windows: { arg: 'B', help: 'windows', def: 64, int: true, min: 1 },
  'jacobian-windows': { arg: 'N', help: 'windows whose per-step Jacobians are measured, 0 = none', def: 8, int: true, min: 0 },
  'jacobian-every': { arg: 'S', help: 'Jacobians at every S-th distance', def: 1, int: true, min: 1 },
  'full-state': { help: 'LSTM: also the Jacobian of the whole state (h, c)' },
  float32: { help: 'gradients in float32 on the chosen backend: faster for big models, but norms below ~1e-38 come out as 0' },
  out: { arg: 'DIR', help: 'folder of gradients.csv, weights.csv, jacobians.csv, summary.csv, gradients.svg, jacobians.svg', def: 'analysis', group: 'Output' },
  title: { arg: 'TEXT', help: 'chart titles start with TEXT' },
  png: { help: 'also write gradients.png and jacobians.png (needs @resvg/resvg-js)' },
  backend: { arg: 'NAME', help: 'compute backend for the Jacobians', def: 'auto' },
};

export const ANALYZE_HELP = `Usage: rnnkit analyze gradients [<checkpoint>...] [--cell C[,C2...] [options]]

Makes vanishing and exploding gradients visible. Takes B windows of K+1 characters
at evenly spaced positions of a text, runs each from the zero state, backpropagates
the loss of its LAST prediction only, and measures for every layer:
  - ‖dL_t/dh_{t-k}‖ against the distance k = 0..K (geometric mean and median over
    windows, and the ratio to k = 0, which does not depend on the output layer's
    scale); computed in float64 on the reference backend (unless --float32), since
    vanishing gradients fall below float32's range within ~100 steps;
  - σ_max, the largest singular value, of W_hh (and of each gate block);
  - the spectral norm of the per-step Jacobians ∂h_t/∂h_{t-1} on some of the windows
    (LSTM: with c_{t-1} held fixed; --full-state adds the whole (h, c) state's).
Models are the checkpoints given, and/or fresh models: every combination of --cell
and --sigma values (and --forget-bias values for LSTMs), all initialised with --seed.

${flagHelp(FLAGS)}
Prints a summary per model and layer: σ_max(W_hh), the mean and largest Jacobian
norm, the gradient norm at k = 0, 10, 50, 100 and the fitted per-step factor
exp(slope of log norm against k): below 1 the gradient vanishes geometrically.
Progress goes to stderr. See docs/gradients.md.
`;

/** A model to analyze: a checkpoint or a fresh model, with its label and vocabulary. */
interface Subject { label: string; model: CharLM; vocab: Vocab }

interface Result {
  subject: Subject;
  weights: WeightSpectrum[];
  gradients: DistanceProfile[];
  jacobians: JacobianProfile[];
}

function parseCells(f: FlagValues): CellType[] {
  return (f.list('cell') ?? []).map((c) => {
    const cell = c === 'rnn' ? 'rnn_tanh' : c;
    if (!CELL_TYPES.includes(cell as CellType)) throw new UserError(`--cell: unknown cell '${c}' (cells: rnn, ${CELL_TYPES.join(', ')})`);
    return cell as CellType;
  });
}

function parseNumbers(f: FlagValues, name: string, ok: (v: number) => boolean, what: string): number[] | null {
  return f.list(name)?.map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || !ok(v)) throw new UserError(`--${name} must be ${what}, got '${s}'`);
    return v;
  }) ?? null;
}

/** Fresh models: cells x sigmas (x forget biases for LSTMs), one seed for all. */
function freshSubjects(f: FlagValues, vocab: Vocab): Subject[] {
  const cells = parseCells(f);
  const sigmas = parseNumbers(f, 'sigma', (x) => x > 0, 'positive numbers') ?? [null];
  const fbs = f.list('forget-bias')!.map((s) => {
    if (s === 'pytorch') return null;
    const x = Number(s);
    if (!Number.isFinite(x)) throw new UserError(`--forget-bias must be numbers or 'pytorch', got '${s}'`);
    return x;
  });
  const base = {
    vocab_size: vocab.size,
    hidden_size: f.num('hidden'),
    num_layers: f.num('layers'),
    embedding_size: f.num('embedding'),
    layer_norm: f.bool('layer-norm'),
  };
  const seed = f.num('seed');
  const out: Subject[] = [];
  for (const cell of cells) {
    for (const sigma of sigmas) {
      for (const fb of cell === 'lstm' ? fbs : [1]) {
        const model = new CharLM({ ...base, cell, forget_bias: fb }).init(new Rng(seed));
        if (sigma !== null) scaleRecurrentWeights(model, sigma);
        let label = cell as string;
        if (sigma !== null) label += ` σ=${sigma}`;
        if (cell === 'lstm') label += fb === null ? ' (PyTorch init)' : ` fb=${fb}`;
        if (base.layer_norm) label += ' LN';
        out.push({ label, model, vocab });
      }
    }
  }
  return out;
}

/** "run/best" for run/best.safetensors: the file and its folder, which usually names the run. */
function checkpointLabel(path: string): string {
  const file = basename(path).replace(/\.safetensors$/, ''), dir = basename(dirname(path));
  return dir && dir !== '.' ? `${dir}/${file}` : file;
}

/** Runs fn on the reference backend (the only one that computes in float64). */
function onReferenceBackend<T>(fn: () => T): T {
  const prev = getBackend().name;
  setBackend('ref');
  try { return fn(); } finally { setBackend(prev); }
}

// ---- output ----

/** Numbers with 6 significant digits, exponent form when tiny or huge. */
const fmt = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x));
const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const csv = (rows: (string | number)[][]): string =>
  rows.map((r) => r.map((x) => csvField(typeof x === 'number' ? fmt(x) : x)).join(',')).join('\n') + '\n';

/** Mean and largest norm over every sampled step of one layer's Jacobians of one kind. */
function jacobianSummary(r: Result, l: number, kind: 'h' | 'state'): { mean: number; max: number } | null {
  const p = r.jacobians.find((j) => j.layer === l && j.kind === kind);
  if (!p) return null;
  const all = p.norms.flatMap((v) => Array.from(v));
  return { mean: mean(all), max: all.reduce((a, b) => Math.max(a, b), -Infinity) };
}

/** Distances shown in the summary: 0, 10, 50, 100 and K, those within reach. */
function shownDistances(K: number): number[] {
  return [...new Set([0, 10, 50, 100, K])].filter((k) => k <= K).sort((a, b) => a - b);
}

function summaryRows(results: Result[], K: number): (string | number)[][] {
  const head = ['model', 'cell', 'layer', 'sigma_max_whh', 'jacobian_mean', 'jacobian_max', 'state_jacobian_mean',
    ...shownDistances(K).map((k) => `grad_k${k}`), 'per_step_factor'];
  const rows: (string | number)[][] = [head];
  for (const r of results) {
    for (const g of r.gradients) {
      const l = g.layer, j = jacobianSummary(r, l, 'h'), js = jacobianSummary(r, l, 'state');
      rows.push([r.subject.label, r.subject.model.config.cell, l,
        r.weights.find((w) => w.layer === l && w.block === 'W_hh')!.sigmaMax,
        j ? j.mean : '', j ? j.max : '', js ? js.mean : '',
        ...shownDistances(K).map((k) => g.geoMean[k]!), perStepFactor(g.geoMean)]);
    }
  }
  return rows;
}

/** The stdout table: one row per model and layer, aligned. */
function formatSummary(rows: (string | number)[][]): string {
  const names: Record<string, string> = {
    sigma_max_whh: 'σmax(W_hh)', jacobian_mean: 'mean‖J‖', jacobian_max: 'max‖J‖', state_jacobian_mean: 'mean‖J(h,c)‖', per_step_factor: 'per step',
  };
  const head = rows[0]!.map((h) => names[h] ?? String(h).replace(/^grad_k(\d+)$/, '‖g‖ k=$1'));
  const keep = head.map((_, i) => i !== 1 && (i !== 6 || rows.slice(1).some((r) => r[6] !== ''))); // drop cell; state only if any
  const cells = rows.slice(1).map((r) => r.map((x, i) => typeof x === 'string' ? x
    : i === 2 ? String(x) : i >= 7 && i < r.length - 1 ? x.toExponential(2) : x.toFixed(3)));
  const table = [head, ...cells].map((r) => r.filter((_, i) => keep[i]));
  const w = table[0]!.map((_, i) => Math.max(...table.map((r) => [...r[i]!].length)));
  return table.map((r) => r.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ')).join('\n') + '\n';
}

function seriesName(r: Result, l: number, layers: boolean): string {
  return layers ? `${r.subject.label} (layer ${l})` : r.subject.label;
}

function gradientChart(results: Result[], title: string, note: string): string {
  const layers = results.some((r) => r.gradients.length > 1), series: Series[] = [];
  for (const r of results) {
    for (const g of r.gradients) series.push({ name: seriesName(r, g.layer, layers), x: g.ratio.map((_, k) => k), y: g.ratio });
  }
  return lineChart(series, {
    title, note, logY: true, xLabel: 'distance k (steps back from the predicting step t)',
    yLabel: '‖∂L_t/∂h_(t−k)‖ / ‖∂L_t/∂h_t‖',
  });
}

function jacobianChart(results: Result[], title: string, note: string): string {
  const layers = results.some((r) => r.gradients.length > 1), series: Series[] = [];
  for (const r of results) {
    for (const p of r.jacobians) {
      // an LSTM's gradient is multiplied by the whole state's Jacobian: show that one when measured
      if (p.kind === 'h' && r.jacobians.some((q) => q.layer === p.layer && q.kind === 'state')) continue;
      const name = seriesName(r, p.layer, layers) + (p.kind === 'state' ? ' (h, c)' : '');
      series.push({ name, x: p.distances, y: p.norms.map(mean), dashed: p.kind === 'state' });
    }
  }
  return lineChart(series, {
    title, note, xLabel: 'distance k of the step (J takes the gradient from k−1 to k)',
    yLabel: 'spectral norm of the step Jacobian (mean over windows)', yMin: 0,
  });
}

// ---- the command ----

export async function analyzeCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    process.stdout.write(ANALYZE_HELP);
    return sub === undefined ? 1 : 0;
  }
  if (sub !== 'gradients') throw new UserError(`analyze: unknown analysis '${sub}' (analyses: gradients; see rnnkit analyze --help)`);
  const { flags: f, positionals: paths, help } = parseFlags('analyze', rest, FLAGS);
  if (help) { process.stdout.write(ANALYZE_HELP); return 0; }

  // every option is checked before any work
  const fresh = f.set('cell');
  if (f.set('sigma') && paths.length) {
    throw new UserError('--sigma rescales fresh models (--cell) only; it cannot be used with checkpoints, run them separately');
  }
  for (const name of ['sigma', 'forget-bias', 'layer-norm', 'hidden', 'layers', 'embedding', 'seed']) {
    if (f.set(name) && !fresh) throw new UserError(`--${name} sets up fresh models and needs --cell (see rnnkit analyze --help)`);
  }
  if (!fresh && !paths.length) throw new UserError('analyze gradients: give checkpoint(s) and/or --cell for fresh models (see rnnkit analyze --help)');
  const K = f.num('distance');
  const B = f.num('windows');
  const JB = f.num('jacobian-windows');
  const every = f.num('jacobian-every');
  const outDir = f.str('out')!;
  const textPath = f.str('text') ?? DEFAULT_TEXT;

  const text = await readTextFile(textPath, 'text file');
  const subjects: Subject[] = [];
  for (const p of paths) {
    const { model, vocab } = await readCheckpointFile(p);
    subjects.push({ label: checkpointLabel(p), model, vocab });
  }
  if (fresh) subjects.push(...freshSubjects(f, Vocab.fromText(text)));
  const seen = new Map<string, number>();
  for (const s of subjects) { // two best.safetensors in folders of the same name
    const n = (seen.get(s.label) ?? 0) + 1;
    seen.set(s.label, n);
    if (n > 1) s.label += ` #${n}`;
  }
  const idsOf = subjects.map((s) => {
    const ids = s.vocab.encode(text, textPath);
    if (ids.length < K + 2) {
      throw new UserError(`${textPath} has ${ids.length.toLocaleString('en')} characters; --distance ${K} needs at least ${K + 2} (K+1 inputs and a target)`);
    }
    return ids;
  });

  const progress = new Progress(), t0 = performance.now(), results: Result[] = [];
  for (const [i, s] of subjects.entries()) {
    const tag = `analyze [${i + 1}/${subjects.length}] ${s.label}`, ids = idsOf[i]!;
    progress.status(`${tag}: gradients`, true);
    const weights = weightSpectra(s.model);
    const gw = gradientWindows(ids, K, B);
    const gradients = f.bool('float32') ? gradientVsDistance(s.model, gw) : onReferenceBackend(() => gradientVsDistance(float64Copy(s.model), gw));
    const jacobians = JB === 0 ? [] : jacobianNorms(s.model, gradientWindows(ids, K, JB), {
      every, fullState: f.bool('full-state'),
      onProgress: (done, total) => progress.status(`${tag}: Jacobians ${done}/${total}`),
    });
    results.push({ subject: s, weights, gradients, jacobians });
    const secs = (performance.now() - t0) / 1000;
    if (!progress.live && secs >= 10) progress.log(`${tag}: done, ${formatDuration(secs)}`);
  }
  progress.clear();

  // files
  const textName = f.set('text') ? basename(textPath) : 'data/tinyshakespeare.txt';
  const written: string[] = [];
  const write = async (name: string, data: string | Uint8Array) => {
    const path = join(outDir, name);
    await writeFileAtomic(path, data);
    written.push(path);
  };
  const gradRows: (string | number)[][] = [['model', 'cell', 'layer', 'distance', 'geo_mean_norm', 'median_norm', 'ratio_to_k0']];
  const weightRows: (string | number)[][] = [['model', 'layer', 'block', 'sigma_max']];
  const jacRows: (string | number)[][] = [['model', 'cell', 'layer', 'jacobian', 'distance', 'count', 'mean', 'p10', 'median', 'p90', 'max']];
  for (const r of results) {
    const { label } = r.subject, cell = r.subject.model.config.cell;
    for (const g of r.gradients) {
      g.geoMean.forEach((x, k) => gradRows.push([label, cell, g.layer, k, x, g.median[k]!, g.ratio[k]!]));
    }
    for (const w of r.weights) weightRows.push([label, w.layer, w.block, w.sigmaMax]);
    for (const p of r.jacobians) {
      p.distances.forEach((k, i) => {
        const n = p.norms[i]!;
        jacRows.push([label, cell, p.layer, p.kind === 'h' ? 'dh/dh_prev' : 'dstate/dstate_prev', k, n.length,
          mean(n), quantile(n, 0.1), quantile(n, 0.5), quantile(n, 0.9), Math.max(...n)]);
      });
    }
  }
  const summary = summaryRows(results, K);
  await write('gradients.csv', csv(gradRows));
  await write('weights.csv', csv(weightRows));
  await write('jacobians.csv', csv(jacRows));
  await write('summary.csv', csv(summary));

  const prefix = f.set('title') ? `${f.str('title')}: ` : '';
  const charts: [string, string][] = [[
    'gradients',
    gradientChart(results, `${prefix}gradient norm vs distance`,
      `${textName}: geometric mean over ${B} windows of ${K + 1} steps, last prediction's loss`),
  ]];
  if (JB > 0) {
    const lstm = subjects.some((s) => s.model.config.cell === 'lstm');
    const lstmNote = !lstm ? '' : f.bool('full-state') ? '; dashed: LSTM (h, c) state' : '; LSTM: c_prev held fixed';
    charts.push(['jacobians', jacobianChart(results, `${prefix}per-step Jacobian norm`, `${textName}, ${JB} windows of ${K + 1} steps${lstmNote}`)]);
  }
  for (const [name, svg] of charts) await write(`${name}.svg`, svg);
  if (f.bool('png')) for (const [name, svg] of charts) await write(`${name}.png`, await svgToPng(svg, { scale: 2 }));

  process.stdout.write(
    `gradient of the last prediction's loss at distance k (geometric mean over ${B} windows of ${textName}); ` +
    `per step = exp(slope of log norm vs k)\n\n` + formatSummary(summary) + '\n' +
    written.map((p) => `wrote ${p}`).join('\n') + '\n');
  return 0;
}
