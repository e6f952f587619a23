// char-rnn batching: the token sequence is cut into B contiguous streams; a step reads
// one token of every stream. Training advances T = k1 steps per update, so stream b's
// chunk k is followed by its chunk k+1 and carrying the hidden state across chunks
// continues the same text. Truncated BPTT with k2 != k1 reads other windows of the
// streams (fillWindow): the k2 steps that end where the current chunk ends.
import { UserError } from '../core/errors.js';
import type { TokenIds } from './token-ids.js';

export class StreamBatches {
  readonly streamLen: number;      // tokens per stream that are inputs
  readonly chunksPerEpoch: number; // floor(streamLen / T): chunks of T steps, one per update

  constructor(readonly ids: TokenIds, readonly B: number, readonly T: number, what = 'training text') {
    this.streamLen = Math.floor((ids.length - 1) / B);
    this.chunksPerEpoch = Math.floor(this.streamLen / T);
    if (this.chunksPerEpoch < 1) {
      throw new UserError(`${what} is too short: ${ids.length} characters, need at least batch*seq+1 = ${B * T + 1}`);
    }
  }

  /** Updates per epoch when each update advances T = k1 steps (same as chunksPerEpoch). */
  get updatesPerEpoch(): number {
    return this.chunksPerEpoch;
  }

  /** Fills time-major inputs and targets (T*B) with chunk k (0 <= k < chunksPerEpoch). */
  fill(k: number, inputs: Int32Array, targets: Int32Array): void {
    this.fillWindow(k * this.T, this.T, inputs, targets);
  }

  /**
   * Fills time-major inputs and targets (len*B) with steps [start, start+len) of every
   * stream: inputs[t*B + b] is token start+t of stream b, targets the token after it.
   */
  fillWindow(start: number, len: number, inputs: Int32Array, targets: Int32Array): void {
    const { B, ids, streamLen } = this;
    if (!(Number.isInteger(start) && Number.isInteger(len) && start >= 0 && len >= 0 && start + len <= streamLen)) {
      throw new Error(`fillWindow: steps [${start}, ${start + len}) outside a stream of ${streamLen}`);
    }
    if (inputs.length < len * B || targets.length < len * B) throw new Error(`fillWindow: buffers hold fewer than ${len * B} entries`);
    for (let b = 0; b < B; b++) {
      const base = b * streamLen + start;
      for (let t = 0; t < len; t++) {
        inputs[t * B + b] = ids[base + t]!;
        targets[t * B + b] = ids[base + t + 1]!;
      }
    }
  }
}
