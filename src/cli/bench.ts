// rnnkit bench: steady-state training throughput (tokens/s) and batch-1 sampling
// speed (chars/s) of a character LM on synthetic tokens, on one compute backend.
//
// Training is what `rnnkit train` does per step (Trainer.trainStep: forward, backward,
// global-norm clip, Adam, state carried across chunks); sampling is generate() from
// src/models/sample.ts (one forward(T=1, B=1) plus a softmax draw per character).
// Each measurement warms up first, then times `windows` windows of at least `seconds`
// each and reports the median rate. scripts/bench.mjs runs this over the configs of
// BENCHMARKS.md next to scripts/bench_torch.py.
import { flagHelp, parseFlags, type FlagTable } from './flags.js';
import { UserError } from '../core/errors.js';
import { fastestAvailable, loadBackends } from '../backend/init.js';
import { availableBackends, getBackend } from '../backend/registry.js';
import { CharLM } from '../models/char-lm.js';
import { LanguageModel } from '../models/language-model.js';
import { Vocab } from '../data/vocab.js';
import { Rng } from '../core/rng.js';
import { Trainer } from '../train/trainer.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';

const FLAGS: FlagTable = {
  config: { arg: 'NAME', help: 'shorthand cell-B-T-H-L, e.g. lstm-32-64-256-2 (the options below override its parts)', group: 'Model and data' },
  cell: { arg: 'C', help: 'recurrent cell (rnn = rnn_tanh)', choices: CELL_TYPES, def: 'lstm' },
  layers: { arg: 'L', help: 'stacked recurrent layers', def: 2, int: true, min: 1 },
  hidden: { arg: 'H', help: 'hidden units per layer', def: 256, int: true, min: 1 },
  embedding: { arg: 'E', help: 'embedding size', def: 64, int: true, min: 1 },
  batch: { arg: 'B', help: 'parallel streams', def: 32, int: true, min: 1 },
  seq: { arg: 'T', help: 'steps per chunk', def: 64, int: true, min: 1 },
  vocab: { arg: 'V', help: 'vocabulary size of the random tokens', def: 65, int: true, min: 2, max: 10000 },
  backend: { arg: 'NAME', help: 'compute backend, or auto = fastest available', def: 'auto', group: 'Measurement' },
  only: { arg: 'WHAT', help: 'what to measure', choices: ['train', 'sample', 'both'], def: 'both' },
  seconds: { arg: 'S', help: 'minimum length of one timing window', def: 1, min: 0, above: true },
  windows: { arg: 'N', help: 'timing windows; the median is reported', def: 5, int: true, min: 1 },
  warmup: { arg: 'S', help: 'warm-up seconds before timing (at least 2 steps)', def: 1, min: 0 },
  seed: { arg: 'S', help: 'weights and tokens', def: 1, int: true, min: 0 },
  json: { help: 'print one JSON object instead of a table line' },
  'list-backends': { help: 'print the backends that load here and the one auto picks (JSON), then exit' },
};

export const BENCH_HELP = `Usage: rnnkit bench [options]

Measures, on synthetic random tokens, the steady-state training speed of a
character LM (Embedding -> L recurrent layers -> Linear; one step = forward,
backward, clip 5, Adam, hidden state carried between chunks) in tokens/s, and its
sampling speed with batch 1 (one character at a time, fed back) in chars/s.
Each is warmed up, then timed over several windows; the median is reported.

${flagHelp(FLAGS)}`;

/** cell-B-T-H-L as used in BENCHMARKS.md; 'rnn' there is the Elman tanh cell. */
export interface BenchConfig { cell: CellType; batch: number; seq: number; hidden: number; layers: number; embedding: number; vocab: number }

const CELL_ALIASES: Record<string, CellType> = { rnn: 'rnn_tanh' };
const cellName = (c: CellType) => (c === 'rnn_tanh' ? 'rnn' : c);

/** The config's short name, cell-B-T-H-L (E and V are only added when not the defaults). */
export function configName(c: BenchConfig): string {
  let s = `${cellName(c.cell)}-${c.batch}-${c.seq}-${c.hidden}-${c.layers}`;
  if (c.embedding !== 64) s += `-e${c.embedding}`;
  if (c.vocab !== 65) s += `-v${c.vocab}`;
  return s;
}

/** The options a --config name stands for (a preset under the options given). */
function parseConfigName(name: string): Record<string, string> {
  const m = /^([a-z_]+)-(\d+)-(\d+)-(\d+)-(\d+)$/.exec(name);
  if (!m) throw new UserError(`--config must look like cell-B-T-H-L (e.g. lstm-32-64-256-2), got '${name}'`);
  return { cell: m[1]!, batch: m[2]!, seq: m[3]!, hidden: m[4]!, layers: m[5]! };
}

export interface BenchResult {
  config: BenchConfig & { name: string };
  backend: string;
  kernels: string | null;       // what the backend runs underneath (BLAS, kernel set)
  slow_warning: string | null;  // set when those kernels are slower than the CPU allows
  parameters: number;
  train_tokens_per_s: number | null;
  sample_chars_per_s: number | null;
  peak_rss_mb: number;          // process peak resident set size, whole run
  train_peak_rss_mb: number | null; // peak after training (before sampling)
  train_windows: number[];      // tokens/s of each window
  sample_windows: number[];     // chars/s of each window
  train_step_ms: number | null; // median time of one step
  window_s: number;
  warmup_s: number;
  cpu_s: number;                // CPU seconds of this process (user + system), whole run
  node: string;
}

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const now = () => performance.now() / 1000;
const peakRssMb = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

