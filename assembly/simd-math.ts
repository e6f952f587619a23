// SIMD helpers: f32x4 / f64x2 shorthands, and exp, sigmoid and tanh over ranges of
// float32 (for the cells and softmax).

@inline export function ld(p: usize): v128 { return v128.load(p); }
@inline export function st(p: usize, v: v128): void { v128.store(p, v); }
@inline export function fadd(a: v128, b: v128): v128 { return f32x4.add(a, b); }
@inline export function fsub(a: v128, b: v128): v128 { return f32x4.sub(a, b); }
@inline export function fmul(a: v128, b: v128): v128 { return f32x4.mul(a, b); }
@inline export function splat(x: f32): v128 { return f32x4.splat(x); }
/** a b + c: one fused multiply-add where the module is built with relaxed SIMD (rnnkit-relaxed.wasm), else a multiply and an add. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Stores the first n (1..4) lanes of v at p. */
@inline export function stN(p: usize, v: v128, n: i32): void {
  if (n >= 4) { v128.store(p, v); return; }
  v128.store32_lane(p, v, 0);
  if (n > 1) v128.store32_lane(p, v, 1, 4);
  if (n > 2) v128.store32_lane(p, v, 2, 8);
}

/** Lane mask of the first n lanes. */
@inline export function laneMask(n: i32): v128 { return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n)); }

/** [Σa, Σb, Σc, Σd]. */
@inline export function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const s0 = fadd(f32x4.shuffle(a, b, 0, 4, 1, 5), f32x4.shuffle(a, b, 2, 6, 3, 7)); // a02 b02 a13 b13
  const s1 = fadd(f32x4.shuffle(c, d, 0, 4, 1, 5), f32x4.shuffle(c, d, 2, 6, 3, 7));
  return fadd(f32x4.shuffle(s0, s1, 0, 1, 4, 5), f32x4.shuffle(s0, s1, 2, 3, 6, 7));
}

// exp, sigmoid, tanh in float32 (Cephes expf / tanhf): about 1 ulp for exp, a few ulp
// for sigmoid and tanh, against the double-precision reference rounded to float32.
// The constants live in mutable globals, read once per range into locals: as
// v128.const, V8 rebuilds each one at every use inside the loop (several instructions).
let K_LO = f32x4.splat(-87.33654);
let K_HI = f32x4.splat(88.0);
let K_LOG2E = f32x4.splat(1.44269504088896341);
let K_ROUND = f32x4.splat(12582912.0 + 127.0); // 1.5 * 2^23 (round to integer) + exponent bias
let K_LN2HI = f32x4.splat(0.693359375);
let K_LN2LO = f32x4.splat(2.12194440e-4);
let K_E0 = f32x4.splat(1.9875691500e-4);
let K_E1 = f32x4.splat(1.3981999507e-3);
let K_E2 = f32x4.splat(8.3334519073e-3);
let K_E3 = f32x4.splat(4.1665795894e-2);
let K_E4 = f32x4.splat(1.6666665459e-1);
let K_E5 = f32x4.splat(5.0000001201e-1);
let K_ONE = f32x4.splat(1);
let K_TWO = f32x4.splat(2);
let K_T0 = f32x4.splat(-5.70498872745e-3);
let K_T1 = f32x4.splat(2.06390887954e-2);
let K_T2 = f32x4.splat(-5.37397155531e-2);
let K_T3 = f32x4.splat(1.33314422036e-1);
let K_T4 = f32x4.splat(-3.33332819422e-1);
let K_TSMALL = f32x4.splat(0.625);
let K_SIGN = i32x4.splat(0x80000000);

// The kernels below work on ranges, with the constants hoisted into locals (registers
// or stack slots) once per range: V8 does not hoist a global read out of a loop.
// exp(x): x = n ln 2 + r, |r| <= ln 2 / 2, exp(r) by the Cephes polynomial, 2^n built in
// the exponent bits. pmin/pmax are single instructions (min/max are not) and keep a NaN.
@inline function vexpC(x: v128, lo: v128, hi: v128, l2e: v128, rnd: v128, ln2hi: v128, ln2lo: v128,
  e0: v128, e1: v128, e2: v128, e3: v128, e4: v128, e5: v128, one: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, lo), hi);
  // t = 1.5 * 2^23 + 127 + round(x / ln 2): the rounded integer sits in t's low mantissa bits
  const t = fadd(fmul(x, l2e), rnd);
  const n = fsub(t, rnd);
  const r = fadd(fsub(x, fmul(n, ln2hi)), fmul(n, ln2lo));
  let p = fadd(fmul(e0, r), e1);
  p = fadd(fmul(p, r), e2);
  p = fadd(fmul(p, r), e3);
  p = fadd(fmul(p, r), e4);
  p = fadd(fmul(p, r), e5);
  return fmul(fadd(fadd(fmul(p, fmul(r, r)), r), one), i32x4.shl(t, 23));
}

