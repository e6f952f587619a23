// char-rnn batching: the token sequence is cut into B contiguous streams, read in
// chunks of T steps. Stream b's chunk k is followed by its chunk k+1, so carrying the
// hidden state across chunks (truncated BPTT, k1 = k2 = T) continues the same text.
import { UserError } from '../core/errors.js';

export class StreamBatches {
  readonly streamLen: number;     // tokens per stream that are inputs
  readonly chunksPerEpoch: number;

  constructor(readonly ids: Int32Array, readonly B: number, readonly T: number, what = 'training text') {
    this.streamLen = Math.floor((ids.length - 1) / B);
    this.chunksPerEpoch = Math.floor(this.streamLen / T);
    if (this.chunksPerEpoch < 1) {
      throw new UserError(`${what} is too short: ${ids.length} characters, need at least batch*seq+1 = ${B * T + 1}`);
    }
  }

  /** Fills time-major inputs and targets (T*B) with chunk k (0 <= k < chunksPerEpoch). */
  fill(k: number, inputs: Int32Array, targets: Int32Array): void {
    const { B, T, ids, streamLen } = this;
    for (let b = 0; b < B; b++) {
      const base = b * streamLen + k * T;
      for (let t = 0; t < T; t++) {
        inputs[t * B + b] = ids[base + t]!;
        targets[t * B + b] = ids[base + t + 1]!;
      }
    }
  }
}
