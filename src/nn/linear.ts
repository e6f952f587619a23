// Linear layer, PyTorch layout: y = x W^T + b with W (O, I), x (N, I), y (N, O).
import type { Arr, ParamSpec } from '../core/params.js';
import type { Rng } from '../core/rng.js';
import { getBackend } from '../backend/registry.js';

/** `name`.weight (O, I) and `name`.bias (O). */
export function linearSpecs(name: string, O: number, I: number): ParamSpec[] {
  return [{ name: `${name}.weight`, shape: [O, I] }, { name: `${name}.bias`, shape: [O] }];
}

/** PyTorch's default initialisation of nn.Linear weights and biases (and of RNN tensors, fanIn = H): U(-1/√fanIn, 1/√fanIn). */
export function uniformInit(a: Arr, fanIn: number, rng: Rng): void {
  const k = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * k;
}

export function linearForward(y: Arr, x: Arr, xOff: number, W: Arr, b: Arr, N: number, I: number, O: number, yOff = 0): void {
  const be = getBackend();
  be.fillRows(y, yOff, b, N, O);
  be.gemm(false, true, N, O, I, 1, x, xOff, I, W, 0, I, 1, y, yOff, O);
}

/** dW += dy^T x, db += Σ dy, dx = dy W (skipped when dx is null). */
export function linearBackward(dx: Arr | null, dW: Arr, db: Arr, dy: Arr, x: Arr, xOff: number, W: Arr, N: number, I: number, O: number): void {
  const be = getBackend();
  be.gemm(true, false, O, I, N, 1, dy, 0, O, x, xOff, I, 1, dW, 0, I);
  be.sumRows(db, dy, 0, N, O);
  if (dx) be.gemm(false, false, N, I, O, 1, dy, 0, O, W, 0, I, 0, dx, 0, I);
}
