// Norms and optimizer updates: sumSquares, scale, SGD, Adagrad, RMSprop, Adam.
//
// In double precision like the reference: each value is computed in f64 from the
// float32 inputs and rounded once, so the results are the reference's bit for bit.

import {
  OP_SUMSQ, OP_SCALE, OP_SGD, OP_ADAGRAD, OP_RMSPROP, OP_ADAM, PARTIAL, MAX_CHUNKS, FLAT_CHUNK, ctl,
  elemParMin, elemChunk, setI, getI, setU, getU, setF, getF, run, chunksFor, rangeLo, flatChunks, flatLo,
} from './pool';
import { ld, ld2, st2, dsplat, dadd, dsub, dmul, ddiv, r32 } from './simd-math';

@inline function flatChunk(n: i32): i32 { return max(FLAT_CHUNK, ((n + MAX_CHUNKS - 1) / MAX_CHUNKS + 3) & ~3); }

export function sumSquares(a: usize, n: i32): f64 {
  setU(0, a); setI(1, n);
  run(OP_SUMSQ, chunksFor((n + flatChunk(n) - 1) / flatChunk(n), <f64>n, <f64>elemParMin, <f64>elemChunk));
  const chunk = flatChunk(n), chunks = (n + chunk - 1) / chunk;
  let s = 0.0;
  for (let i = 0; i < chunks; i++) s += load<f64>(ctl + PARTIAL + (<usize>i << 3));
  return s;
}

export function sumSquaresPart(t: i32, P: i32): void {
  const a = getU(0), n = getI(1);
  const chunk = flatChunk(n), chunks = (n + chunk - 1) / chunk;
  const c0 = rangeLo(chunks, 1, t, P), c1 = rangeLo(chunks, 1, t + 1, P);
  for (let ch = c0; ch < c1; ch++) {
    const lo = ch * chunk, hi = min(n, lo + chunk);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    let k = lo;
    for (; k + 4 <= hi; k += 4) {
      const v = ld(a + (<usize>k << 2));
      const lo2 = f64x2.promote_low_f32x4(v), hi2 = f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0));
      s0 = f64x2.add(s0, f64x2.mul(lo2, lo2));
      s1 = f64x2.add(s1, f64x2.mul(hi2, hi2));
    }
    const s2 = f64x2.add(s0, s1);
    let s = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
    for (; k < hi; k++) { const x = <f64>load<f32>(a + (<usize>k << 2)); s += x * x; }
    store<f64>(ctl + PARTIAL + (<usize>ch << 3), s);
  }
}

export function scale(a: usize, n: i32, s: f64): void {
  setU(0, a); setI(1, n); setF(0, s);
  run(OP_SCALE, flatChunks(n, 2));
}

export function scalePart(t: i32, P: i32): void {
  const a = getU(0), n = getI(1), s = getF(0);
  const lo = flatLo(n, t, P), hi = flatLo(n, t + 1, P);
  const vs = dsplat(s);
  let k = lo;
  for (; k + 2 <= hi; k += 2) { const p = a + (<usize>k << 2); st2(p, dmul(ld2(p), vs)); }
  for (; k < hi; k++) { const p = a + (<usize>k << 2); store<f32>(p, <f32>(<f64>load<f32>(p) * s)); }
}

export function sgd(p: usize, g: usize, v: usize, n: i32, lr: f64, mu: f64): void {
  setU(0, p); setU(1, g); setU(2, v); setI(3, n); setF(0, lr); setF(1, mu);
  run(OP_SGD, flatChunks(n, 2));
}

export function sgdPart(t: i32, P: i32): void {
  const p = getU(0), g = getU(1), v = getU(2), n = getI(3), lr = getF(0), mu = getF(1);
  const lo = flatLo(n, t, P), hi = flatLo(n, t + 1, P);
  const vlr = dsplat(lr), vmu = dsplat(mu);
  let k = lo;
  for (; k + 2 <= hi; k += 2) {
    const o = <usize>k << 2;
    const vv = r32(dadd(dmul(vmu, ld2(v + o)), ld2(g + o)));
    st2(v + o, vv);
    st2(p + o, dsub(ld2(p + o), dmul(vlr, vv)));
  }
  for (; k < hi; k++) {
    const o = <usize>k << 2;
    const vv = <f32>(mu * <f64>load<f32>(v + o) + <f64>load<f32>(g + o));
    store<f32>(v + o, vv);
    store<f32>(p + o, <f32>(<f64>load<f32>(p + o) - lr * <f64>vv));
  }
}

export function adagrad(p: usize, g: usize, s: usize, n: i32, lr: f64, eps: f64): void {
  setU(0, p); setU(1, g); setU(2, s); setI(3, n); setF(0, lr); setF(1, eps);
  run(OP_ADAGRAD, flatChunks(n, 2));
}

