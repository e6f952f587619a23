// Reference pointwise kernels of the recurrent cells and the loss: the executable
// spec the fast backends are tested against. Equations follow PyTorch's nn.LSTM,
// nn.GRU and nn.RNN documentation.
import type { Arr } from '../../core/params.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function lstmStepForward(g: Arr, gOff: number, c: Arr, cOff: number, tc: Arr, tcOff: number, h: Arr, hOff: number,
  cPrev: Arr, cpOff: number, B: number, H: number): void {
  for (let b = 0; b < B; b++) {
    const gr = gOff + b * 4 * H, r = b * H;
    for (let j = 0; j < H; j++) {
      const i = sigmoid(g[gr + j]), f = sigmoid(g[gr + H + j]);
      const gg = Math.tanh(g[gr + 2 * H + j]), o = sigmoid(g[gr + 3 * H + j]);
      g[gr + j] = i; g[gr + H + j] = f; g[gr + 2 * H + j] = gg; g[gr + 3 * H + j] = o;
      const ct = f * cPrev[cpOff + r + j] + i * gg;
      const t = Math.tanh(ct);
      c[cOff + r + j] = ct; tc[tcOff + r + j] = t; h[hOff + r + j] = o * t;
    }
  }
}

export function lstmStepBackward(dg: Arr, dgOff: number, dc: Arr, dh: Arr,
  g: Arr, gOff: number, tc: Arr, tcOff: number, cPrev: Arr, cpOff: number, B: number, H: number): void {
  for (let b = 0; b < B; b++) {
    const gr = gOff + b * 4 * H, dr = dgOff + b * 4 * H, r = b * H;
    for (let j = 0; j < H; j++) {
      const i = g[gr + j], f = g[gr + H + j], gg = g[gr + 2 * H + j], o = g[gr + 3 * H + j];
      const t = tc[tcOff + r + j], d = dh[r + j];
      const dct = dc[r + j] + d * o * (1 - t * t);
      dg[dr + j] = dct * gg * i * (1 - i);
      dg[dr + H + j] = dct * cPrev[cpOff + r + j] * f * (1 - f);
      dg[dr + 2 * H + j] = dct * i * (1 - gg * gg);
      dg[dr + 3 * H + j] = d * t * o * (1 - o);
      dc[r + j] = dct * f;
    }
  }
}

export function gruStepForward(gx: Arr, gxOff: number, gh: Arr, ghOff: number, h: Arr, hOff: number,
  hPrev: Arr, hpOff: number, B: number, H: number): void {
  for (let b = 0; b < B; b++) {
    const xr = gxOff + b * 3 * H, hr = ghOff + b * 3 * H, r0 = b * H;
    for (let j = 0; j < H; j++) {
      const r = sigmoid(gx[xr + j] + gh[hr + j]);
      const z = sigmoid(gx[xr + H + j] + gh[hr + H + j]);
      const n = Math.tanh(gx[xr + 2 * H + j] + r * gh[hr + 2 * H + j]);
      gx[xr + j] = r; gx[xr + H + j] = z; gx[xr + 2 * H + j] = n;
      h[hOff + r0 + j] = (1 - z) * n + z * hPrev[hpOff + r0 + j];
    }
  }
}

export function gruStepBackward(dgx: Arr, dgxOff: number, dgh: Arr, dghOff: number, dh: Arr,
  a: Arr, aOff: number, gh: Arr, ghOff: number, hPrev: Arr, hpOff: number, B: number, H: number): void {
  for (let b = 0; b < B; b++) {
    const ar = aOff + b * 3 * H, hr = ghOff + b * 3 * H, xr = dgxOff + b * 3 * H, dhr = dghOff + b * 3 * H, r0 = b * H;
    for (let j = 0; j < H; j++) {
      const r = a[ar + j], z = a[ar + H + j], n = a[ar + 2 * H + j], d = dh[r0 + j];
      const dn = d * (1 - z) * (1 - n * n); // through tanh
      const dz = d * (hPrev[hpOff + r0 + j] - n) * z * (1 - z);
      const dr = dn * gh[hr + 2 * H + j] * r * (1 - r);
      dgx[xr + j] = dr; dgx[xr + H + j] = dz; dgx[xr + 2 * H + j] = dn;
      dgh[dhr + j] = dr; dgh[dhr + H + j] = dz; dgh[dhr + 2 * H + j] = dn * r;
      dh[r0 + j] = d * z;
    }
  }
}

export function rnnStepForward(relu: boolean, h: Arr, hOff: number, pre: Arr, pOff: number, n: number): void {
  if (relu) for (let k = 0; k < n; k++) { const v = pre[pOff + k]; h[hOff + k] = v > 0 ? v : 0; }
  else for (let k = 0; k < n; k++) h[hOff + k] = Math.tanh(pre[pOff + k]);
}

export function rnnStepBackward(relu: boolean, dpre: Arr, dpOff: number, dh: Arr, h: Arr, hOff: number, n: number): void {
  if (relu) for (let k = 0; k < n; k++) dpre[dpOff + k] = h[hOff + k] > 0 ? dh[k] : 0;
  else for (let k = 0; k < n; k++) { const y = h[hOff + k]; dpre[dpOff + k] = dh[k] * (1 - y * y); }
}

export function softmaxXent(probs: Arr, logits: Arr, targets: Int32Array, N: number, V: number): number {
  let loss = 0;
  for (let r = 0; r < N; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > max) max = logits[o + v];
    let sum = 0;
    for (let v = 0; v < V; v++) { const e = Math.exp(logits[o + v] - max); probs[o + v] = e; sum += e; }
    const inv = 1 / sum;
    for (let v = 0; v < V; v++) probs[o + v] *= inv;
    const t = targets[r];
    if (t >= 0) loss += Math.log(sum) + max - logits[o + t];
  }
  return loss;
}

export function softmaxXentBackward(dlogits: Arr, probs: Arr, targets: Int32Array, N: number, V: number, scale: number): void {
  for (let r = 0; r < N; r++) {
    const o = r * V, t = targets[r];
    if (t < 0) { dlogits.fill(0, o, o + V); continue; }
    for (let v = 0; v < V; v++) dlogits[o + v] = probs[o + v] * scale;
    dlogits[o + t] -= scale;
  }
}
