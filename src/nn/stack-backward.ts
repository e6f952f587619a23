// Backpropagation through a RecurrentStack (stack.ts): layers from the top down, each
// direction's BPTT (recurrent.ts), the reverse direction's gradients permuted back to
// forward order, dropout and the summed-outputs path on the way.
import type { Arr } from '../core/params.js';
import { allocArray } from '../core/alloc.js';
import { dropoutBackward } from './dropout.js';
import { embeddingBackward } from './embedding.js';
import { recordHiddenGrads, recurrentBackward, recurrentBackwardTokens, tokenTableBackward } from './recurrent.js';
import type { RecurrentStack, StackWorkspace } from './stack.js';

export interface StackBackwardOptions {
  /** dL/d(each sequence's final state) (L*dirs, B, H), as finalState() lays it out; null = 0. */
  dhN?: Arr | null;
  dcN?: Arr | null;
  /** Float input: also compute dL/dx into ws.dx (N, D). */
  wantDx?: boolean;
  /** Added to dL/d(layer l's outputs) for l below the top (N, dirs*H), instead of dOut for summed outputs. */
  extra?: (l: number) => Arr | null;
}

/**
 * Accumulates the stack's parameter gradients (and the embedding's, for token input)
 * for the last forward, given dOut = dL/d(stack output) (N, dirs*H) at offset 0.
 * Afterwards each unit's dh, dc hold dL/dh0, dL/dc0 (initialGrad).
 */
export function stackBackward(s: RecurrentStack, ws: StackWorkspace, dOut: Arr | null, o: StackBackwardOptions = {}): void {
  const { inputSize: E, hiddenSize: H, numLayers: L, sumOutputs } = s.cfg, dirs = s.dirs, bi = dirs === 2;
  const lay = ws.lay, N = lay.N, B = lay.B, BH = B * H, W = dirs * H, NW = N * W, inp = ws.input!, rev = ws.rev;
  if (!inp) throw new Error('stack backward: call forward first');
  const top = ws.dys[L - 1]!;
  if (dOut) top.set(dOut.subarray(0, NW)); else top.fill(0, 0, NW);
  // summed outputs: each layer's output also feeds the output directly
  const extra = (l: number) => (o.extra ? o.extra(l) : sumOutputs ? dOut : null);
  if (o.wantDx && inp.kind === 'float' && ws.dx.length < ws.T * ws.B * E) ws.dx = allocArray(ws.T * ws.B * E, s.dtype);
  for (let l = L - 1; l >= 0; l--) {
    const dy = ws.dys[l]!;
    if (bi) {
      const f = ws.dyd[0]!, r = ws.dyd[1]!;
      for (let q = 0; q < N; q++) {
        const a = q * W, rq = rev[q]! * W;
        for (let j = 0; j < H; j++) { f[q * H + j] = dy[a + j]!; r[q * H + j] = dy[rq + H + j]!; }
      }
    }
    for (let d = 0; d < dirs; d++) {
      const k = l * dirs + d, c = ws.units[k]!, p = s.params[k]!, dp = s.grads[k]!, so = k * BH;
      if (o.dhN) c.dh.set(o.dhN.subarray(so, so + BH)); else c.dh.fill(0);
      if (o.dcN && s.cfg.cell === 'lstm') c.dc.set(o.dcN.subarray(so, so + BH)); else c.dc.fill(0);
      recordHiddenGrads(c, s.recording, s.dtype);
      const dyk = bi ? ws.dyd[d]! : dy, ids = d ? ws.revIds : inp.kind === 'tokens' ? inp.ids : null;
      // where dL/d(this unit's input) goes: reversed order for the reverse direction, added in below
      let dx: Arr | null;
      if (l > 0) dx = d ? ws.dxr : ws.dys[l - 1]!;
      else if (inp.kind === 'tokens') dx = ws.useTable ? null : d ? ws.dx0r : ws.dx0;
      else dx = o.wantDx ? (d ? ws.dxr : ws.dx) : null;
      if (l === 0 && inp.kind === 'tokens' && ws.useTable) {
        recurrentBackwardTokens(dp, ws.dtables[d]!, ids!, dyk, 0, c, p);
        tokenTableBackward(dp, inp.demb, ws.dtables[d]!, inp.emb, inp.V, c, p);
        continue;
      }
      recurrentBackward(dp, dx, 0, dyk, 0, c, p);
      if (l === 0 && inp.kind === 'tokens') { if (inp.demb) embeddingBackward(inp.demb, dx!, ids!, N, E); continue; }
      if (d === 1 && dx) {
        const into = l > 0 ? ws.dys[l - 1]! : ws.dx, Dl = l > 0 ? W : E;
        for (let q = 0; q < N; q++) {
          const a = q * Dl, b = rev[q]! * Dl;
          for (let j = 0; j < Dl; j++) into[a + j] += ws.dxr[b + j]!;
        }
      }
    }
    if (l > 0) {
      const below = ws.dys[l - 1]!;
      if (ws.dropped) dropoutBackward(below, below, ws.masks[l - 1]!, NW);
      const e = extra(l - 1);
      if (e) for (let q = 0; q < NW; q++) below[q] += e[q]!;
    }
  }
}

/** d init.h0[k] += Σ over sequences of dL/dh0 (likewise c0): every sequence started from it. */
export function initialStateBackward(s: RecurrentStack, ws: StackWorkspace, dh0: Arr, dc0: Arr | null): void {
  const H = s.cfg.hiddenSize, B = ws.lay.B;
  ws.units.forEach((c, k) => {
    for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
      dh0[k * H + j] += c.dh[b * H + j]!;
      if (dc0) dc0[k * H + j] += c.dc[b * H + j]!;
    }
  });
}
