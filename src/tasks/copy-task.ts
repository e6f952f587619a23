// The copy task (Hochreiter & Schmidhuber 1997, in the form of Arjovsky, Shah & Bengio
// 2016, "Unitary evolution recurrent neural networks"): read a short random string,
// wait through `lag` blanks, then write the string back. It measures how many steps a
// recurrent cell can carry information when nothing in between helps.
//
// Tokens: data symbols 0..S-1, blank = S, delimiter = S+1 (vocabulary S+2).
// One sequence, with L = length and K = lag, has 2L + K steps:
//
//   step      0 .. L-1      L .. L+K-1    L+K          L+K+1 .. 2L+K-1
//   input     x_1 .. x_L    K blanks      delimiter    L-1 blanks
//   target    -             -             x_1          x_2 .. x_L
//
// The model reads the input of step t and predicts the target of step t (targets are
// not shifted inputs here). The delimiter says "recall now": the first symbol is due at
// the delimiter itself, the others on the following blanks. Every symbol is recalled
// exactly L + K steps after it was read, and nothing is predicted elsewhere (target -1),
// so the loss covers the recalled symbols only and a model that remembers nothing
// scores ln S nats at best (accuracy 1/S). The lag K here equals Arjovsky et al.'s T
// (their sequences are T + 2L long with the same L + T steps between a symbol and its
// recall; they put the delimiter one step earlier and recall on blanks only).
import { CharLM, charLMParamSpecs, normalizeConfig, type RecurrentState } from '../models/char-lm.js';
import { Rng } from '../core/rng.js';
import { DEFAULT_UPDATE, NonFiniteError, Updater } from '../train/update.js';
import type { CellType } from '../nn/recurrent.js';

export interface CopySpec {
  symbols: number; // S data symbols
  length: number;  // L symbols to copy
  lag: number;     // K blanks between the last data symbol and the delimiter
}

export interface CopyLayout extends CopySpec {
  T: number;           // steps per sequence, 2L + K
  vocab: number;       // S + 2
  blank: number;       // S
  delimiter: number;   // S + 1
  delimiterAt: number; // step of the delimiter, L + K
  recallStart: number; // first step with a target, L + K (= delimiterAt)
}

export function copyLayout(spec: CopySpec): CopyLayout {
  const { symbols: S, length: L, lag: K } = spec;
  if (!Number.isInteger(S) || S < 2) throw new Error(`copy task: symbols must be an integer >= 2, got ${S}`);
  if (!Number.isInteger(L) || L < 1) throw new Error(`copy task: length must be a positive integer, got ${L}`);
  if (!Number.isInteger(K) || K < 0) throw new Error(`copy task: lag must be a non-negative integer, got ${K}`);
  return { ...spec, T: 2 * L + K, vocab: S + 2, blank: S, delimiter: S + 1, delimiterAt: L + K, recallStart: L + K };
}

export interface CopyBatch {
  layout: CopyLayout;
  B: number;
  ids: Int32Array;     // (T*B) time-major: ids[t*B + b] is step t of sequence b
  targets: Int32Array; // (T*B), -1 where nothing is predicted
  data: Int32Array;    // (B*L) the data symbols of each sequence, sequence-major
}

/** Lays out B sequences whose data symbols are given (data[b*L + i]). */
export function copyBatchFrom(layout: CopyLayout, data: Int32Array, B: number): CopyBatch {
  const { T, length: L, blank, delimiter, delimiterAt, recallStart } = layout;
  if (data.length !== B * L) throw new Error(`copy task: need ${B * L} data symbols, got ${data.length}`);
  const ids = new Int32Array(T * B).fill(blank), targets = new Int32Array(T * B).fill(-1);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      const x = data[b * L + i]!;
      ids[i * B + b] = x;
      targets[(recallStart + i) * B + b] = x;
    }
    ids[delimiterAt * B + b] = delimiter;
  }
  return { layout, B, ids, targets, data };
}

/**
 * B random sequences drawn from rng. Strings in `exclude` (keys from sequenceKey) are
 * redrawn, so training batches never contain a held-out sequence.
 */
export function copyBatch(layout: CopyLayout, B: number, rng: Rng, exclude?: Set<string>): CopyBatch {
  const { symbols: S, length: L } = layout, data = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    for (let tries = 0; ; tries++) {
      for (let i = 0; i < L; i++) data[b * L + i] = rng.int(S);
      if (!exclude || tries >= 100 || !exclude.has(sequenceKey(data, b, L))) break;
    }
  }
  return copyBatchFrom(layout, data, B);
}

/** Identifies the data string of sequence b. */
export function sequenceKey(data: Int32Array, b: number, L: number): string {
  return data.subarray(b * L, (b + 1) * L).join(',');
}

// ---------------------------------------------------------------- parameter budget

