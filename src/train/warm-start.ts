// Warm-start evaluation: give the network K true characters (priming), then let it
// predict M characters on its own, each greedy (argmax) prediction fed back as the next
// input, and score every prediction against the text. Run at many start positions as
// B parallel streams. For context it also scores the same M targets teacher-forced
// (the true previous character fed instead, so errors cannot compound) and against a
// unigram baseline (always the most frequent character of the text).
import type { CharLM, RecurrentState } from '../models/char-lm.js';
import type { Arr } from '../core/params.js';
import { UserError } from '../core/errors.js';

export interface WarmStartOptions {
  warmStart: number;  // K: true characters fed before predicting (>= 1)
  horizon: number;    // M: characters predicted free-running after them (>= 1)
  positions?: number; // start positions, spread evenly over the text (default 1000, capped by the text)
  batch?: number;     // positions run at once as parallel streams (default 256)
  onProgress?: (done: number, total: number) => void; // positions done, after each batch
}

export interface WarmStartResult {
  warmStart: number;
  horizon: number;
  positions: number;             // start positions evaluated
  possiblePositions: number;     // valid start offsets in the text (ids.length - K - M + 1)
  perStep: number[];             // free-running accuracy at horizon step 1..M
  overall: number;               // free-running accuracy over all M steps (mean of perStep)
  teacherForcedPerStep: number[]; // accuracy at the same targets with the true previous character fed
  teacherForced: number;         // mean of teacherForcedPerStep
  unigram: number;               // accuracy at the same targets of always predicting unigramId
  unigramId: number;             // most frequent token of ids (ties: lowest id)
}

/** Rows of one warm-up forward are capped at this many (T*B), to bound activation memory. */
const CHUNK_ROWS = 8192;

/**
 * count start offsets p with p + K + M <= n, evenly spaced over [0, n-K-M], first and
 * last included, increasing and distinct. count is capped at the number of valid offsets.
 */
export function warmStartOffsets(n: number, warmStart: number, horizon: number, count: number): number[] {
  const last = n - warmStart - horizon; // the largest valid offset
  if (last < 0) return [];
  const N = Math.max(1, Math.min(count, last + 1));
  if (N === 1) return [0];
  // floor(i*last/(N-1)) steps by >= 1 since last >= N-1, so the offsets are distinct
  return Array.from({ length: N }, (_, i) => Math.floor((i * last) / (N - 1)));
}

/** Index of the largest of l[o..o+V), the lowest on ties. */
function argmax(l: Arr, o: number, V: number): number {
  let best = 0, max = l[o]!;
  for (let v = 1; v < V; v++) {
    const x = l[o + v]!;
    if (x > max) { max = x; best = v; }
  }
  return best;
}

/** Free-running accuracy after a true warm-start (see the file comment). */
export function warmStartAccuracy(model: CharLM, ids: Int32Array, opts: WarmStartOptions): WarmStartResult {
  const K = opts.warmStart, M = opts.horizon, want = opts.positions ?? 1000, maxB = opts.batch ?? 256;
  const V = model.config.vocab_size;
  const checks: [string, number][] = [['warm-start', K], ['horizon', M], ['positions', want], ['batch', maxB]];
  for (const [name, v] of checks) {
    if (!Number.isInteger(v) || v < 1) throw new UserError(`${name} must be a positive integer, got ${v}`);
  }
  if (ids.length < K + M) {
    throw new UserError(`text has ${ids.length} characters; warm-start ${K} + horizon ${M} needs at least ${K + M}`);
  }
  const offsets = warmStartOffsets(ids.length, K, M, want), total = offsets.length;

  let unigramId = 0;
  {
    const freq = new Float64Array(V);
    for (let i = 0; i < ids.length; i++) freq[ids[i]!]!++;
    for (let v = 1; v < V; v++) if (freq[v]! > freq[unigramId]!) unigramId = v;
  }

  const free = new Float64Array(M), forced = new Float64Array(M);
  let unigramHits = 0;
  // buffers sized for the largest batch, reused by every batch and step
  const B0 = Math.min(maxB, total), C0 = Math.max(1, Math.min(K, Math.floor(CHUNK_ROWS / B0)));
  const inputs = new Int32Array(C0 * B0), prev = new Int32Array(B0), truth = new Int32Array(B0);
  let freeState: RecurrentState | null = null, forcedState: RecurrentState | null = null;

  for (let start = 0; start < total; start += B0) {
    const B = Math.min(B0, total - start), C = C0;
    if (!freeState || freeState.B !== B) { freeState = model.newState(B); forcedState = model.newState(B); }
    const fs = freeState, ts = forcedState!;
    fs.h.fill(0); fs.c.fill(0);

    // warm-start: K true characters from the zero state, in chunks of at most C steps
    let T = 0;
    for (let s = 0; s < K; s += T) {
      T = Math.min(C, K - s);
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) inputs[t * B + b] = ids[offsets[start + b]! + s + t]!;
      model.forward(inputs, null, T, B, fs);
    }
    // step 1 is the same prediction for both: the logits after the last true character
    let logits = model.logits();
    for (let b = 0; b < B; b++) {
      const p = prev[b] = argmax(logits, ((T - 1) * B + b) * V, V), y = ids[offsets[start + b]! + K]!;
      if (p === y) { free[0]!++; forced[0]!++; }
      if (unigramId === y) unigramHits++;
    }
    ts.h.set(fs.h); ts.c.set(fs.c);

    // steps 2..M: free-running feeds its own prediction, teacher-forced the true character
    for (let j = 1; j < M; j++) {
      model.forward(prev, null, 1, B, fs);
      logits = model.logits();
      for (let b = 0; b < B; b++) {
        const at = offsets[start + b]! + K + j;
        const p = prev[b] = argmax(logits, b * V, V);
        if (p === ids[at]) free[j]!++;
        truth[b] = ids[at - 1]!;
      }
      model.forward(truth, null, 1, B, ts);
      logits = model.logits();
      for (let b = 0; b < B; b++) {
        const y = ids[offsets[start + b]! + K + j]!;
        if (argmax(logits, b * V, V) === y) forced[j]!++;
        if (unigramId === y) unigramHits++;
      }
    }
    opts.onProgress?.(start + B, total);
  }

  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  return {
    warmStart: K, horizon: M, positions: total, possiblePositions: ids.length - K - M + 1,
    perStep: Array.from(free, (c) => c / total), overall: sum(free) / (total * M),
    teacherForcedPerStep: Array.from(forced, (c) => c / total), teacherForced: sum(forced) / (total * M),
    unigram: unigramHits / (total * M), unigramId,
  };
}
