// GEMM: C = alpha op(A) op(B) + beta C, row-major, byte pointers, element strides.
//
// Two register-blocked kernels:
//  * k4x8 "broadcast": a 4x8 tile of C in 8 registers; per k, 2 vectors of a row of
//    op(B) and 4 splatted elements of op(A). op(A) is packed into 4-row panels (k4x8p;
//    k4x8 reads it in place when C is at most 8 columns wide); op(B) is packed into
//    8-column panels when B is transposed or C has many rows, else read in place.
//    Blocks of KB x NB (B) and MC x KB (A) stay in cache while the tiles sweep them.
//  * d2x4 "dot": for C = A B^T with both operands contiguous along k and few rows:
//    2 rows of A against 4 rows of B, vectors along k, reduced at the end. No packing,
//    which is what the per-step recurrent product h W_hh^T (B = 32 rows) wants.

import {
  OP_GEMM, PACK_A, TILE, scratch, nthreads, gemmParMin, gemmChunkWork, rowSplitMin, dotMaxM, packBMinM,
  setI, getI, setU, getU, setF, getF, run, chunksFor, rangeLo,
} from './pool';
import { ld, st, fadd, fmul, madd, splat, stN, laneMask, hsum4 } from './simd-math';

const KB: i32 = 256;  // k block of the broadcast path
const NB: i32 = 256;  // n block of the broadcast path (KB*NB floats of packed B)
const MC: i32 = 128;  // m block of a packed A (MC*KB floats)

export function gemm(tA: i32, tB: i32, M: i32, N: i32, K: i32, alpha: f64, A: usize, lda: i32,
  B: usize, ldb: i32, beta: f64, C: usize, ldc: i32): void {
  if (M <= 0 || N <= 0) return;
  const dot = tA == 0 && tB != 0 && M < dotMaxM;
  setI(0, tA); setI(1, tB); setI(2, M); setI(3, N); setI(4, K);
  setU(5, A); setI(6, lda); setU(7, B); setI(8, ldb); setU(9, C); setI(10, ldc);
  setI(11, dot ? 1 : 0);
  setF(0, alpha); setF(1, beta);
  // chunks of rows of C (4 at a time), or of columns (8 at a time) when there are few rows
  const rt = (M + 3) >> 2, ct = (N + 7) >> 3;
  const byCols = rt < rowSplitMin && ct > rt;
  setI(12, byCols ? 1 : 0);
  // a chunk of rows packs its own copy of op(B) on the packed path: keep those chunks big
  const packs = !dot && (tB != 0 || M >= packBMinM) && !byCols;
  const work = <f64>M * <f64>N * <f64>K;
  run(OP_GEMM, chunksFor(packs ? min(rt, max(8, 2 * nthreads)) : byCols ? ct : rt, work, gemmParMin, gemmChunkWork));
}

export function gemmPart(t: i32, P: i32): void {
  const tA = getI(0) != 0, tB = getI(1) != 0;
  let M = getI(2), N = getI(3);
  const K = getI(4);
  let A = getU(5), B = getU(7), C = getU(9);
  const lda = getI(6), ldb = getI(8), ldc = getI(10), dot = getI(11) != 0, byCols = getI(12) != 0;
  const alpha = <f32>getF(0), beta = <f32>getF(1);
  if (byCols) {
    const lo = rangeLo(N, 8, t, P), hi = rangeLo(N, 8, t + 1, P);
    if (hi <= lo) return;
    B += <usize>(tB ? lo * ldb : lo) << 2;
    C += <usize>lo << 2;
    N = hi - lo;
  } else {
    const lo = rangeLo(M, 4, t, P), hi = rangeLo(M, 4, t + 1, P);
    if (hi <= lo) return;
    A += <usize>(tA ? lo : lo * lda) << 2;
    C += <usize>(lo * ldc) << 2;
    M = hi - lo;
  }
  gemmSerial(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, dot);
}

function scaleC(M: i32, N: i32, beta: f32, C: usize, ldc: i32): void {
  if (beta == 1) return;
  for (let i = 0; i < M; i++) {
    const c = C + (<usize>(i * ldc) << 2);
    if (beta == 0) memory.fill(c, 0, <usize>N << 2);
    else {
      const vb = splat(beta);
      let j = 0;
      for (; j + 4 <= N; j += 4) st(c + (<usize>j << 2), fmul(ld(c + (<usize>j << 2)), vb));
      for (; j < N; j++) store<f32>(c + (<usize>j << 2), load<f32>(c + (<usize>j << 2)) * beta);
    }
  }
}

