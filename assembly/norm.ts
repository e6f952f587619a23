// Layer norm over rows, forward and backward.
//
// Row sums in double (f64x2 lanes) like the reference; the normalisation, gain and dx
// in float. Rows are split between threads. The backward's dγ and dβ are sums over
// rows: a job of their own, split by columns like sumRows (each column adds its rows
// in order), run before the rows' dx, which may overwrite dout.

import {
  OP_LN_F, OP_LN_B_COLS, OP_LN_B_ROWS, elemParMin, elemChunk,
  setI, getI, setU, getU, setF, getF, run, chunksFor, rangeLo, rowChunks,
} from './pool';
import { ld, fadd, fsub, fmul, splat, stN, laneMask, dadd, dmul } from './simd-math';

/** Lanes 2 and 3 of a float32 vector as doubles. */
@inline function promoteHi(v: v128): v128 { return f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0)); }
@inline function promoteLo(v: v128): v128 { return f64x2.promote_low_f32x4(v); }

export function lnForward(out: usize, xhat: usize, rstd: usize, x: usize, gamma: usize, beta: usize,
  rows: i32, n: i32, eps: f64, acc: i32): void {
  setU(0, out); setU(1, xhat); setU(2, rstd); setU(3, x); setU(4, gamma); setU(5, beta);
  setI(6, rows); setI(7, n); setI(8, acc); setF(0, eps);
  run(OP_LN_F, rowChunks(rows, n, 2));
}

export function lnFwdPart(t: i32, P: i32): void {
  const out = getU(0), xhat = getU(1), rstd = getU(2), x = getU(3), gamma = getU(4), beta = getU(5);
  const rows = getI(6), n = getI(7), acc = getI(8) != 0, eps = getF(0);
  const lo = rangeLo(rows, 1, t, P), hi = rangeLo(rows, 1, t + 1, P);
  const n4 = n & ~3, rb = <usize>n << 2;
  for (let r = lo; r < hi; r++) {
    const xr = x + <usize>r * rb, hr = xhat + <usize>r * rb, yr = out + <usize>r * rb;
    let s0 = f64x2.splat(0), s1 = s0, q0 = s0, q1 = s0;
    let j = 0;
    for (; j < n4; j += 4) {
      const v = ld(xr + (<usize>j << 2)), a = promoteLo(v), b = promoteHi(v);
      s0 = dadd(s0, a); s1 = dadd(s1, b); q0 = dadd(q0, dmul(a, a)); q1 = dadd(q1, dmul(b, b));
    }
    if (j < n) {
      const v = v128.and(ld(xr + (<usize>j << 2)), laneMask(n - j)), a = promoteLo(v), b = promoteHi(v);
      s0 = dadd(s0, a); s1 = dadd(s1, b); q0 = dadd(q0, dmul(a, a)); q1 = dadd(q1, dmul(b, b));
    }
    const s = dadd(s0, s1), q = dadd(q0, q1);
    const mean = (f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)) / <f64>n;
    const v = (f64x2.extract_lane(q, 0) + f64x2.extract_lane(q, 1)) / <f64>n - mean * mean;
    const rs = 1.0 / Math.sqrt(max(v, 0.0) + eps); // a NaN stays NaN, as Math.max(NaN, 0)
    store<f32>(rstd + (<usize>r << 2), <f32>rs);
    const vm = splat(<f32>mean), vr = splat(<f32>rs);
    // x may be xhat: each vector of x is read before the same vector of xhat is written
    for (j = 0; j < n; j += 4) {
      const o = <usize>j << 2, k = min(4, n - j);
      const h = fmul(fsub(ld(xr + o), vm), vr);
      stN(hr + o, h, k);
      const y = fadd(fmul(ld(gamma + o), h), ld(beta + o));
      stN(yr + o, acc ? fadd(ld(yr + o), y) : y, k);
    }
  }
}

export function lnBackward(dx: usize, dgamma: usize, dbeta: usize, dout: usize, xhat: usize, rstd: usize, gamma: usize,
  rows: i32, n: i32, acc: i32): void {
  setU(0, dx); setU(1, dgamma); setU(2, dbeta); setU(3, dout); setU(4, xhat); setU(5, rstd); setU(6, gamma);
  setI(7, rows); setI(8, n); setI(9, acc);
  run(OP_LN_B_COLS, chunksFor((n + 15) >> 4, <f64>rows * <f64>n, <f64>elemParMin, <f64>elemChunk));
  run(OP_LN_B_ROWS, rowChunks(rows, n, 2));
}

