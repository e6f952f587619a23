// analyzeCells: the interpretable-cell search over a text (docs/cells.md). Runs the model
// over the text as the exact evaluation does, keeps the activations and top-5 guesses of
// the shown window, and accumulates over all of it the gates' saturation and every
// cell's correlation with each hypothesis signal. The report is plain data (numbers,
// strings, arrays, typed arrays): it crosses a Web Worker boundary and feeds cellsPage.
import { UserError } from '../core/errors.js';
import type { LanguageModel } from '../models/language-model.js';
import type { CellsPageData } from '../viz/cells-page.js';
import { cellGates, cellQuantities, runChunks, topK } from './cell-activations.js';
import { BUILTIN_SIGNALS, builtinSignals, regexSignal, type Signal } from './cell-signals.js';
import { bestCells, CorrelationSums, SaturationCounts, type CellRef } from './cell-stats.js';

/** A user signal: one number per character of the text, or a regular expression whose matches are 1. */
export type UserSignal = { name: string; values: Float32Array } | { name: string; regex: string | RegExp };

export interface CellsOptions {
  /** User signals, correlated after the built-in ones. */
  signals?: UserSignal[];
  /** Built-in signals to use (names of BUILTIN_SIGNALS); default all, [] none. */
  builtins?: string[];
  /** Best cells listed per signal (5). */
  top?: number;
  /** At most this many characters are shown (activations and guesses kept) (4000). */
  maxShown?: number;
  /** Position of the first shown character (0); the window is clamped to the text. */
  start?: number;
  /** Leave out characters the model does not know instead of failing (false). */
  skipUnknown?: boolean;
  /** Steps per forward call (1024). */
  chunk?: number;
  /** Named in errors (e.g. the file name). */
  source?: string;
  /** Called after each chunk with characters done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_MAX_SHOWN = 4000;

export interface CellsReport extends CellsPageData {
  signals: { name: string; description: string; best: CellRef[]; mean: number; correlations: Float32Array }[];
}

/** Checks and builds the signals over `chars` (the whole text, before any skipping). */
function buildSignals(text: string, chars: readonly string[], opts: CellsOptions): Signal[] {
  const wanted = opts.builtins ?? Object.keys(BUILTIN_SIGNALS);
  const bad = wanted.filter((n) => !(n in BUILTIN_SIGNALS));
  if (bad.length) throw new UserError(`unknown signal(s) ${bad.join(', ')} (built-in: ${Object.keys(BUILTIN_SIGNALS).join(', ')})`);
  const signals = wanted.length ? builtinSignals(chars).filter((s) => wanted.includes(s.name)) : [];
  for (const u of opts.signals ?? []) {
    if (!/^[\w.-]+$/.test(u.name)) throw new UserError(`signal name '${u.name}' must be letters, digits, _ . or -`);
    if (signals.some((s) => s.name === u.name)) throw new UserError(`two signals are named '${u.name}'`);
    if ('regex' in u) { signals.push(regexSignal(u.name, u.regex, text)); continue; }
    if (u.values.length !== chars.length) throw new UserError(`signal '${u.name}': has ${u.values.length} values, the text has ${chars.length} characters (one value per character)`);
    signals.push({ name: u.name, description: 'user values', values: u.values });
  }
  return signals;
}

export function analyzeCells(model: LanguageModel, text: string, opts: CellsOptions = {}): CellsReport {
  const { vocab, net } = model, cfg = net.config, H = cfg.hidden_size, L = cfg.num_layers, V = vocab.size;
  const chars = Array.from(text);
  const signals = buildSignals(text, chars, opts);
  // the characters the model reads, and the signals at them
  let ids: Int32Array, kept = chars;
  if (opts.skipUnknown) {
    const keep = chars.map((c) => vocab.has(c));
    kept = chars.filter((_, i) => keep[i]);
    ids = vocab.encode(kept.join(''));
    if (kept.length < chars.length) for (const s of signals) s.values = s.values.filter((_, i) => keep[i]);
  } else ids = vocab.encode(text, opts.source ?? 'text');
  if (ids.length < 2) throw new UserError(`${opts.source ?? 'text'} needs at least 2 characters the model knows, got ${ids.length}`);
  const n = ids.length, Q = cellQuantities(cfg.cell), gates = cellGates(cfg.cell), K = L * Q.length * H;
  const maxShown = opts.maxShown ?? DEFAULT_MAX_SHOWN, chunk = opts.chunk ?? 1024;
  if (!(Number.isInteger(maxShown) && maxShown >= 1)) throw new UserError(`maxShown must be a positive integer, got ${maxShown}`);
  const start = Math.max(0, Math.min(opts.start ?? 0, n - 1)), shownN = Math.min(maxShown, n - start);
  const acts = Array.from({ length: L * Q.length }, () => new Float32Array(shownN * H));
  const topIds = new Int32Array(shownN * 5), topProbs = new Float32Array(shownN * 5);
  const sums = new CorrelationSums(K, signals.map((s) => s.values), chunk, H);
  const sat = Array.from({ length: L }, () => new SaturationCounts(gates.map((g) => g.index), H));
  const { loss, count } = runChunks(net, ids, (c) => {
    sums.setChunk(c.t0, c.T);
    const a0 = Math.max(start, c.t0), a1 = Math.min(start + shownN, c.t0 + c.T); // shown steps in this chunk
    c.layers.forEach((layer, l) => {
      layer.quantities.forEach((q, qi) => {
        sums.addSeries((l * Q.length + qi) * H, q.a, q.off, H);
        if (a1 > a0) acts[l * Q.length + qi]!.set(q.a.subarray(q.off + (a0 - c.t0) * H, q.off + (a1 - c.t0) * H), (a0 - start) * H);
      });
      if (gates.length) sat[l]!.add(layer.g, layer.gOff, c.T, layer.G);
    });
    for (let t = a0; t < a1; t++) topK(c.logits, t - c.t0, V, 5, topIds, topProbs, (t - start) * 5);
  }, chunk, opts.onProgress);
  const top = opts.top ?? 5;
  const report: CellsReport['signals'] = signals.map((s, si) => {
    const correlations = new Float32Array(K);
    for (let k = 0; k < K; k++) correlations[k] = sums.r(k, si);
    return { name: s.name, description: s.description, best: bestCells(correlations, Q, H, top), mean: sums.sy[si]! / sums.n, correlations };
  });
  const fr = sat.map((s) => s.fractions());
  return {
    model: { cell: cfg.cell, layers: L, hidden: H, vocab: vocab.chars.slice() },
    quantities: Q, chars: n, skipped: chars.length - kept.length, lossNats: count ? loss / count : NaN, maxShown,
    shown: { start, text: kept.slice(start, start + shownN).join(''), acts, topIds, topProbs },
    gates: { names: gates.map((g) => g.name), left: fr.map((f) => f.left), right: fr.map((f) => f.right) },
    signals: report,
  };
}