function gemmSerial(tA: bool, tB: bool, M: i32, N: i32, K: i32, alpha: f32, A: usize, lda: i32,
  B: usize, ldb: i32, beta: f32, C: usize, ldc: i32, dot: bool): void {
  if (K <= 0 || alpha == 0) { scaleC(M, N, beta, C, ldc); return; }
  if (dot) { gemmDot(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); return; }
  // op(A) is packed into 4-row panels (unless C has a single column tile): k4x8p then
  // reads it with one pointer and immediate offsets (fewer instructions per k), and a
  // transposed A is no longer walked with a stride of lda floats (power-of-two strides
  // keep hitting the same cache sets). op(B) is packed into 8-column panels when B is
  // transposed, or when C has many rows (the copy pays for itself).
  const packA = N > 8;
  const packB = tB || (M >= packBMinM);
  const ldc4 = <usize>ldc << 2;
  for (let jc = 0; jc < N; jc += NB) {
    const nb = min(NB, N - jc);
    for (let kc = 0; kc < K; kc += KB) {
      const kb = min(KB, K - kc);
      const bet: f32 = kc == 0 ? beta : 1;
      let bBase: usize, bks: usize, bPanel: usize;
      if (packB) {
        if (tB) packBT(scratch, B, ldb, kc, kb, jc, nb);
        else packBN(scratch, B, ldb, kc, kb, jc, nb);
        bBase = scratch; bks = 32; bPanel = <usize>kb << 5;
      } else {
        bBase = B + (<usize>(kc * ldb + jc) << 2); bks = <usize>ldb << 2; bPanel = 32;
      }
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        let aBase: usize, ars: usize, aks: usize, aPanel: usize;
        if (packA) {
          if (tA) packAT(scratch + PACK_A, A, lda, kc, kb, ic, mc);
          else packAN(scratch + PACK_A, A, lda, kc, kb, ic, mc);
          const c0 = C + (<usize>(ic * ldc + jc) << 2);
          for (let j = 0, p = 0; j < nb; j += 8, p++) {
            const b = bBase + <usize>p * bPanel, nrem = min(8, nb - j);
            for (let i = 0, q = 0; i < mc; i += 4, q++) {
              k4x8p(kb, scratch + PACK_A + <usize>q * (<usize>kb << 4), b, bks,
                c0 + <usize>i * ldc4 + (<usize>j << 2), ldc4, min(4, mc - i), nrem, alpha, bet);
            }
          }
          continue;
        }
        if (tA) {
          aBase = A + (<usize>(kc * lda + ic) << 2); ars = 4; aks = <usize>lda << 2; aPanel = 16;
        } else {
          aBase = A + (<usize>(ic * lda + kc) << 2); ars = <usize>lda << 2; aks = 4; aPanel = <usize>lda << 4;
        }
        const c0 = C + (<usize>(ic * ldc + jc) << 2);
        for (let j = 0, p = 0; j < nb; j += 8, p++) {
          const b = bBase + <usize>p * bPanel, nrem = min(8, nb - j);
          for (let i = 0, q = 0; i < mc; i += 4, q++) {
            k4x8(kb, aBase + <usize>q * aPanel, ars, aks, min(4, mc - i), b, bks,
              c0 + <usize>i * ldc4 + (<usize>j << 2), ldc4, nrem, alpha, bet);
          }
        }
      }
    }
  }
}

