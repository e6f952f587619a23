// Beam search over any step-by-step decoder (conditioned generation, seq2seq).
// Hypotheses are extended by their K best next tokens; those that emit </s> are set
// aside as finished. The search stops when the best finished score beats every live
// hypothesis's best possible score (log-probabilities only fall), or at maxLength.
// Score: log P(y) / |y|^alpha (length normalisation; alpha = 0 compares raw
// log-probabilities, which favours short outputs), |y| counting </s>.

/** What a decoder offers the search: K hypotheses, each with its own state. */
export interface StepDecoder {
  /** Sets up K copies of the initial state. */
  start(K: number): void;
  /** Feeds each hypothesis its last token; returns log-probabilities (K, V) of the next one. */
  step(tokens: Int32Array, K: number): Float64Array;
  /** Hypothesis k continues from the state of hypothesis parents[k]. */
  reorder(parents: Int32Array, K: number): void;
}

export interface BeamOptions {
  bos: number;
  eos: number;
  width: number;      // K; 1 = greedy
  maxLength: number;  // tokens generated at most, </s> included
  alpha?: number;     // length normalisation exponent (default 1)
}

export interface Hypothesis {
  tokens: number[];   // without <s> and </s>
  logProb: number;
  score: number;      // logProb / length^alpha
  finished: boolean;  // ended with </s> (else cut at maxLength)
}

/**
 * One hypothesis, each next token the most likely (pick = argmax) or drawn by pick
 * from the log-probabilities, until </s> or maxLength.
 */
export function decodeOne(dec: StepDecoder, o: Omit<BeamOptions, 'width'>, pick: (lp: Float64Array) => number = argmax): Hypothesis {
  dec.start(1);
  const tokens: number[] = [], last = Int32Array.of(o.bos);
  let logProb = 0;
  for (let len = 1; len <= o.maxLength; len++) {
    const lp = dec.step(last, 1), v = pick(lp);
    logProb += lp[v]!;
    if (v === o.eos) return { tokens, logProb, score: logProb / Math.pow(len, o.alpha ?? 1), finished: true };
    tokens.push(v);
    last[0] = v;
  }
  return { tokens, logProb, score: logProb / Math.pow(tokens.length, o.alpha ?? 1), finished: false };
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** The best hypotheses, best first (at most width); width 1 is greedy decoding. */
export function beamSearch(dec: StepDecoder, o: BeamOptions): Hypothesis[] {
  const K = o.width, alpha = o.alpha ?? 1;
  if (!(Number.isInteger(K) && K >= 1)) throw new Error(`beam width must be a positive integer, got ${K}`);
  if (K === 1) return [decodeOne(dec, o)];
  const norm = (lp: number, len: number) => lp / Math.pow(len, alpha);
  let live: { tokens: number[]; logProb: number }[] = [{ tokens: [], logProb: 0 }];
  const done: Hypothesis[] = [];
  dec.start(1);
  let last = Int32Array.of(o.bos);
  for (let len = 1; len <= o.maxLength && live.length; len++) {
    const n = live.length, lp = dec.step(last, n), V = lp.length / n;
    // the K*2 best extensions (enough to keep K live ones after some finish)
    const cand: { h: number; v: number; lp: number }[] = [];
    for (let h = 0; h < n; h++) {
      const base = live[h]!.logProb;
      for (let v = 0; v < V; v++) {
        const s = base + lp[h * V + v]!;
        if (cand.length < 2 * K) { cand.push({ h, v, lp: s }); if (cand.length === 2 * K) cand.sort((a, b) => b.lp - a.lp); }
        else if (s > cand[cand.length - 1]!.lp) {
          let i = cand.length - 1;
          while (i > 0 && cand[i - 1]!.lp < s) i--;
          cand.splice(i, 0, { h, v, lp: s }); cand.pop();
        }
      }
    }
    if (cand.length < 2 * K) cand.sort((a, b) => b.lp - a.lp);
    const next: typeof live = [], parents: number[] = [], tokens: number[] = [];
    for (const c of cand) {
      if (c.v === o.eos) {
        done.push({ tokens: live[c.h]!.tokens, logProb: c.lp, score: norm(c.lp, len), finished: true });
      } else if (next.length < K) {
        next.push({ tokens: [...live[c.h]!.tokens, c.v], logProb: c.lp });
        parents.push(c.h); tokens.push(c.v);
      }
    }
    done.sort((a, b) => b.score - a.score);
    // stop once no live hypothesis can still beat the K-th finished one
    if (done.length >= K) {
      const bound = Math.max(...next.map((h) => norm(h.logProb, alpha > 0 ? o.maxLength : len + 1)));
      if (!(bound > done[K - 1]!.score)) { live = []; break; }
    }
    live = next;
    if (!live.length) break;
    dec.reorder(Int32Array.from(parents), live.length);
    last = Int32Array.from(tokens);
  }
  for (const h of live) done.push({ tokens: h.tokens, logProb: h.logProb, score: norm(h.logProb, h.tokens.length), finished: false });
  done.sort((a, b) => (Number(b.finished) - Number(a.finished)) || b.score - a.score);
  return done.slice(0, K);
}
