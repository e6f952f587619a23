// Recurrent: PyTorch's nn.RNN / nn.LSTM / nn.GRU as one layer with a hand-written
// backward, for users who build their own models around it. Tensor names, shapes, gate
// orders, initialisation and semantics are PyTorch's, including variable lengths:
// forward(x, { lengths }) is pack_padded_sequence(x, lengths, enforce_sorted=False),
// the RNN, then pad_packed_sequence(total_length = T). Padding never leaks: whatever
// the padded positions of x hold, the output is 0 there, hN / cN are each sequence's
// state after its own last step (the reverse direction: after its step 0), and no
// gradient reaches or comes from a padded position.
//
// Internally the batch is sorted longest first and packed (layout.ts), so padded steps
// cost nothing, and runs on the RecurrentStack every rnnkit model uses.
import { ParamSet, type Arr, type DType } from '../core/params.js';
import { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';
import { CELL_TYPES, type CellType } from './recurrent.js';
import { sortByLength, uniformLayout, type StepLayout } from './layout.js';
import { RecurrentStack, stackParamSpecs, type StackConfig, type StackWorkspace } from './stack.js';

export interface RecurrentOptions {
  cell: CellType;
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;       // 1
  bidirectional?: boolean;  // false
  dropout?: number;         // on the outputs of every layer but the last, in training mode (0)
  batchFirst?: boolean;     // x and output are (B, T, ·) instead of (T, B, ·) (false)
  seed?: number;            // initial weights and dropout masks (0)
  dtype?: DType;            // 'float64' runs on the reference backend only (gradient checks)
}

export interface RecurrentForwardOptions {
  steps: number;                       // T
  batch: number;                       // B
  lengths?: ArrayLike<number> | undefined; // (B) each sequence's length, 1..T, any order; default all T
  h0?: Float32Array | Float64Array | undefined; // (numLayers*dirs, B, H); default zeros
  c0?: Float32Array | Float64Array | undefined; // LSTM, likewise
}

export interface RecurrentForwardResult {
  output: Float32Array | Float64Array; // (T, B, dirs*H), batch-first (B, T, dirs*H); 0 at padded steps
  hN: Float32Array | Float64Array;     // (numLayers*dirs, B, H)
  cN: Float32Array | Float64Array;     // LSTM: like hN; otherwise empty
}

export interface RecurrentBackwardOptions {
  dOutput?: Float32Array | Float64Array | undefined; // dL/d output, its shape (padded positions ignored)
  dhN?: Float32Array | Float64Array | undefined;     // dL/d hN
  dcN?: Float32Array | Float64Array | undefined;     // dL/d cN (LSTM)
}

export interface RecurrentBackwardResult {
  dx: Float32Array | Float64Array;  // dL/dx in x's shape, 0 at padded positions
  dh0: Float32Array | Float64Array; // dL/dh0 (numLayers*dirs, B, H)
  dc0: Float32Array | Float64Array; // LSTM; otherwise empty
}

interface Pass {
  T: number; B: number;
  order: Int32Array;  // sorted position i -> original batch index
  lay: StepLayout;
  ws: StackWorkspace;
  x: Arr;             // (N, D) packed input
  h0: Arr; c0: Arr;   // sorted initial state
}

export class Recurrent {
  readonly cell: CellType;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly dtype: DType;
  /** Dropout applies in training mode (PyTorch's default); see train() and eval(). */
  training = true;
  private params: ParamSet;
  private grads: ParamSet;
  private stack: RecurrentStack;
  private rng: Rng;
  private workspaces = new Map<string, StackWorkspace>();
  private last: Pass | null = null;

  constructor(o: RecurrentOptions) {
    if (!CELL_TYPES.includes(o.cell)) throw new TypeError(`Recurrent: cell must be one of ${CELL_TYPES.join(', ')}, got '${o.cell}'`);
    const int = (name: string, v: unknown) => {
      if (!(Number.isInteger(v) && (v as number) >= 1)) throw new RangeError(`Recurrent: ${name} must be a positive integer, got ${v}`);
      return v as number;
    };
    this.cell = o.cell;
    this.inputSize = int('inputSize', o.inputSize);
    this.hiddenSize = int('hiddenSize', o.hiddenSize);
    this.numLayers = int('numLayers', o.numLayers ?? 1);
    this.bidirectional = !!o.bidirectional;
    this.dropout = o.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new RangeError(`Recurrent: dropout must be in [0, 1), got ${this.dropout}`);
    this.batchFirst = !!o.batchFirst;
    this.dtype = o.dtype ?? 'float32';
    const cfg: StackConfig = {
      cell: this.cell, inputSize: this.inputSize, hiddenSize: this.hiddenSize, numLayers: this.numLayers,
      bidirectional: this.bidirectional, dropout: this.dropout, recurrentDropout: 0, layerNorm: false,
      initialState: 'zero', initialNoise: 0, sumOutputs: false,
    };
    const names = { rnn: '', init: 'init.' };
    this.params = new ParamSet(stackParamSpecs(cfg, names).core, this.dtype);
    this.grads = this.params.like();
    this.stack = new RecurrentStack(cfg, this.params, this.grads, names, this.dtype);
    this.rng = new Rng(o.seed ?? 0);
    this.stack.init(this.rng, null); // PyTorch's U(-1/√H, 1/√H), no forget-gate bias
  }

  /** Number of directions, 1 or 2. */
  get directions(): number {
    return this.stack.dirs;
  }

  train(on = true): this {
    this.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Copies of the weights, by PyTorch's state_dict names, in its order. */
  stateDict(): Map<string, Float32Array> {
    return new Map(this.params.views.map((v) => [v.name, Float32Array.from(v.data)]));
  }

  /** Loads every weight (strict: each name must be there with the right size, no others). */
  loadStateDict(tensors: Map<string, ArrayLike<number>>): void {
    for (const name of tensors.keys()) if (!this.params.view(name)) throw new Error(`loadStateDict: unexpected tensor '${name}'`);
    for (const v of this.params.views) {
      const t = tensors.get(v.name);
      if (!t) throw new Error(`loadStateDict: tensor '${v.name}' is missing`);
      if (t.length !== v.size) throw new Error(`loadStateDict: '${v.name}' has ${t.length} values, expected ${v.size} (shape [${v.shape}])`);
      for (let i = 0; i < t.length; i++) if (!Number.isFinite(t[i]!)) throw new Error(`loadStateDict: '${v.name}' holds NaN or infinite values`);
      v.data.set(t);
    }
  }

  /** Copies of the gradients accumulated since zeroGrad(), by parameter name. */
  gradients(): Map<string, Float32Array> {
    return new Map(this.grads.views.map((v) => [v.name, Float32Array.from(v.data)]));
  }

  zeroGrad(): void {
    this.grads.zero();
  }

  forward(x: ArrayLike<number>, o: RecurrentForwardOptions): RecurrentForwardResult {
    const { steps: T, batch: B } = o, D = this.inputSize, H = this.hiddenSize, U = this.numLayers * this.directions;
    const W = this.directions * H, lstm = this.cell === 'lstm';
    if (!(Number.isInteger(T) && T >= 1 && Number.isInteger(B) && B >= 1)) throw new RangeError(`Recurrent.forward: steps and batch must be positive integers, got ${T} and ${B}`);
    expectLength('x', x, T * B * D, this.batchFirst ? `(B=${B}, T=${T}, D=${D})` : `(T=${T}, B=${B}, D=${D})`);
    if (o.h0) expectLength('h0', o.h0, U * B * H, `(${U}, ${B}, ${H})`);
    if (o.c0) {
      if (!lstm) throw new TypeError(`Recurrent.forward: c0 is for LSTM cells, not ${this.cell}`);
      expectLength('c0', o.c0, U * B * H, `(${U}, ${B}, ${H})`);
    }
    let order: Int32Array, lay: StepLayout;
    if (o.lengths === undefined) { order = Int32Array.from({ length: B }, (_, i) => i); lay = uniformLayout(T, B); }
    else {
      if (o.lengths.length !== B) throw new RangeError(`Recurrent.forward: lengths has ${o.lengths.length} entries, batch is ${B}`);
      for (let b = 0; b < B; b++) {
        const n = o.lengths[b]!;
        if (!(Number.isInteger(n) && n >= 1 && n <= T)) throw new RangeError(`Recurrent.forward: lengths[${b}] = ${n}, must be an integer in [1, ${T}]`);
      }
      ({ order, layout: lay } = sortByLength(o.lengths));
    }
    const ws = this.workspace(T, B), F = (n: number) => allocArray(n, this.dtype);
    const p: Pass = { T, B, order, lay, ws, x: F(lay.N * D), h0: F(U * B * H), c0: F(lstm ? U * B * H : 0) };
    // pack: row offsets[t] + i = step t of sorted sequence i
    this.eachRow(p, (row, src) => { for (let j = 0; j < D; j++) p.x[row * D + j] = x[src * D + j]!; });
    if (o.h0) sortState(o.h0, p.h0, order, U, B, H);
    if (o.c0) sortState(o.c0, p.c0, order, U, B, H);
    this.stack.forward(ws, lay, { kind: 'float', x: p.x, xOff: 0 }, p.h0, p.c0, { train: this.training, rng: this.rng });
    this.last = p;
    const output = F(T * B * W), { a, off } = this.stack.output(ws);
    this.eachRow(p, (row, dst) => { for (let j = 0; j < W; j++) output[dst * W + j] = a[off + row * W + j]!; });
    const hs = F(U * B * H), cs = F(lstm ? U * B * H : 0);
    this.stack.finalState(ws, hs, cs);
    const hN = F(U * B * H), cN = F(lstm ? U * B * H : 0);
    unsortState(hs, hN, order, U, B, H);
    if (lstm) unsortState(cs, cN, order, U, B, H);
    return { output, hN, cN };
  }

  /** Backpropagates the last forward; parameter gradients accumulate (gradients()). */
  backward(o: RecurrentBackwardOptions = {}): RecurrentBackwardResult {
    const p = this.last;
    if (!p) throw new Error('Recurrent.backward: call forward first');
    const { T, B, order, lay, ws } = p, D = this.inputSize, H = this.hiddenSize, U = this.numLayers * this.directions;
    const W = this.directions * H, lstm = this.cell === 'lstm', F = (n: number) => allocArray(n, this.dtype);
    let dOut: Arr | null = null, dhN: Arr | null = null, dcN: Arr | null = null;
    if (o.dOutput) {
      expectLength('dOutput', o.dOutput, T * B * W, 'of the output');
      const d = dOut = F(lay.N * W), src = o.dOutput;
      this.eachRow(p, (row, at) => { for (let j = 0; j < W; j++) d[row * W + j] = src[at * W + j]!; });
    }
    if (o.dhN) { expectLength('dhN', o.dhN, U * B * H, 'of hN'); sortState(o.dhN, dhN = F(U * B * H), order, U, B, H); }
    if (o.dcN) {
      if (!lstm) throw new TypeError(`Recurrent.backward: dcN is for LSTM cells, not ${this.cell}`);
      expectLength('dcN', o.dcN, U * B * H, 'of cN');
      sortState(o.dcN, dcN = F(U * B * H), order, U, B, H);
    }
    this.stack.backward(ws, dOut, { dhN, dcN, wantDx: true });
    const dx = F(T * B * D), g = ws.dx;
    this.eachRow(p, (row, at) => { for (let j = 0; j < D; j++) dx[at * D + j] = g[row * D + j]!; });
    const dh0 = F(U * B * H), dc0 = F(lstm ? U * B * H : 0);
    for (let k = 0; k < U; k++) {
      const { h, c } = this.stack.initialGrad(ws, k);
      for (let i = 0; i < B; i++) {
        const to = (k * B + order[i]!) * H;
        for (let j = 0; j < H; j++) { dh0[to + j] = h[i * H + j]!; if (lstm) dc0[to + j] = c[i * H + j]!; }
      }
    }
    return { dx, dh0, dc0 };
  }

  /** f(packed row, row of the same step and sequence in the caller's (T, B) or (B, T) layout) for every valid step. */
  private eachRow(p: Pass, f: (row: number, at: number) => void): void {
    const { T, B, order, lay } = p;
    for (let t = 0; t < lay.T; t++) {
      for (let i = 0; i < lay.sizes[t]!; i++) f(lay.offsets[t]! + i, this.batchFirst ? order[i]! * T + t : t * B + order[i]!);
    }
  }

  private workspace(T: number, B: number): StackWorkspace {
    const key = `${T}x${B}`;
    let ws = this.workspaces.get(key);
    if (!ws) {
      if (this.workspaces.size >= 4) this.workspaces.delete(this.workspaces.keys().next().value!);
      this.workspaces.set(key, ws = this.stack.workspace(T, B));
    }
    return ws;
  }
}

function expectLength(name: string, a: ArrayLike<number>, n: number, shape: string): void {
  if (a.length !== n) throw new RangeError(`Recurrent: ${name} has ${a.length} values, expected ${n} ${shape}`);
}

/** (U, B, H) in batch order -> sorted order (row i = original order[i]). */
function sortState(src: ArrayLike<number>, dst: Arr, order: Int32Array, U: number, B: number, H: number): void {
  for (let k = 0; k < U; k++) for (let i = 0; i < B; i++) {
    const from = (k * B + order[i]!) * H, to = (k * B + i) * H;
    for (let j = 0; j < H; j++) dst[to + j] = src[from + j]!;
  }
}

function unsortState(src: Arr, dst: Arr, order: Int32Array, U: number, B: number, H: number): void {
  for (let k = 0; k < U; k++) for (let i = 0; i < B; i++) {
    const from = (k * B + i) * H, to = (k * B + order[i]!) * H;
    for (let j = 0; j < H; j++) dst[to + j] = src[from + j]!;
  }
}
