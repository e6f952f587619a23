// A language model run over a text for the cell viewer: the exact evaluation's pass
// (one stream from the initial state, the state carried through the whole text) in
// chunks, through the model's normal forward (the fused backend loops), handing each
// chunk's activations to a visitor straight from the layers' caches. Nothing is kept
// between chunks, so memory stays bounded by one chunk whatever the text's length.
import type { Arr } from '../core/params.js';
import type { CharLM } from '../models/char-lm.js';
import type { CellType } from '../nn/recurrent.js';

/** What is shown per cell: LSTM h_t and tanh(c_t) (with layer norm tanh(LN(c_t))); GRU and RNN h_t. */
export function cellQuantities(cell: CellType): string[] {
  return cell === 'lstm' ? ['h', 'tanh_c'] : ['h'];
}

/** Gates whose saturation is measured, with their index among the cell's gates (PyTorch order). */
export function cellGates(cell: CellType): { name: string; index: number }[] {
  if (cell === 'lstm') return [{ name: 'input', index: 0 }, { name: 'forget', index: 1 }, { name: 'output', index: 3 }];
  if (cell === 'gru') return [{ name: 'reset', index: 0 }, { name: 'update', index: 1 }];
  return [];
}

/** One layer's activations for the T steps of a chunk, each a view (row t at off + t*stride). */
export interface LayerChunk {
  /** Per quantity (cellQuantities order): (T, H) rows at off, stride H. */
  quantities: { a: Arr; off: number }[];
  /** Gates after their nonlinearity: (T, G*H) rows at gOff; gate k of cell j is column k*H + j. */
  g: Arr; gOff: number; G: number;
}

export interface Chunk {
  t0: number;          // position of the chunk's first character in the text
  T: number;           // characters in the chunk
  layers: LayerChunk[];
  logits: Arr;         // (T, V): row t predicts the character after t0 + t
}

/**
 * Runs the model over ids (from its initial state, one stream) in chunks of `chunk`
 * steps and calls visit for each: step t of the text reads ids[t], so the activations
 * at t describe the state after reading character t. The views are only valid during
 * the call. Returns the summed cross-entropy of predicting each next character, as
 * `rnnkit eval` measures it, and how many were predicted.
 */
export function runChunks(net: CharLM, ids: Int32Array, visit: (c: Chunk) => void, chunk = 1024,
  onProgress?: (done: number, total: number) => void): { loss: number; count: number } {
  const { num_layers: L, hidden_size: H, cell } = net.config, lstm = cell === 'lstm', G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
  const state = net.newState(1), targets = new Int32Array(chunk);
  let loss = 0, count = 0;
  for (let t0 = 0; t0 < ids.length; t0 += chunk) {
    const T = Math.min(chunk, ids.length - t0);
    for (let t = 0; t < T; t++) targets[t] = t0 + t + 1 < ids.length ? ids[t0 + t + 1]! : -1;
    const r = net.forward(ids.subarray(t0, t0 + T), targets, T, 1, state);
    loss += r.loss; count += r.count;
    const layers: LayerChunk[] = [];
    for (let l = 0; l < L; l++) {
      const c = net.layerActivations(l);
      // hs holds h0 in its first row (B = 1), then h_t
      const quantities = [{ a: c.hs, off: H }];
      if (lstm) quantities.push({ a: c.tc, off: 0 });
      layers.push({ quantities, g: c.g, gOff: 0, G });
    }
    visit({ t0, T, layers, logits: net.logits() });
    onProgress?.(t0 + T, ids.length);
  }
  return { loss, count };
}

/** The k most likely next characters at logits row `row` (V wide): ids and softmax probabilities. */
export function topK(logits: Arr, row: number, V: number, k: number, ids: Int32Array, probs: Float32Array, outOff: number): void {
  const off = row * V;
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[off + v]!);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[off + v]! - max);
  const n = Math.min(k, V);
  for (let j = 0; j < k; j++) { ids[outOff + j] = -1; probs[outOff + j] = 0; }
  for (let v = 0; v < V; v++) {
    const p = Math.exp(logits[off + v]! - max) / sum;
    if (p <= probs[outOff + n - 1]! && ids[outOff + n - 1]! >= 0) continue;
    let j = n - 1;
    while (j > 0 && (ids[outOff + j - 1]! < 0 || probs[outOff + j - 1]! < p)) { ids[outOff + j] = ids[outOff + j - 1]!; probs[outOff + j] = probs[outOff + j - 1]!; j--; }
    ids[outOff + j] = v; probs[outOff + j] = p;
  }
}
