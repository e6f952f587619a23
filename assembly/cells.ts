// Recurrent cells: LSTM, GRU and Elman (tanh / ReLU) steps, forward and backward.
//
// Rows b of the batch are split between threads, in tiles of 4 rows like the GEMM, so
// a thread's rows of h and c stay in its cache across steps; the Elman steps are flat
// pointwise ops, split in chunks of FLAT_CHUNK elements.

import {
  OP_LSTM_F, OP_LSTM_B, OP_GRU_F, OP_GRU_B, OP_RNN_F, OP_RNN_B,
  setI, getI, setU, getU, run, rangeLo, rowChunks, flatChunks, flatLo,
} from './pool';
import { ld, fadd, fsub, fmul, splat, stN, sigmoidTo, sigmoidSumTo, tanhTo } from './simd-math';

export function lstmForward(g: usize, c: usize, tc: usize, h: usize, cp: usize, B: i32, H: i32): void {
  setU(0, g); setU(1, c); setU(2, tc); setU(3, h); setU(4, cp); setI(5, B); setI(6, H);
  run(OP_LSTM_F, rowChunks(B, H * 4, 4));
}

export function lstmFwdPart(t: i32, P: i32): void {
  const g = getU(0), c = getU(1), tc = getU(2), h = getU(3), cp = getU(4), B = getI(5), H = getI(6);
  const lo = rangeLo(B, 1, t, P), hi = rangeLo(B, 1, t + 1, P);
  const H4 = <usize>H << 2;
  for (let b = lo; b < hi; b++) {
    const gr = g + <usize>b * (H4 << 2), r = <usize>b * H4;
    // short loops with few live values (one long loop spills in V8)
    sigmoidTo(gr, gr, H << 1); // i, f
    tanhTo(gr + 2 * H4, gr + 2 * H4, H); // g
    sigmoidTo(gr + 3 * H4, gr + 3 * H4, H); // o
    const pi = gr, pf = gr + H4, pg = gr + 2 * H4, po = gr + 3 * H4;
    for (let j = 0; j < H; j += 4) {
      const o = <usize>j << 2;
      stN(c + r + o, fadd(fmul(ld(pf + o), ld(cp + r + o)), fmul(ld(pi + o), ld(pg + o))), min(4, H - j));
    }
    tanhTo(tc + r, c + r, H);
    for (let j = 0; j < H; j += 4) {
      const o = <usize>j << 2;
      stN(h + r + o, fmul(ld(po + o), ld(tc + r + o)), min(4, H - j));
    }
  }
}

export function lstmBackward(dg: usize, dc: usize, dh: usize, g: usize, tc: usize, cp: usize, B: i32, H: i32): void {
  setU(0, dg); setU(1, dc); setU(2, dh); setU(3, g); setU(4, tc); setU(5, cp); setI(6, B); setI(7, H);
  run(OP_LSTM_B, rowChunks(B, H * 4, 1));
}

export function lstmBwdPart(t: i32, P: i32): void {
  const dg = getU(0), dc = getU(1), dh = getU(2), g = getU(3), tc = getU(4), cp = getU(5), B = getI(6), H = getI(7);
  const lo = rangeLo(B, 1, t, P), hi = rangeLo(B, 1, t + 1, P);
  const H4 = <usize>H << 2, one = splat(1);
  for (let b = lo; b < hi; b++) {
    const gr = g + <usize>b * (H4 << 2), dr = dg + <usize>b * (H4 << 2), r = <usize>b * H4;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j), o = <usize>j << 2;
      const i = ld(gr + o), f = ld(gr + H4 + o), gg = ld(gr + 2 * H4 + o), og = ld(gr + 3 * H4 + o);
      const th = ld(tc + r + o), d = ld(dh + r + o);
      const dct = fadd(ld(dc + r + o), fmul(fmul(d, og), fsub(one, fmul(th, th))));
      stN(dr + o, fmul(fmul(fmul(dct, gg), i), fsub(one, i)), n);
      stN(dr + H4 + o, fmul(fmul(fmul(dct, ld(cp + r + o)), f), fsub(one, f)), n);
      stN(dr + 2 * H4 + o, fmul(fmul(dct, i), fsub(one, fmul(gg, gg))), n);
      stN(dr + 3 * H4 + o, fmul(fmul(fmul(d, th), og), fsub(one, og)), n);
      stN(dc + r + o, fmul(dct, f), n);
    }
  }
}

export function gruForward(gx: usize, gh: usize, h: usize, hp: usize, B: i32, H: i32): void {
  setU(0, gx); setU(1, gh); setU(2, h); setU(3, hp); setI(4, B); setI(5, H);
  run(OP_GRU_F, rowChunks(B, H * 3, 4));
}