/** Packs op(A) = A block rows ic..ic+mc, k in kc..kc+kb, into 4-row panels: panel[k*4 + r] (rows past mc repeat the last). */
function packAN(dst: usize, A: usize, lda: i32, kc: i32, kb: i32, ic: i32, mc: i32): void {
  const lda4 = <usize>lda << 2, kb4 = kb & ~3;
  for (let i = 0, q: usize = 0; i < mc; i += 4, q++) {
    const r0 = A + <usize>(ic + i) * lda4 + (<usize>kc << 2);
    const r1 = mc - i > 1 ? r0 + lda4 : r0, r2 = mc - i > 2 ? r1 + lda4 : r1, r3 = mc - i > 3 ? r2 + lda4 : r2;
    const d = dst + q * (<usize>kb << 4);
    let k = 0;
    for (; k < kb4; k += 4) {
      const o = <usize>k << 2;
      const a = ld(r0 + o), b = ld(r1 + o), c = ld(r2 + o), e = ld(r3 + o);
      // 4x4 transpose: rows (k..k+3 of each A row) to columns (4 rows at each k)
      const t0 = f32x4.shuffle(a, b, 0, 4, 1, 5), t1 = f32x4.shuffle(a, b, 2, 6, 3, 7);
      const t2 = f32x4.shuffle(c, e, 0, 4, 1, 5), t3 = f32x4.shuffle(c, e, 2, 6, 3, 7);
      const q0 = d + (<usize>k << 4);
      st(q0, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
      st(q0 + 16, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
      st(q0 + 32, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
      st(q0 + 48, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
    for (; k < kb; k++) {
      const o = <usize>k << 2, q0 = d + (<usize>k << 4);
      store<f32>(q0, load<f32>(r0 + o)); store<f32>(q0 + 4, load<f32>(r1 + o));
      store<f32>(q0 + 8, load<f32>(r2 + o)); store<f32>(q0 + 12, load<f32>(r3 + o));
    }
  }
}

/** Packs op(A) = A^T block rows ic..ic+mc (columns of A), k in kc..kc+kb, into 4-row panels: panel[k*4 + r]. */
function packAT(dst: usize, A: usize, lda: i32, kc: i32, kb: i32, ic: i32, mc: i32): void {
  for (let k = 0; k < kb; k++) {
    const src = A + (<usize>((kc + k) * lda + ic) << 2);
    const d = dst + (<usize>k << 4);
    let i = 0, q: usize = 0;
    for (; i + 4 <= mc; i += 4, q++) st(d + q * (<usize>kb << 4), ld(src + (<usize>i << 2)));
    if (i < mc) st(d + q * (<usize>kb << 4), v128.and(ld(src + (<usize>i << 2)), laneMask(mc - i)));
  }
}

/** Packs op(B) = B (not transposed) block rows kc..kc+kb, columns jc..jc+nb into 8-column panels (zero padded). */
function packBN(dst: usize, B: usize, ldb: i32, kc: i32, kb: i32, jc: i32, nb: i32): void {
  for (let k = 0; k < kb; k++) {
    const src = B + (<usize>((kc + k) * ldb + jc) << 2);
    const d = dst + (<usize>k << 5);
    let j = 0, p: usize = 0;
    for (; j + 8 <= nb; j += 8, p++) {
      const q = d + p * (<usize>kb << 5);
      st(q, ld(src + (<usize>j << 2)));
      st(q + 16, ld(src + (<usize>j << 2) + 16));
    }
    if (j < nb) {
      const q = d + p * (<usize>kb << 5), w = nb - j;
      st(q, v128.and(ld(src + (<usize>j << 2)), laneMask(w)));
      st(q + 16, w > 4 ? v128.and(ld(src + (<usize>j << 2) + 16), laneMask(w - 4)) : f32x4.splat(0));
    }
  }
}

/** Packs op(B) = B^T block rows kc..kc+kb, columns jc..jc+nb into 8-column panels (zero padded). */
function packBT(dst: usize, B: usize, ldb: i32, kc: i32, kb: i32, jc: i32, nb: i32): void {
  for (let j0 = 0; j0 < nb; j0 += 8) {
    const panel = dst + (<usize>(j0 * kb) << 2);
    const w = min(8, nb - j0);
    for (let c = 0; c < 8; c++) {
      const d = panel + (<usize>c << 2);
      if (c >= w) {
        for (let k = 0; k < kb; k++) store<f32>(d + (<usize>k << 5), 0);
        continue;
      }
      const s = B + (<usize>((jc + j0 + c) * ldb + kc) << 2);
      let k = 0;
      for (; k + 4 <= kb; k += 4) {
        const v = ld(s + (<usize>k << 2));
        const dk = d + (<usize>k << 5);
        v128.store32_lane(dk, v, 0);
        v128.store32_lane(dk, v, 1, 32);
        v128.store32_lane(dk, v, 2, 64);
        v128.store32_lane(dk, v, 3, 96);
      }
      for (; k < kb; k++) store<f32>(d + (<usize>k << 5), load<f32>(s + (<usize>k << 2)));
    }
  }
}

/** The 4x8 broadcast micro-kernel. Rows past mrem repeat the last row; columns past nrem are computed from whatever lies there and never stored. */
function k4x8(kb: i32, a: usize, ars: usize, aks: usize, mrem: i32, b: usize, bks: usize,
  c: usize, ldc4: usize, nrem: i32, alpha: f32, beta: f32): void {
  let p0 = a;
  let p1 = mrem > 1 ? a + ars : p0;
  let p2 = mrem > 2 ? a + 2 * ars : p1;
  let p3 = mrem > 3 ? a + 3 * ars : p2;
  let pb = b;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kb; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let x = v128.load32_splat(p0);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.load32_splat(p1);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.load32_splat(p2);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    x = v128.load32_splat(p3);
    c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
    p0 += aks; p1 += aks; p2 += aks; p3 += aks; pb += bks;
  }
  storeTile(c, ldc4, mrem, nrem, alpha, beta, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** Stores a 4x8 tile of accumulators: C = alpha acc + beta C (only rows < mrem, columns < nrem). */
@inline function storeTile(c: usize, ldc4: usize, mrem: i32, nrem: i32, alpha: f32, beta: f32,
  c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  const va = splat(alpha);
  if (mrem == 4 && nrem == 8) {
    if (beta == 0) {
      st(c, fmul(va, c00)); st(c + 16, fmul(va, c01)); c += ldc4;
      st(c, fmul(va, c10)); st(c + 16, fmul(va, c11)); c += ldc4;
      st(c, fmul(va, c20)); st(c + 16, fmul(va, c21)); c += ldc4;
      st(c, fmul(va, c30)); st(c + 16, fmul(va, c31));
    } else if (beta == 1) {
      st(c, fadd(ld(c), fmul(va, c00))); st(c + 16, fadd(ld(c + 16), fmul(va, c01))); c += ldc4;
      st(c, fadd(ld(c), fmul(va, c10))); st(c + 16, fadd(ld(c + 16), fmul(va, c11))); c += ldc4;
      st(c, fadd(ld(c), fmul(va, c20))); st(c + 16, fadd(ld(c + 16), fmul(va, c21))); c += ldc4;
      st(c, fadd(ld(c), fmul(va, c30))); st(c + 16, fadd(ld(c + 16), fmul(va, c31)));
    } else {
      const vb = splat(beta);
      st(c, fadd(fmul(va, c00), fmul(vb, ld(c)))); st(c + 16, fadd(fmul(va, c01), fmul(vb, ld(c + 16)))); c += ldc4;
      st(c, fadd(fmul(va, c10), fmul(vb, ld(c)))); st(c + 16, fadd(fmul(va, c11), fmul(vb, ld(c + 16)))); c += ldc4;
      st(c, fadd(fmul(va, c20), fmul(vb, ld(c)))); st(c + 16, fadd(fmul(va, c21), fmul(vb, ld(c + 16)))); c += ldc4;
      st(c, fadd(fmul(va, c30), fmul(vb, ld(c)))); st(c + 16, fadd(fmul(va, c31), fmul(vb, ld(c + 16))));
    }
    return;
  }
  const tile = scratch + TILE;
  st(tile, c00); st(tile + 16, c01); st(tile + 32, c10); st(tile + 48, c11);
  st(tile + 64, c20); st(tile + 80, c21); st(tile + 96, c30); st(tile + 112, c31);
  for (let r = 0; r < mrem; r++) {
    const cr = c + <usize>r * ldc4, tr = tile + (<usize>r << 5);
    for (let j = 0; j < nrem; j++) {
      const v = alpha * load<f32>(tr + (<usize>j << 2));
      const p = cr + (<usize>j << 2);
      store<f32>(p, beta == 0 ? v : beta == 1 ? load<f32>(p) + v : v + beta * load<f32>(p));
    }
  }
}

/** k4x8 for a packed A panel (4 floats per k): one pointer, immediate offsets. */
function k4x8p(kb: i32, a: usize, b: usize, bks: usize, c: usize, ldc4: usize, mrem: i32, nrem: i32, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let pa = a, pb = b;
  const end = a + (<usize>kb << 4);
  while (pa < end) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let x = v128.load32_splat(pa);
    c00 = madd(x, b0, c00); c01 = madd(x, b1, c01);
    x = v128.load32_splat(pa, 4);
    c10 = madd(x, b0, c10); c11 = madd(x, b1, c11);
    x = v128.load32_splat(pa, 8);
    c20 = madd(x, b0, c20); c21 = madd(x, b1, c21);
    x = v128.load32_splat(pa, 12);
    c30 = madd(x, b0, c30); c31 = madd(x, b1, c31);
    pa += 16; pb += bks;
  }
  storeTile(c, ldc4, mrem, nrem, alpha, beta, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** C = alpha A B^T + beta C with the dot kernel, B blocked so a block stays in cache. */
function gemmDot(M: i32, N: i32, K: i32, alpha: f32, A: usize, lda: i32, B: usize, ldb: i32,
  beta: f32, C: usize, ldc: i32): void {
  const kbMax = K <= 1024 ? K : 512;
  const lda4 = <usize>lda << 2, ldb4 = <usize>ldb << 2, ldc4 = <usize>ldc << 2;
  for (let kc = 0; kc < K; kc += kbMax) {
    const kb = min(kbMax, K - kc);
    const bet: f32 = kc == 0 ? beta : 1;
    const nbMax = max(4, ((128 * 1024) / (kb * 4)) & ~3);
    for (let jc = 0; jc < N; jc += nbMax) {
      const nb = min(nbMax, N - jc);
      for (let i = 0; i < M; i += 2) {
        const a0 = A + <usize>i * lda4 + (<usize>kc << 2);
        const mrem = min(2, M - i);
        const a1 = mrem > 1 ? a0 + lda4 : a0;
        for (let j = jc; j < jc + nb; j += 4) {
          const nrem = min(4, jc + nb - j);
          const b0 = B + <usize>j * ldb4 + (<usize>kc << 2);
          const b1 = nrem > 1 ? b0 + ldb4 : b0;
          const b2 = nrem > 2 ? b1 + ldb4 : b1;
          const b3 = nrem > 3 ? b2 + ldb4 : b2;
          d2x4(kb, a0, a1, b0, b1, b2, b3, C + <usize>i * ldc4 + (<usize>j << 2), ldc4, mrem, nrem, alpha, bet);
        }
      }
    }
  }
}

@inline function storeRow(c: usize, v: v128, n: i32, alpha: f32, beta: f32): void {
  v = fmul(v, splat(alpha));
  if (beta == 0) { stN(c, v, n); return; }
  if (n == 4) {
    st(c, beta == 1 ? fadd(ld(c), v) : fadd(v, fmul(splat(beta), ld(c))));
    return;
  }
  const tile = scratch + TILE;
  st(tile, v);
  for (let j = 0; j < n; j++) {
    const p = c + (<usize>j << 2);
    store<f32>(p, load<f32>(tile + (<usize>j << 2)) + beta * load<f32>(p));
  }
}

/** 2 rows of A (a0, a1) against 4 rows of B (b0..b3), K elements each, contiguous. */
function d2x4(K: i32, a0: usize, a1: usize, b0: usize, b1: usize, b2: usize, b3: usize,
  c: usize, ldc4: usize, mrem: i32, nrem: i32, alpha: f32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const end = <usize>(K & ~3) << 2;
  for (let k: usize = 0; k < end; k += 16) {
    const x0 = ld(a0 + k), x1 = ld(a1 + k);
    let y = ld(b0 + k);
    c00 = madd(x0, y, c00); c10 = madd(x1, y, c10);
    y = ld(b1 + k);
    c01 = madd(x0, y, c01); c11 = madd(x1, y, c11);
    y = ld(b2 + k);
    c02 = madd(x0, y, c02); c12 = madd(x1, y, c12);
    y = ld(b3 + k);
    c03 = madd(x0, y, c03); c13 = madd(x1, y, c13);
  }
  if ((K & 3) != 0) {
    // the last 1..3 elements: full-vector loads, lanes past K masked to zero on both sides
    const m = laneMask(K & 3), k = end;
    const x0 = v128.and(ld(a0 + k), m), x1 = v128.and(ld(a1 + k), m);
    let y = v128.and(ld(b0 + k), m);
    c00 = madd(x0, y, c00); c10 = madd(x1, y, c10);
    y = v128.and(ld(b1 + k), m);
    c01 = madd(x0, y, c01); c11 = madd(x1, y, c11);
    y = v128.and(ld(b2 + k), m);
    c02 = madd(x0, y, c02); c12 = madd(x1, y, c12);
    y = v128.and(ld(b3 + k), m);
    c03 = madd(x0, y, c03); c13 = madd(x1, y, c13);
  }
  storeRow(c, hsum4(c00, c01, c02, c03), nrem, alpha, beta);
  if (mrem > 1) storeRow(c + ldc4, hsum4(c10, c11, c12, c13), nrem, alpha, beta);
}
