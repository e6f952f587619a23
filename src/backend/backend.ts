// The kernel interface every backend implements. Arrays are row-major; every
// array argument comes with an element offset so callers pass views of one arena
// without allocating subarrays in the time loop.
//
// Naming: outputs first, then inputs, then sizes (llm.c). B = batch rows, H = hidden.

import type { Arr } from '../core/params.js';

/** The cells of the fused time loops (src/nn/recurrent.ts CellType; this layer does not import nn/). */
export type SequenceCell = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';

export interface Backend {
  readonly name: string;

  /** What runs underneath (the BLAS and its kernels, threads), for `rnnkit info` and benchmarks. */
  describe?(): string;

  /** Why this backend runs slower here than it should (e.g. generic BLAS kernels), or null. */
  slowWarning?(): string | null;

  /** A zeroed float32 array the kernels can work on (a backend may place it in its own memory). */
  alloc(n: number): Float32Array;

  /** C = alpha * op(A) * op(B) + beta * C, with op(A) (M,K), op(B) (K,N), C (M,N). */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Arr, aOff: number, lda: number,
    B: Arr, bOff: number, ldb: number,
    beta: number, C: Arr, cOff: number, ldc: number,
  ): void;

  /** Y[r, :] = bias for r < rows (Y is (rows, n) at yOff). */
  fillRows(Y: Arr, yOff: number, bias: Arr, rows: number, n: number): void;

  /** db[j] += sum_r dY[r, j]. */
  sumRows(db: Arr, dY: Arr, dyOff: number, rows: number, n: number): void;

  /**
   * LSTM step, gates (B, 4H) in PyTorch order i, f, g, o holding pre-activations
   * (input and recurrent parts and both biases). Overwrites them with activations,
   * writes c (B,H), tc = tanh(c) (B,H) and h (B,H).
   */
  lstmStepForward(gates: Arr, gOff: number, c: Arr, cOff: number, tc: Arr, tcOff: number, h: Arr, hOff: number,
    cPrev: Arr, cpOff: number, B: number, H: number): void;

  /**
   * LSTM step backward. dh, dc (B,H) hold the gradient w.r.t. this step's h and c;
   * writes dgates (B,4H) w.r.t. pre-activations and replaces dc with the gradient w.r.t. c_{t-1}.
   */
  lstmStepBackward(dgates: Arr, dgOff: number, dc: Arr, dh: Arr,
    gates: Arr, gOff: number, tc: Arr, tcOff: number, cPrev: Arr, cpOff: number, B: number, H: number): void;

  /**
   * GRU step (PyTorch: r, z, n; r multiplies W_hn h + b_hn). gx (B,3H) = W_ih x + b_ih,
   * gh (B,3H) = W_hh h + b_hh. Overwrites gx with activations r, z, n; writes h (B,H).
   */
  gruStepForward(gx: Arr, gxOff: number, gh: Arr, ghOff: number, h: Arr, hOff: number,
    hPrev: Arr, hpOff: number, B: number, H: number): void;

  /**
   * GRU step backward. dh (B,H) is the gradient w.r.t. h_t; writes dgx, dgh (B,3H) w.r.t.
   * the two pre-activation sums and replaces dh with the direct part z * dh of dL/dh_{t-1}.
   */
  gruStepBackward(dgx: Arr, dgxOff: number, dgh: Arr, dghOff: number, dh: Arr,
    act: Arr, aOff: number, gh: Arr, ghOff: number, hPrev: Arr, hpOff: number, B: number, H: number): void;

  /**
   * Layer norm over `rows` rows of width n (torch.nn.functional.layer_norm over the last
   * dimension: biased variance, eps inside the square root). Per row, with the row's sums
   * accumulated in double precision:
   *   xhat = (x - mean) * rstd,  rstd = 1/sqrt(var + eps),  out = gamma ⊙ xhat + beta
   * (out += ... when accumulate). Writes xhat (rows, n) and rstd (rows): all the backward needs.
   * x may be xhat itself at the same offset (normalised in place); out overlaps neither.
   * gamma and beta (n) are read from element 0, like fillRows' bias.
   */
  layerNormForward(out: Arr, outOff: number, xhat: Arr, xhatOff: number, rstd: Arr, rOff: number,
    x: Arr, xOff: number, gamma: Arr, beta: Arr, rows: number, n: number, eps: number, accumulate: boolean): void;

  /**
   * Backward of layerNormForward, dout (rows, n) = dL/dout:
   *   dgamma += Σ_rows dout ⊙ xhat,  dbeta += Σ_rows dout (skipped when dbeta is null),
   *   dx = rstd (g - mean(g) - xhat mean(g ⊙ xhat)) with g = dout ⊙ gamma (dx += ... when accumulate).
   * dx may be dout itself at the same offset (in place); nothing else overlaps.
   */
  layerNormBackward(dx: Arr, dxOff: number, dgamma: Arr, dbeta: Arr | null, dout: Arr, doutOff: number,
    xhat: Arr, xhatOff: number, rstd: Arr, rOff: number, gamma: Arr, rows: number, n: number, accumulate: boolean): void;

  /**
   * Optional fused time loop (no recurrent dropout, no layer norm): steps [t0, t1) of
   * the per-step loops of src/nn/{lstm,gru,rnn}.ts in one call, over the packed step
   * layout (sizes (T), offsets (T+1); src/nn/layout.ts) and the RecurrentCache arrays
   * (src/nn/recurrent.ts): g holds the input projections (GRU: gh = b_hh), the state
   * rows before t0 the state; leaves what the per-step loop leaves. Arrays a cell does
   * not use may be empty.
   */
  recurrentSequenceForward?(cell: SequenceCell, g: Arr, gh: Arr, hs: Arr, cs: Arr, tc: Arr, whh: Arr,
    sizes: Int32Array, offsets: Int32Array, T: number, B: number, H: number, t0: number, t1: number): void;

  /**
   * Optional fused backward sweep, t = T-1 .. 0, of the same loops: dh, dc (B,H) hold
   * dL/d(final state) and end as dL/d(initial state); dy (N,H) at dyOff is dL/dh_t
   * from above; fills dg (and dgh).
   */
  recurrentSequenceBackward?(cell: SequenceCell, dg: Arr, dgh: Arr, dh: Arr, dc: Arr, dy: Arr, dyOff: number,
    g: Arr, gh: Arr, hs: Arr, cs: Arr, tc: Arr, whh: Arr, sizes: Int32Array, offsets: Int32Array, T: number, B: number, H: number): void;

  /** Elman step: h = f(pre) for f = tanh or relu, pre (B,H). */
  rnnStepForward(relu: boolean, h: Arr, hOff: number, pre: Arr, pOff: number, n: number): void;

  /** dpre = dh * f'(.), from the output h. */
  rnnStepBackward(relu: boolean, dpre: Arr, dpOff: number, dh: Arr, h: Arr, hOff: number, n: number): void;

  /**
   * Softmax cross-entropy over N rows of V logits. Writes probabilities into probs,
   * returns the summed loss (nats). Rows whose target is negative are skipped.
   */
  softmaxXent(probs: Arr, logits: Arr, targets: Int32Array, N: number, V: number): number;

  /** dlogits = (probs - onehot(target)) * scale; rows with a negative target get 0. */
  softmaxXentBackward(dlogits: Arr, probs: Arr, targets: Int32Array, N: number, V: number, scale: number): void;

  /** Y[n, :] = table[ids[n], :] for n < N (Y (N, width) at yOff). */
  gatherRows(Y: Arr, yOff: number, table: Arr, ids: Int32Array, N: number, width: number): void;

  /** dtable[ids[n], :] += dY[n, :] (a repeated id accumulates). */
  scatterAddRows(dtable: Arr, dY: Arr, dyOff: number, ids: Int32Array, N: number, width: number): void;

  /** Σ a[i]² over the first n entries (gradient norms; accumulate in double precision). */
  sumSquares(a: Arr, n: number): number;

  /** a[i] *= s over the first n entries. */
  scale(a: Arr, n: number, s: number): void;

  // Optimizer updates over n entries, torch.optim's formulas (see src/train/optim.ts).
  /** v = μ v + g; p -= lr v */
  sgdStep(p: Arr, g: Arr, v: Arr, n: number, lr: number, momentum: number): void;
  /** s += g²; p -= lr g / (√s + eps) */
  adagradStep(p: Arr, g: Arr, s: Arr, n: number, lr: number, eps: number): void;
  /** s = α s + (1-α) g²; p -= lr g / (√s + eps) */
  rmspropStep(p: Arr, g: Arr, s: Arr, n: number, lr: number, alpha: number, eps: number): void;
  /** Adam with bias correction for step t (1-based): m, v moments; p -= lr/bc1 · m / (√v/√bc2 + eps) */
  adamStep(p: Arr, g: Arr, m: Arr, v: Arr, n: number, lr: number, beta1: number, beta2: number, eps: number, t: number): void;
}

/** What a backend must implement itself; every other kernel falls back to the reference (registry.ts). */
export type BackendImpl = Pick<Backend, 'name' | 'alloc' | 'gemm'> & Partial<Backend>;