export function gruFwdPart(t: i32, P: i32): void {
  const gx = getU(0), gh = getU(1), h = getU(2), hp = getU(3), B = getI(4), H = getI(5);
  const lo = rangeLo(B, 1, t, P), hi = rangeLo(B, 1, t + 1, P);
  const H4 = <usize>H << 2, one = splat(1);
  for (let b = lo; b < hi; b++) {
    const xr = gx + <usize>b * 3 * H4, hr = gh + <usize>b * 3 * H4, r0 = <usize>b * H4;
    sigmoidSumTo(xr, xr, hr, H << 1); // r, z
    const xn = xr + 2 * H4, hn = hr + 2 * H4;
    for (let j = 0; j < H; j += 4) {
      const o = <usize>j << 2;
      stN(xn + o, fadd(ld(xn + o), fmul(ld(xr + o), ld(hn + o))), min(4, H - j));
    }
    tanhTo(xn, xn, H); // n
    const xz = xr + H4;
    for (let j = 0; j < H; j += 4) {
      const o = <usize>j << 2, z = ld(xz + o);
      stN(h + r0 + o, fadd(fmul(fsub(one, z), ld(xn + o)), fmul(z, ld(hp + r0 + o))), min(4, H - j));
    }
  }
}

export function gruBackward(dgx: usize, dgh: usize, dh: usize, a: usize, gh: usize, hp: usize, B: i32, H: i32): void {
  setU(0, dgx); setU(1, dgh); setU(2, dh); setU(3, a); setU(4, gh); setU(5, hp); setI(6, B); setI(7, H);
  run(OP_GRU_B, rowChunks(B, H * 3, 1));
}

export function gruBwdPart(t: i32, P: i32): void {
  const dgx = getU(0), dgh = getU(1), dh = getU(2), a = getU(3), gh = getU(4), hp = getU(5), B = getI(6), H = getI(7);
  const lo = rangeLo(B, 1, t, P), hi = rangeLo(B, 1, t + 1, P);
  const H4 = <usize>H << 2, one = splat(1);
  for (let b = lo; b < hi; b++) {
    const ar = a + <usize>b * 3 * H4, hr = gh + <usize>b * 3 * H4, xr = dgx + <usize>b * 3 * H4, dhr = dgh + <usize>b * 3 * H4, r0 = <usize>b * H4;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j), o = <usize>j << 2;
      const r = ld(ar + o), z = ld(ar + H4 + o), nn = ld(ar + 2 * H4 + o), d = ld(dh + r0 + o);
      const dn = fmul(fmul(d, fsub(one, z)), fsub(one, fmul(nn, nn)));
      const dz = fmul(fmul(fmul(d, fsub(ld(hp + r0 + o), nn)), z), fsub(one, z));
      const dr = fmul(fmul(fmul(dn, ld(hr + 2 * H4 + o)), r), fsub(one, r));
      stN(xr + o, dr, n); stN(xr + H4 + o, dz, n); stN(xr + 2 * H4 + o, dn, n);
      stN(dhr + o, dr, n); stN(dhr + H4 + o, dz, n); stN(dhr + 2 * H4 + o, fmul(dn, r), n);
      stN(dh + r0 + o, fmul(d, z), n);
    }
  }
}

export function rnnForward(relu: i32, h: usize, pre: usize, n: i32): void {
  setI(0, relu); setU(1, h); setU(2, pre); setI(3, n);
  run(OP_RNN_F, flatChunks(n, 4));
}

export function rnnFwdPart(t: i32, P: i32): void {
  const relu = getI(0) != 0, h = getU(1), pre = getU(2), n = getI(3);
  const lo = flatLo(n, t, P), hi = flatLo(n, t + 1, P);
  if (!relu) { tanhTo(h + (<usize>lo << 2), pre + (<usize>lo << 2), hi - lo); return; }
  for (let k = lo; k < hi; k += 4) {
    const o = <usize>k << 2;
    stN(h + o, f32x4.pmax(ld(pre + o), f32x4.splat(0)), min(4, hi - k));
  }
}

export function rnnBackward(relu: i32, dpre: usize, dh: usize, h: usize, n: i32): void {
  setI(0, relu); setU(1, dpre); setU(2, dh); setU(3, h); setI(4, n);
  run(OP_RNN_B, flatChunks(n, 1));
}

export function rnnBwdPart(t: i32, P: i32): void {
  const relu = getI(0) != 0, dpre = getU(1), dh = getU(2), h = getU(3), n = getI(4);
  const lo = flatLo(n, t, P), hi = flatLo(n, t + 1, P);
  for (let k = lo; k < hi; k += 4) {
    const o = <usize>k << 2, y = ld(h + o), d = ld(dh + o);
    const v = relu ? v128.and(d, f32x4.gt(y, splat(0))) : fmul(d, fsub(splat(1), fmul(y, y)));
    stN(dpre + o, v, min(4, hi - k));
  }
}