/**
 * Calls work() (which reports how many units it did) until `warmup` seconds and at
 * least minCalls calls have passed, then times `windows` windows of at least `seconds`
 * each. Returns units/s per window and seconds per call.
 */
function measure(work: () => number, warmup: number, seconds: number, windows: number, minCalls: number): { rates: number[]; perCall: number[] } {
  let t0 = now(), calls = 0;
  while (calls < minCalls || now() - t0 < warmup) { work(); calls++; }
  const rates: number[] = [], perCall: number[] = [];
  for (let w = 0; w < windows; w++) {
    let units = 0, n = 0;
    t0 = now();
    let t = t0;
    do { units += work(); n++; t = now(); } while (t - t0 < seconds);
    rates.push(units / (t - t0));
    perCall.push((t - t0) / n);
  }
  return { rates, perCall };
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { flags: given, help } = parseFlags('bench', argv, FLAGS);
  if (help) { process.stdout.write(BENCH_HELP); return 0; }
  if (given.bool('list-backends')) {
    const failures = await loadBackends();
    const available = availableBackends();
    const auto = fastestAvailable();
    process.stdout.write(JSON.stringify({ available, auto, unavailable: failures }) + '\n');
    return 0;
  }
  const config = given.str('config');
  const f = config ? given.withPreset(parseConfigName(config)) : given;
  const rawCell = f.str('cell')!;
  const cfg: BenchConfig = {
    cell: Object.hasOwn(CELL_ALIASES, rawCell) ? CELL_ALIASES[rawCell]! : f.choice<CellType>('cell'),
    batch: f.num('batch'),
    seq: f.num('seq'),
    hidden: f.num('hidden'),
    layers: f.num('layers'),
    embedding: f.num('embedding'),
    vocab: f.num('vocab'),
  };
  const only = f.choice<'train' | 'sample' | 'both'>('only');
  const seconds = f.num('seconds');
  const windows = f.num('windows');
  const warmup = f.num('warmup');
  const seed = f.num('seed');
  const json = f.bool('json');

  // main.ts has selected --backend (default auto) before this runs: models take their arrays from it
  const backend = getBackend().name;

  const { cell, batch: B, seq: T, hidden: H, layers: L, embedding: E, vocab: V } = cfg;
  const net = new CharLM({ cell, vocab_size: V, embedding_size: E, hidden_size: H, num_layers: L }).init(new Rng(seed));
  const result: BenchResult = {
    config: { name: configName(cfg), ...cfg }, backend, kernels: getBackend().describe?.() ?? null, slow_warning: getBackend().slowWarning?.() ?? null,
    parameters: net.params.data.length,
    train_tokens_per_s: null, sample_chars_per_s: null, peak_rss_mb: 0, train_peak_rss_mb: null,
    train_windows: [], sample_windows: [], train_step_ms: null, window_s: seconds, warmup_s: warmup, cpu_s: 0, node: process.versions.node,
  };

  if (only !== 'sample') {
    // uniform random tokens, long enough that an epoch (where the state resets) spans many steps
    const rng = new Rng(seed + 1), chunks = 64;
    const ids = new Int32Array(B * T * chunks + 1);
    for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(rng.uniform() * V);
    const trainer = new Trainer(net, ids, { batch: B, seq: T, optimizer: 'adam', lr: 2e-3, clip: 5, seed });
    const m = measure(() => { trainer.trainStep(); return B * T; }, warmup, seconds, windows, 2);
    result.train_windows = m.rates.map(round);
    result.train_tokens_per_s = round(median(m.rates));
    result.train_step_ms = round(median(m.perCall) * 1000);
    result.train_peak_rss_mb = round(peakRssMb());
  }
  if (only !== 'train') {
    // any V distinct single code points; sampling only sees ids
    const vocab = new Vocab(Array.from({ length: V }, (_, i) => String.fromCodePoint(i < 94 ? 33 + i : 0x100 + i)));
    const lm = new LanguageModel(net, vocab);
    const gen = lm.generate({ length: Number.MAX_SAFE_INTEGER, temperature: 1, seed, prime: vocab.chars[0]! });
    const burst = 16; // characters between clock reads
    const m = measure(() => { for (let i = 0; i < burst; i++) gen.next(); return burst; }, warmup, seconds, windows, 2);
    result.sample_windows = m.rates.map(round);
    result.sample_chars_per_s = round(median(m.rates));
  }
  result.peak_rss_mb = round(peakRssMb());
  const cpu = process.cpuUsage();
  result.cpu_s = round((cpu.user + cpu.system) / 1e6);

  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    const fmt = (x: number | null, unit: string) => (x === null ? '-' : `${Math.round(x).toLocaleString('en')} ${unit}`);
    process.stdout.write(`${result.config.name.padEnd(20)} backend ${backend.padEnd(6)} train ${fmt(result.train_tokens_per_s, 'tok/s').padStart(14)}` +
      `  sample ${fmt(result.sample_chars_per_s, 'chars/s').padStart(14)}  peak RSS ${Math.round(result.peak_rss_mb)} MB` +
      `  (${result.parameters.toLocaleString('en')} params, median of ${windows} x ${seconds}s)\n`);
    if (result.kernels) process.stdout.write(`  ${backend}: ${result.kernels}\n`);
  }
  return 0;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
