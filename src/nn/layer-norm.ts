// Layer normalisation over rows (Ba, Kiros & Hinton 2016), as torch.nn.functional.layer_norm
// over the last dimension: biased variance, eps inside the square root.
//   xhat = (x - mean(x)) / sqrt(var(x) + eps),  y = gamma ⊙ xhat + beta
// Forward keeps xhat and rstd = 1/sqrt(var + eps) per row; that is all backward needs.
// The loops are backend kernels (Backend.layerNormForward / layerNormBackward; the
// reference in src/backend/ref/norm.ts): per recurrent step they touch rows = B of
// width G*H, as much work as the step's cell kernels.
import { getBackend } from '../backend/registry.js';
import type { Arr } from '../core/params.js';

export const LN_EPS = 1e-5;

/**
 * rows of width n: xhat = normalised x, rstd[row] = 1/sqrt(var + eps), and
 * out = gamma ⊙ xhat + beta (out += ... when accumulate; from x̂ before it is
 * stored, so in float32 out may differ from gamma ⊙ stored xhat + beta by an ulp).
 * x may be xhat itself (normalise in place); out must not overlap either.
 */
export function layerNormForward(out: Arr, outOff: number, xhat: Arr, xhatOff: number, rstd: Arr, rOff: number,
  x: Arr, xOff: number, gamma: Arr, beta: Arr, rows: number, n: number, accumulate = false): void {
  getBackend().layerNormForward(out, outOff, xhat, xhatOff, rstd, rOff, x, xOff, gamma, beta, rows, n, LN_EPS, accumulate);
}

/**
 * Backward of layerNormForward for rows of width n, from dout = dL/dy:
 *   dgamma += Σ_rows dout ⊙ xhat,  dbeta += Σ_rows dout (skipped when null),
 *   dx = rstd (g - mean(g) - xhat mean(g ⊙ xhat))  with g = dout ⊙ gamma
 * (dx += ... when accumulate). dx may be dout itself (in place).
 */
export function layerNormBackward(dx: Arr, dxOff: number, dgamma: Arr, dbeta: Arr | null, dout: Arr, doutOff: number,
  xhat: Arr, xhatOff: number, rstd: Arr, rOff: number, gamma: Arr, rows: number, n: number, accumulate = false): void {
  getBackend().layerNormBackward(dx, dxOff, dgamma, dbeta, dout, doutOff, xhat, xhatOff, rstd, rOff, gamma, rows, n, accumulate);
}
