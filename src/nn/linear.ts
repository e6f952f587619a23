// Linear layer, PyTorch layout: y = x W^T + b with W (O, I), x (N, I), y (N, O).
import type { Arr } from '../core/params.js';
import { getBackend } from '../backend/registry.js';

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