/** dst[k] = sigmoid(src[k]) for k < n (dst may be src). */
export function sigmoidTo(dst: usize, src: usize, n: i32): void {
  const lo = K_LO, hi = K_HI, l2e = K_LOG2E, rnd = K_ROUND, ln2hi = K_LN2HI, ln2lo = K_LN2LO;
  const e0 = K_E0, e1 = K_E1, e2 = K_E2, e3 = K_E3, e4 = K_E4, e5 = K_E5, one = K_ONE;
  for (let j = 0; j < n; j += 4) {
    const o = <usize>j << 2;
    const e = vexpC(f32x4.neg(ld(src + o)), lo, hi, l2e, rnd, ln2hi, ln2lo, e0, e1, e2, e3, e4, e5, one);
    stN(dst + o, f32x4.div(one, fadd(one, e)), min(4, n - j));
  }
}

/** dst[k] = exp(src[k] - m) for k < n; returns the sum (lanes past n count 0). */
export function expShiftTo(dst: usize, src: usize, n: i32, m: f32): f64 {
  const lo = K_LO, hi = K_HI, l2e = K_LOG2E, rnd = K_ROUND, ln2hi = K_LN2HI, ln2lo = K_LN2LO;
  const e0 = K_E0, e1 = K_E1, e2 = K_E2, e3 = K_E3, e4 = K_E4, e5 = K_E5, one = K_ONE;
  const vm = f32x4.splat(m);
  let acc = f32x4.splat(0);
  const n4 = n & ~3;
  let j = 0;
  for (; j < n4; j += 4) {
    const o = <usize>j << 2;
    const e = vexpC(fsub(ld(src + o), vm), lo, hi, l2e, rnd, ln2hi, ln2lo, e0, e1, e2, e3, e4, e5, one);
    st(dst + o, e);
    acc = fadd(acc, e);
  }
  if (j < n) {
    const o = <usize>j << 2;
    const e = v128.and(vexpC(fsub(ld(src + o), vm), lo, hi, l2e, rnd, ln2hi, ln2lo, e0, e1, e2, e3, e4, e5, one), laneMask(n - j));
    stN(dst + o, e, n - j);
    acc = fadd(acc, e);
  }
  return <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
}

/** dst[k] = sigmoid(a[k] + b[k]) for k < n (dst may be a). */
export function sigmoidSumTo(dst: usize, a: usize, b: usize, n: i32): void {
  const lo = K_LO, hi = K_HI, l2e = K_LOG2E, rnd = K_ROUND, ln2hi = K_LN2HI, ln2lo = K_LN2LO;
  const e0 = K_E0, e1 = K_E1, e2 = K_E2, e3 = K_E3, e4 = K_E4, e5 = K_E5, one = K_ONE;
  for (let j = 0; j < n; j += 4) {
    const o = <usize>j << 2;
    const e = vexpC(f32x4.neg(fadd(ld(a + o), ld(b + o))), lo, hi, l2e, rnd, ln2hi, ln2lo, e0, e1, e2, e3, e4, e5, one);
    stN(dst + o, f32x4.div(one, fadd(one, e)), min(4, n - j));
  }
}

/** dst[k] = tanh(src[k]) for k < n (dst may be src). */
export function tanhTo(dst: usize, src: usize, n: i32): void {
  const lo = K_LO, hi = K_HI, l2e = K_LOG2E, rnd = K_ROUND, ln2hi = K_LN2HI, ln2lo = K_LN2LO;
  const e0 = K_E0, e1 = K_E1, e2 = K_E2, e3 = K_E3, e4 = K_E4, e5 = K_E5, one = K_ONE;
  const t0 = K_T0, t1 = K_T1, t2 = K_T2, t3 = K_T3, t4 = K_T4, two = K_TWO, sign = K_SIGN, small = K_TSMALL;
  for (let j = 0; j < n; j += 4) {
    const o = <usize>j << 2;
    const x = ld(src + o);
    const ax = f32x4.abs(x);
    const z = fmul(x, x);
    let p = fadd(fmul(t0, z), t1);
    p = fadd(fmul(p, z), t2);
    p = fadd(fmul(p, z), t3);
    p = fadd(fmul(p, z), t4);
    const sm = fadd(fmul(fmul(p, z), x), x);
    const e = vexpC(fadd(ax, ax), lo, hi, l2e, rnd, ln2hi, ln2lo, e0, e1, e2, e3, e4, e5, one);
    const big = v128.or(fsub(one, f32x4.div(two, fadd(e, one))), v128.and(x, sign));
    stN(dst + o, v128.bitselect(sm, big, f32x4.lt(ax, small)), min(4, n - j));
  }
}

// f64x2 helpers over pairs of float32
@inline export function ld2(p: usize): v128 { return f64x2.promote_low_f32x4(v128.load64_zero(p)); }
@inline export function st2(p: usize, v: v128): void { v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0); }
@inline export function dsplat(x: f64): v128 { return f64x2.splat(x); }
@inline export function dadd(a: v128, b: v128): v128 { return f64x2.add(a, b); }
@inline export function dsub(a: v128, b: v128): v128 { return f64x2.sub(a, b); }
@inline export function dmul(a: v128, b: v128): v128 { return f64x2.mul(a, b); }
@inline export function ddiv(a: v128, b: v128): v128 { return f64x2.div(a, b); }
/** Rounds each lane to float32 and back (the reference stores into a Float32Array, then reads it). */
@inline export function r32(v: v128): v128 { return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v)); }
