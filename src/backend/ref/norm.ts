// Reference layer norm over rows (Ba, Kiros & Hinton 2016), as torch.nn.functional.layer_norm
// over the last dimension: biased variance, eps inside the square root. JavaScript
// numbers throughout (double precision), rounded only when stored, so the same loops
// serve float32 models and the float64 ones of the gradient checks.
import type { Arr } from '../../core/params.js';

export function layerNormForward(out: Arr, outOff: number, xhat: Arr, xhatOff: number, rstd: Arr, rOff: number,
  x: Arr, xOff: number, gamma: Arr, beta: Arr, rows: number, n: number, eps: number, accumulate: boolean): void {
  for (let r = 0; r < rows; r++) {
    const xo = xOff + r * n, ho = xhatOff + r * n, oo = outOff + r * n;
    // one pass: with double sums of float32-sized data, E[x²] - mean² loses only
    // ~1e-16 (mean / std)² relative to the variance
    let sum = 0, ss = 0;
    for (let j = 0; j < n; j++) { const v = x[xo + j]!; sum += v; ss += v * v; }
    const mean = sum / n, rs = 1 / Math.sqrt(Math.max(ss / n - mean * mean, 0) + eps);
    rstd[rOff + r] = rs;
    // out from x̂ before it is stored (in float32 it may differ from gamma ⊙ stored xhat + beta
    // by an ulp); x may be xhat: each x[j] is read before xhat[j] is written
    if (accumulate) for (let j = 0; j < n; j++) { const h = (x[xo + j]! - mean) * rs; xhat[ho + j] = h; out[oo + j] += gamma[j]! * h + beta[j]!; }
    else for (let j = 0; j < n; j++) { const h = (x[xo + j]! - mean) * rs; xhat[ho + j] = h; out[oo + j] = gamma[j]! * h + beta[j]!; }
  }
}

export function layerNormBackward(dx: Arr, dxOff: number, dgamma: Arr, dbeta: Arr | null, dout: Arr, doutOff: number,
  xhat: Arr, xhatOff: number, rstd: Arr, rOff: number, gamma: Arr, rows: number, n: number, accumulate: boolean): void {
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