/** Parameters of a one-layer CharLM (embedding, recurrent layer, head), as CharLM counts them. */
export function copyModelParams(cell: CellType, vocab: number, embedding: number, hidden: number): number {
  const specs = charLMParamSpecs(normalizeConfig({ cell, vocab_size: vocab, embedding_size: embedding, hidden_size: hidden, num_layers: 1 }));
  return specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** The hidden size whose parameter count is closest to budget (the smaller one on a tie). */
export function hiddenForBudget(cell: CellType, vocab: number, embedding: number, budget: number): number {
  let best = 1, bestDiff = Infinity;
  for (let H = 1; ; H++) {
    const diff = Math.abs(copyModelParams(cell, vocab, embedding, H) - budget);
    if (diff < bestDiff) { best = H; bestDiff = diff; } else break; // the count grows with H
  }
  return best;
}

// ---------------------------------------------------------------- evaluation

export interface CopyEval {
  symbolAccuracy: number;   // recalled symbols predicted right (argmax)
  sequenceAccuracy: number; // sequences with all L symbols right
  loss: number;             // mean cross-entropy per recalled symbol (nats)
  positionAccuracy: number[]; // accuracy of the i-th recalled symbol, i = 0..L-1
}

const evalStates = new WeakMap<CharLM, Map<number, RecurrentState>>();

/** A zero state for B streams, kept per model (backends may hand out arrays from their own heap). */
function zeroState(model: CharLM, B: number): RecurrentState {
  let m = evalStates.get(model);
  if (!m) evalStates.set(model, m = new Map());
  let s = m.get(B);
  if (!s) m.set(B, s = model.newState(B));
  s.h.fill(0); s.c.fill(0);
  return s;
}

/** Accuracy and loss of model on a batch of sequences, in forward passes of at most `chunk` sequences. */
export function evaluateCopy(model: CharLM, set: CopyBatch, chunk = 250): CopyEval {
  const { layout, B: total } = set, { T, length: L, recallStart, vocab: V } = layout;
  let right = 0, wholeRight = 0, loss = 0;
  const byPos = new Array<number>(L).fill(0);
  for (let b0 = 0; b0 < total; b0 += chunk) {
    const B = Math.min(chunk, total - b0);
    const part = copyBatchFrom(layout, set.data.subarray(b0 * L, (b0 + B) * L), B);
    const r = model.forward(part.ids, part.targets, T, B, zeroState(model, B));
    loss += r.loss;
    const logits = model.logits();
    for (let b = 0; b < B; b++) {
      let all = true;
      for (let i = 0; i < L; i++) {
        const row = ((recallStart + i) * B + b) * V;
        let arg = 0;
        for (let v = 1; v < V; v++) if (logits[row + v]! > logits[row + arg]!) arg = v;
        if (arg === part.data[b * L + i]) { right++; byPos[i]!++; } else all = false;
      }
      if (all) wholeRight++;
    }
  }
  return {
    symbolAccuracy: right / (total * L), sequenceAccuracy: wholeRight / total, loss: loss / (total * L),
    positionAccuracy: byPos.map((n) => n / total),
  };
}

// ---------------------------------------------------------------- training

export interface CopyTaskOptions {
  cell: CellType;
  lag: number;
  /** Hidden size; when absent it is chosen from paramBudget. */
  hidden?: number;
  /** Target parameter count of the whole model (default 10,000). */
  paramBudget?: number;
  /** Embedding size (default: the vocabulary size, S + 2). */
  embedding?: number;
  steps: number;    // most updates
  batch: number;    // sequences per update
  lr: number;       // Adam
  clip: number;     // max global gradient norm; 0 = off
  seed: number;     // weights, training data and held-out set
  symbols: number;  // S
  length: number;   // L
  /** Check held-out accuracy every this many steps (default 100). */
  evalEvery?: number;
  /** Held-out sequences (default 1000). */
  evalSize?: number;
  /** Held-out symbol accuracy that counts as solved (default 0.99). */
  target?: number;
  /** Called after every held-out check. */
  onProgress?: (p: CopyProgress) => void;
}

export interface CopyProgress {
  step: number;
  steps: number;
  trainLoss: number; // mean training loss over the steps since the previous check
  heldOut: CopyEval;
  seconds: number;
}

export interface CopyTaskResult {
  cell: CellType;
  lag: number;
  symbols: number;
  length: number;
  T: number;                  // steps per sequence
  hidden: number;
  embedding: number;
  params: number;
  solved: boolean;
  solvedAt: number | null;    // first checked step with held-out symbol accuracy >= target
  steps: number;              // updates done (fewer than asked when solved early or diverged)
  symbolAccuracy: number;     // held-out, at the end
  sequenceAccuracy: number;   // held-out, at the end
  positionAccuracy: number[]; // held-out accuracy of the i-th recalled symbol, at the end
  loss: number;               // held-out mean cross-entropy per recalled symbol, at the end
  trainLoss: number;          // mean training loss of the last check interval
  chanceLoss: number;         // ln S
  diverged: boolean;          // loss or gradient norm became non-finite
  seconds: number;            // wall time, training and evaluation
  history: { step: number; trainLoss: number; symbolAccuracy: number; loss: number }[];
}

export const COPY_DEFAULTS = {
  paramBudget: 10_000, evalEvery: 100, evalSize: 1000, target: 0.99,
} as const;

/** Trains a fresh one-layer CharLM on the copy task and measures it on held-out sequences. */
export function trainCopyTask(opts: CopyTaskOptions): CopyTaskResult {
  const layout = copyLayout({ symbols: opts.symbols, length: opts.length, lag: opts.lag });
  const { T, vocab: V } = layout;
  const E = opts.embedding ?? V;
  const budget = opts.paramBudget ?? COPY_DEFAULTS.paramBudget;
  const H = opts.hidden ?? hiddenForBudget(opts.cell, V, E, budget);
  const evalEvery = opts.evalEvery ?? COPY_DEFAULTS.evalEvery, evalSize = opts.evalSize ?? COPY_DEFAULTS.evalSize;
  const target = opts.target ?? COPY_DEFAULTS.target, B = opts.batch;
  for (const [k, v] of [['steps', opts.steps], ['batch', B], ['evalEvery', evalEvery], ['evalSize', evalSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`copy task: ${k} must be a positive integer, got ${v}`);
  }
  if (!(opts.lr > 0)) throw new Error(`copy task: lr must be positive, got ${opts.lr}`);

  const t0 = performance.now();
  const model = new CharLM({ cell: opts.cell, vocab_size: V, embedding_size: E, hidden_size: H, num_layers: 1, forget_bias: 1 }).init(new Rng(opts.seed));
  // the held-out set depends on the seed and the task only, so every cell sees the same one
  const heldOut = copyBatch(layout, evalSize, new Rng((opts.seed ^ 0x7e57_5e7) >>> 0));
  // training never draws a held-out string, unless they are a large part of all S^L strings
  // (tiny settings), where excluding them would leave little or nothing to train on
  let exclude: Set<string> | undefined;
  if (opts.symbols ** opts.length >= 10 * evalSize) {
    exclude = new Set();
    for (let b = 0; b < evalSize; b++) exclude.add(sequenceKey(heldOut.data, b, layout.length));
  }
  const dataRng = new Rng((opts.seed + 0x9e37_79b9) >>> 0);
  const updater = new Updater(model.params, { ...DEFAULT_UPDATE, optimizer: 'adam', lr: opts.lr, clip: opts.clip });
  const state = model.newState(B);

  const history: CopyTaskResult['history'] = [];
  let step = 0, lossSum = 0, lossN = 0, trainLoss = NaN, solvedAt: number | null = null, diverged = false;
  let last: CopyEval = evaluateCopy(model, heldOut);
  while (step < opts.steps) {
    const batch = copyBatch(layout, B, dataRng, exclude);
    state.h.fill(0); state.c.fill(0); // independent sequences
    model.zeroGrad();
    const r = model.forward(batch.ids, batch.targets, T, B, state, { train: true });
    const loss = r.loss / r.count;
    if (!Number.isFinite(loss)) { diverged = true; break; }
    model.backward();
    try {
      updater.apply(model.params, model.grads, step + 1);
    } catch (e) {
      if (!(e instanceof NonFiniteError)) throw e;
      diverged = true;
      break;
    }
    step++;
    lossSum += loss; lossN++;
    if (step % evalEvery === 0 || step === opts.steps) {
      trainLoss = lossSum / lossN; lossSum = 0; lossN = 0;
      last = evaluateCopy(model, heldOut);
      history.push({ step, trainLoss, symbolAccuracy: last.symbolAccuracy, loss: last.loss });
      opts.onProgress?.({ step, steps: opts.steps, trainLoss, heldOut: last, seconds: (performance.now() - t0) / 1000 });
      if (last.symbolAccuracy >= target) { solvedAt = step; break; }
    }
  }
  if (diverged || (step % evalEvery !== 0 && step !== opts.steps)) last = evaluateCopy(model, heldOut);
  if (lossN > 0) trainLoss = lossSum / lossN;
  return {
    cell: opts.cell, lag: opts.lag, symbols: opts.symbols, length: opts.length, T, hidden: H, embedding: E,
    params: model.params.data.length, solved: solvedAt !== null, solvedAt, steps: step,
    symbolAccuracy: last.symbolAccuracy, sequenceAccuracy: last.sequenceAccuracy, positionAccuracy: last.positionAccuracy, loss: last.loss,
    trainLoss, chanceLoss: Math.log(opts.symbols), diverged, seconds: (performance.now() - t0) / 1000, history,
  };
}