/** dγ += Σ_rows dout ⊙ x̂, dβ += Σ_rows dout (dbeta = 0: none), columns split between threads. */
export function lnBwdColsPart(t: i32, P: i32): void {
  const dgamma = getU(1), dbeta = getU(2), dout = getU(3), xhat = getU(4), rows = getI(7), n = getI(8);
  const lo = rangeLo(n, 16, t, P), hi = rangeLo(n, 16, t + 1, P);
  const rb = <usize>n << 2;
  // blocks of 256 columns: the partial sums stay in L1 while the rows stream past
  for (let j0 = lo; j0 < hi; j0 += 256) {
    const w = min(hi, j0 + 256) - j0, c0 = <usize>j0 << 2;
    const dg = dgamma + c0, db = dbeta + c0;
    for (let r = 0; r < rows; r++) {
      const d = dout + <usize>r * rb + c0, h = xhat + <usize>r * rb + c0;
      for (let j = 0; j < w; j += 4) {
        const o = <usize>j << 2;
        stN(dg + o, fadd(ld(dg + o), fmul(ld(d + o), ld(h + o))), min(4, w - j));
      }
      if (dbeta != 0) {
        for (let j = 0; j < w; j += 4) {
          const o = <usize>j << 2;
          stN(db + o, fadd(ld(db + o), ld(d + o)), min(4, w - j));
        }
      }
    }
  }
}

/** dx (+)= rstd (g - mean(g) - x̂ mean(g ⊙ x̂)), g = dout ⊙ γ, rows split between threads. */
export function lnBwdRowsPart(t: i32, P: i32): void {
  const dx = getU(0), dout = getU(3), xhat = getU(4), rstd = getU(5), gamma = getU(6);
  const rows = getI(7), n = getI(8), acc = getI(9) != 0;
  const lo = rangeLo(rows, 1, t, P), hi = rangeLo(rows, 1, t + 1, P);
  const n4 = n & ~3, rb = <usize>n << 2;
  for (let r = lo; r < hi; r++) {
    const d = dout + <usize>r * rb, h = xhat + <usize>r * rb, xr = dx + <usize>r * rb;
    let s0 = f64x2.splat(0), s1 = s0, q0 = s0, q1 = s0;
    let j = 0;
    for (; j < n4; j += 4) {
      const o = <usize>j << 2, dv = ld(d + o), gv = ld(gamma + o), hv = ld(h + o);
      const g0 = dmul(promoteLo(dv), promoteLo(gv)), g1 = dmul(promoteHi(dv), promoteHi(gv));
      s0 = dadd(s0, g0); s1 = dadd(s1, g1);
      q0 = dadd(q0, dmul(g0, promoteLo(hv))); q1 = dadd(q1, dmul(g1, promoteHi(hv)));
    }
    if (j < n) {
      // every operand masked: 0 times whatever lies past the row could be a NaN
      const o = <usize>j << 2, m = laneMask(n - j);
      const dv = v128.and(ld(d + o), m), gv = v128.and(ld(gamma + o), m), hv = v128.and(ld(h + o), m);
      const g0 = dmul(promoteLo(dv), promoteLo(gv)), g1 = dmul(promoteHi(dv), promoteHi(gv));
      s0 = dadd(s0, g0); s1 = dadd(s1, g1);
      q0 = dadd(q0, dmul(g0, promoteLo(hv))); q1 = dadd(q1, dmul(g1, promoteHi(hv)));
    }
    const s = dadd(s0, s1), q = dadd(q0, q1);
    const mg = (f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)) / <f64>n;
    const mgx = (f64x2.extract_lane(q, 0) + f64x2.extract_lane(q, 1)) / <f64>n;
    const va = splat(<f32>mg), vb = splat(<f32>mgx), vr = splat(load<f32>(rstd + (<usize>r << 2)));
    // dx may be dout: each vector of dout is read before the same vector of dx is written
    for (j = 0; j < n; j += 4) {
      const o = <usize>j << 2;
      const v = fmul(vr, fsub(fsub(fmul(ld(d + o), ld(gamma + o)), va), fmul(ld(h + o), vb)));
      stN(xr + o, acc ? fadd(ld(xr + o), v) : v, min(4, n - j));
    }
  }
}
