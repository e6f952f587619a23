// Rows: bias broadcast (fillRows), bias gradient (sumRows), embedding gather / scatter.

import {
  OP_FILL_ROWS, OP_SUM_ROWS, OP_GATHER, OP_SCATTER, elemParMin, elemChunk,
  setI, getI, setU, getU, run, chunksFor, rangeLo, rowChunks,
} from './pool';
import { ld, st, fadd, stN } from './simd-math';

export function fillRows(Y: usize, bias: usize, rows: i32, n: i32): void {
  setU(0, Y); setU(1, bias); setI(2, rows); setI(3, n);
  run(OP_FILL_ROWS, rowChunks(rows, n, 1));
}

export function fillRowsPart(t: i32, P: i32): void {
  const Y = getU(0), bias = getU(1), rows = getI(2), n = getI(3);
  const lo = rangeLo(rows, 1, t, P), hi = rangeLo(rows, 1, t + 1, P);
  for (let r = lo; r < hi; r++) memory.copy(Y + (<usize>r * <usize>n << 2), bias, <usize>n << 2);
}

export function sumRows(db: usize, dY: usize, rows: i32, n: i32): void {
  setU(0, db); setU(1, dY); setI(2, rows); setI(3, n);
  run(OP_SUM_ROWS, chunksFor((n + 15) >> 4, <f64>rows * <f64>n, <f64>elemParMin, <f64>elemChunk));
}

/** Columns are split between threads; each column adds its rows in order, as the reference does. */
export function sumRowsPart(t: i32, P: i32): void {
  const db = getU(0), dY = getU(1), rows = getI(2), n = getI(3);
  const lo = rangeLo(n, 16, t, P), hi = rangeLo(n, 16, t + 1, P);
  const n4 = <usize>n << 2;
  // blocks of 256 columns: the partial sums stay in L1 while the rows stream past
  for (let j0 = lo; j0 < hi; j0 += 256) {
    const j1 = min(hi, j0 + 256), w = j1 - j0, w4 = w & ~3;
    const d = db + (<usize>j0 << 2);
    for (let r = 0; r < rows; r++) {
      const src = dY + <usize>r * n4 + (<usize>j0 << 2);
      let j = 0;
      for (; j < w4; j += 4) { const o = <usize>j << 2; st(d + o, fadd(ld(d + o), ld(src + o))); }
      if (j < w) { const o = <usize>j << 2; stN(d + o, fadd(ld(d + o), ld(src + o)), w - j); }
    }
  }
}

export function gatherRows(Y: usize, table: usize, ids: usize, N: i32, w: i32): void {
  setU(0, Y); setU(1, table); setU(2, ids); setI(3, N); setI(4, w);
  run(OP_GATHER, rowChunks(N, w, 1));
}

export function gatherPart(t: i32, P: i32): void {
  const Y = getU(0), table = getU(1), ids = getU(2), N = getI(3), w = getI(4);
  const lo = rangeLo(N, 1, t, P), hi = rangeLo(N, 1, t + 1, P);
  const w4 = <usize>w << 2;
  for (let n = lo; n < hi; n++) memory.copy(Y + <usize>n * w4, table + <usize>load<i32>(ids + (<usize>n << 2)) * w4, w4);
}

export function scatterAddRows(dt: usize, dY: usize, ids: usize, N: i32, w: i32): void {
  setU(0, dt); setU(1, dY); setU(2, ids); setI(3, N); setI(4, w);
  run(OP_SCATTER, chunksFor((w + 15) >> 4, <f64>N * <f64>w, <f64>elemParMin, <f64>elemChunk));
}

/** Columns are split between threads, so repeated ids never race and add in order. */
export function scatterPart(t: i32, P: i32): void {
  const dt = getU(0), dY = getU(1), ids = getU(2), N = getI(3), w = getI(4);
  const lo = rangeLo(w, 16, t, P), hi = rangeLo(w, 16, t + 1, P);
  const w4 = <usize>w << 2;
  for (let n = 0; n < N; n++) {
    const dst = dt + <usize>load<i32>(ids + (<usize>n << 2)) * w4, src = dY + <usize>n * w4;
    for (let j = lo; j < hi; j += 4) {
      const o = <usize>j << 2;
      stN(dst + o, fadd(ld(dst + o), ld(src + o)), min(4, hi - j));
    }
  }
}