export function adagradPart(t: i32, P: i32): void {
  const p = getU(0), g = getU(1), s = getU(2), n = getI(3), lr = getF(0), eps = getF(1);
  const lo = flatLo(n, t, P), hi = flatLo(n, t + 1, P);
  const vlr = dsplat(lr), veps = dsplat(eps);
  let k = lo;
  for (; k + 2 <= hi; k += 2) {
    const o = <usize>k << 2, gg = ld2(g + o);
    const ss = r32(dadd(ld2(s + o), dmul(gg, gg)));
    st2(s + o, ss);
    st2(p + o, dsub(ld2(p + o), ddiv(dmul(vlr, gg), dadd(f64x2.sqrt(ss), veps))));
  }
  for (; k < hi; k++) {
    const o = <usize>k << 2, gg = <f64>load<f32>(g + o);
    const ss = <f32>(<f64>load<f32>(s + o) + gg * gg);
    store<f32>(s + o, ss);
    store<f32>(p + o, <f32>(<f64>load<f32>(p + o) - lr * gg / (Math.sqrt(<f64>ss) + eps)));
  }
}

export function rmsprop(p: usize, g: usize, s: usize, n: i32, lr: f64, alpha: f64, eps: f64): void {
  setU(0, p); setU(1, g); setU(2, s); setI(3, n); setF(0, lr); setF(1, alpha); setF(2, eps);
  run(OP_RMSPROP, flatChunks(n, 2));
}

export function rmspropPart(t: i32, P: i32): void {
  const p = getU(0), g = getU(1), s = getU(2), n = getI(3), lr = getF(0), a = getF(1), eps = getF(2);
  const lo = flatLo(n, t, P), hi = flatLo(n, t + 1, P);
  const vlr = dsplat(lr), va = dsplat(a), v1a = dsplat(1 - a), veps = dsplat(eps);
  let k = lo;
  for (; k + 2 <= hi; k += 2) {
    const o = <usize>k << 2, gg = ld2(g + o);
    const ss = r32(dadd(dmul(va, ld2(s + o)), dmul(dmul(v1a, gg), gg)));
    st2(s + o, ss);
    st2(p + o, dsub(ld2(p + o), ddiv(dmul(vlr, gg), dadd(f64x2.sqrt(ss), veps))));
  }
  for (; k < hi; k++) {
    const o = <usize>k << 2, gg = <f64>load<f32>(g + o);
    const ss = <f32>(a * <f64>load<f32>(s + o) + (1 - a) * gg * gg);
    store<f32>(s + o, ss);
    store<f32>(p + o, <f32>(<f64>load<f32>(p + o) - lr * gg / (Math.sqrt(<f64>ss) + eps)));
  }
}

/** step = lr / (1 - b1^t) and sq = sqrt(1 - b2^t) come from the caller (JavaScript's Math.pow). */
export function adam(p: usize, g: usize, m: usize, v: usize, n: i32, step: f64, sq: f64, b1: f64, b2: f64, eps: f64): void {
  setU(0, p); setU(1, g); setU(2, m); setU(3, v); setI(4, n);
  setF(0, step); setF(1, sq); setF(2, b1); setF(3, b2); setF(4, eps);
  run(OP_ADAM, flatChunks(n, 2));
}

export function adamPart(t: i32, P: i32): void {
  const p = getU(0), g = getU(1), m = getU(2), v = getU(3), n = getI(4);
  const step = getF(0), sq = getF(1), b1 = getF(2), b2 = getF(3), eps = getF(4);
  const lo = flatLo(n, t, P), hi = flatLo(n, t + 1, P);
  const vstep = dsplat(step), vsq = dsplat(sq), vb1 = dsplat(b1), vb2 = dsplat(b2), v1b1 = dsplat(1 - b1), v1b2 = dsplat(1 - b2), veps = dsplat(eps);
  let k = lo;
  for (; k + 2 <= hi; k += 2) {
    const o = <usize>k << 2, gg = ld2(g + o);
    const mm = r32(dadd(dmul(vb1, ld2(m + o)), dmul(v1b1, gg)));
    const vv = r32(dadd(dmul(vb2, ld2(v + o)), dmul(dmul(v1b2, gg), gg)));
    st2(m + o, mm); st2(v + o, vv);
    st2(p + o, dsub(ld2(p + o), ddiv(dmul(vstep, mm), dadd(ddiv(f64x2.sqrt(vv), vsq), veps))));
  }
  for (; k < hi; k++) {
    const o = <usize>k << 2, gg = <f64>load<f32>(g + o);
    const mm = <f32>(b1 * <f64>load<f32>(m + o) + (1 - b1) * gg);
    const vv = <f32>(b2 * <f64>load<f32>(v + o) + (1 - b2) * gg * gg);
    store<f32>(m + o, mm); store<f32>(v + o, vv);
    store<f32>(p + o, <f32>(<f64>load<f32>(p + o) - step * <f64>mm / (Math.sqrt(<f64>vv) / sq + eps)));
  }
}
