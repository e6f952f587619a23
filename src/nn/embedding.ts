// Embedding lookup: out[n, :] = W[ids[n], :]. W (V, E).
import type { Arr } from '../core/params.js';

export function embeddingForward(out: Arr, ids: Int32Array, W: Arr, N: number, E: number): void {
  for (let n = 0; n < N; n++) {
    const w = ids[n]! * E, o = n * E;
    for (let e = 0; e < E; e++) out[o + e] = W[w + e]!;
  }
}

/** dW[ids[n], :] += dout[n, :] (a token seen twice gets both gradients). */
export function embeddingBackward(dW: Arr, dout: Arr, ids: Int32Array, N: number, E: number): void {
  for (let n = 0; n < N; n++) {
    const w = ids[n]! * E, o = n * E;
    for (let e = 0; e < E; e++) dW[w + e] += dout[o + e];
  }
}
