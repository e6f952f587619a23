// Embedding lookup: out[n, :] = W[ids[n], :], W (V, E). (CharLM folds its embedding
// into layer 0's input projection instead, see recurrent.ts tokenTable.)
import type { Arr } from '../core/params.js';
import { getBackend } from '../backend/registry.js';

export function embeddingForward(out: Arr, ids: Int32Array, W: Arr, N: number, E: number): void {
  getBackend().gatherRows(out, 0, W, ids, N, E);
}

/** dW[ids[n], :] += dout[n, :] (a token seen twice gets both gradients). */
export function embeddingBackward(dW: Arr, dout: Arr, ids: Int32Array, N: number, E: number): void {
  getBackend().scatterAddRows(dW, dout, 0, ids, N, E);
}
