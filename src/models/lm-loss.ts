// Loss of a token sequence under the model, forward only.
import type { CharLM } from './char-lm.js';
import type { TokenIds } from '../data/token-ids.js';

/**
 * The reference definition (charlm.py text_loss): mean cross-entropy (nats) of
 * predicting each token from all tokens before it, from the zero state with the
 * state carried through the whole sequence. Runs in chunks of `chunk` steps so
 * memory stays bounded; the result equals one pass over the whole sequence.
 */
export function sequenceLoss(model: CharLM, ids: Int32Array, chunk = 2048): { loss: number; count: number } {
  const state = model.newState(1);
  let sum = 0, count = 0;
  for (let s = 0; s + 1 < ids.length; s += chunk) {
    const T = Math.min(chunk, ids.length - 1 - s);
    const r = model.forward(ids.subarray(s, s + T), ids.subarray(s + 1, s + 1 + T), T, 1, state);
    sum += r.loss; count += r.count;
  }
  return { loss: count ? sum / count : NaN, count };
}

/**
 * Validation loss as training sees it: the sequence is cut into B contiguous streams
 * (like the training batches), each read from the zero state with state carried over
 * chunks of T steps. Much faster than sequenceLoss for big models, and close to it:
 * only the first few characters of each stream lack context.
 */
export function streamLoss(model: CharLM, ids: TokenIds, B: number, T: number): number {
  B = Math.max(1, Math.min(B, Math.floor((ids.length - 1) / T)));
  const len = Math.floor((ids.length - 1) / B);
  if (len < 1) return NaN;
  const state = model.newState(B), inputs = new Int32Array(T * B), targets = new Int32Array(T * B);
  let sum = 0, count = 0;
  for (let s = 0; s < len; s += T) {
    const steps = Math.min(T, len - s);
    for (let b = 0; b < B; b++) for (let t = 0; t < steps; t++) {
      inputs[t * B + b] = ids[b * len + s + t]!;
      targets[t * B + b] = ids[b * len + s + t + 1]!;
    }
    const r = model.forward(inputs, targets, steps, B, state);
    sum += r.loss; count += r.count;
  }
  return sum / count;
}
