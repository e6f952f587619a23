// Layer normalisation over rows (Ba, Kiros & Hinton 2016), as torch.nn.functional.layer_norm
// over the last dimension: biased variance, eps inside the square root.
//   xhat = (x - mean(x)) / sqrt(var(x) + eps),  y = gamma ⊙ xhat + beta
// Forward keeps xhat and rstd = 1/sqrt(var + eps) per row; that is all backward needs.
// Plain loops with float64 sums, no backend kernel: O(rows * n) work next to the
// O(rows * n * H) GEMMs around them.
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
  for (let r = 0; r < rows; r++) {
    const xo = xOff + r * n, ho = xhatOff + r * n, oo = outOff + r * n;
    // one pass: with float64 sums of float32-sized data, E[x²] - mean² loses only
    // ~1e-16 (mean / std)² relative to the variance
    let sum = 0, ss = 0;
    for (let j = 0; j < n; j++) { const v = x[xo + j]!; sum += v; ss += v * v; }
    const mean = sum / n, rs = 1 / Math.sqrt(Math.max(ss / n - mean * mean, 0) + LN_EPS);
    rstd[rOff + r] = rs;
    // (x may be xhat: each x[j] is read before xhat[j] is written)
    if (accumulate) for (let j = 0; j < n; j++) { const h = (x[xo + j]! - mean) * rs; xhat[ho + j] = h; out[oo + j] += gamma[j]! * h + beta[j]!; }
    else for (let j = 0; j < n; j++) { const h = (x[xo + j]! - mean) * rs; xhat[ho + j] = h; out[oo + j] = gamma[j]! * h + beta[j]!; }
  }
}

/**
 * Backward of layerNormForward for rows of width n, from dout = dL/dy:
 *   dgamma += Σ_rows dout ⊙ xhat,  dbeta += Σ_rows dout (skipped when null),
 *   dx = rstd (g - mean(g) - xhat mean(g ⊙ xhat))  with g = dout ⊙ gamma
 * (dx += ... when accumulate). dx may be dout itself (in place).
 */
export function layerNormBackward(dx: Arr, dxOff: number, dgamma: Arr, dbeta: Arr | null, dout: Arr, doutOff: number,
  xhat: Arr, xhatOff: number, rstd: Arr, rOff: number, gamma: Arr, rows: number, n: number, accumulate = false): void {
  for (let r = 0; r < rows; r++) {
    const go = doutOff + r * n, ho = xhatOff + r * n, xo = dxOff + r * n;
    let sg = 0, sgx = 0;
    for (let j = 0; j < n; j++) {
      const d = dout[go + j]!, h = xhat[ho + j]!, g = d * gamma[j]!;
      sg += g; sgx += g * h;
      dgamma[j] += d * h;
    }
    if (dbeta) for (let j = 0; j < n; j++) dbeta[j] += dout[go + j]!; // a loop of its own: 2x faster than both += in one
    const mg = sg / n, mgx = sgx / n, rs = rstd[rOff + r]!;
    // element j reads dout[j] and xhat[j] before dx[j] is written: in place is safe
    if (accumulate) for (let j = 0; j < n; j++) dx[xo + j] += rs * (dout[go + j]! * gamma[j]! - mg - xhat[ho + j]! * mgx);
    else for (let j = 0; j < n; j++) dx[xo + j] = rs * (dout[go + j]! * gamma[j]! - mg - xhat[ho + j]! * mgx);
  }
}
