// rnnkit WebAssembly kernels (AssemblyScript, 128-bit SIMD, shared-memory threads).
//
// Every pointer is a byte address in the one shared memory that the caller and the
// workers import. JavaScript (src/backend/wasm/) owns the memory map: it allocates the
// control block, the per-thread scratch and every array, and calls setup() in each
// instance. Nothing here allocates; the module has no managed objects.
//
// Threads: the caller of an exported kernel (the thread that loaded the backend) writes
// the arguments into the job slots of the control block. Small jobs run on the caller
// alone; big ones are cut into chunks whose boundaries depend only on the sizes, never
// on the thread count or timing, so results are bit-identical for any number of
// threads. The caller and the workers claim chunks (see "Fork / join" below); workers
// sit in workerLoop(): they spin on the generation word for a while, then block
// (Atomics.wait through the host import env.wait). The caller spins too while the last
// chunks finish, and blocks only where it may (canBlock: not a browser's main thread).

// ---- control block (byte offsets from ctl) ----
const GEN: usize = 0;            // job generation, bumped once per parallel job
const DONE: usize = 64;          // workers done with the current job
const SLEEPERS: usize = 128;     // workers blocked waiting on GEN
const CALLER_WAITS: usize = 192; // 1 while the caller is blocked waiting on DONE
const JOB: usize = 256;          // (job sequence number << 7) | chunks of the current job
const QUIT: usize = 320;         // 1: workers leave workerLoop
const JOB_OP: usize = 384;
const JOB_I: usize = 448;        // 32 i32 arguments
const JOB_F: usize = 576;        // 16 f64 arguments
const PARTIAL: usize = 1024;     // f64 partial sums, one per fixed chunk of a reduction
const MAX_CHUNKS: i32 = 1024;    // partial sums
const FLAGS: usize = 9216;       // one word per parallel chunk: 2s free, 2s + 1 claimed (s = job number)

/** Bytes the caller reserves for the control block. */
export const CTL_BYTES: i32 = 16384;
/** Bytes of scratch each thread needs (packed GEMM panels + a tile). */
export const SCRATCH_BYTES: i32 = 384 * 1024 + 4096;
const PACK_A: usize = 256 * 1024; // offset of the packed A block (MC x KB) in a thread's scratch
const TILE: usize = 384 * 1024;   // offset of the 4x8 spill tile

const OP_GEMM: i32 = 1;
const OP_LSTM_F: i32 = 2;
const OP_LSTM_B: i32 = 3;
const OP_GRU_F: i32 = 4;
const OP_GRU_B: i32 = 5;
const OP_RNN_F: i32 = 6;
const OP_RNN_B: i32 = 7;
const OP_XENT_F: i32 = 8;
const OP_XENT_B: i32 = 9;
const OP_FILL_ROWS: i32 = 10;
const OP_SUM_ROWS: i32 = 11;
const OP_GATHER: i32 = 12;
const OP_SCATTER: i32 = 13;
const OP_SUMSQ: i32 = 14;
const OP_SCALE: i32 = 15;
const OP_SGD: i32 = 16;
const OP_ADAGRAD: i32 = 17;
const OP_RMSPROP: i32 = 18;
const OP_ADAM: i32 = 19;
const OP_LN_F: i32 = 20;
const OP_LN_B_COLS: i32 = 21;
const OP_LN_B_ROWS: i32 = 22;

/**
 * Blocks while the i32 at ptr equals expected: Atomics.wait in the host. Not
 * memory.atomic.wait32: the baseline compiler of V8 11 (Node 20) corrupts a live local
 * across that instruction (reproduced with --liftoff-only); a host call is safe.
 */
// @ts-ignore: decorator
@external("env", "wait") declare function hostWait(ptr: usize, expected: i32): void;

// ---- per-instance state (every thread has its own globals) ----
let ctl: usize = 0;
let nthreads: i32 = 1;
let canBlock: bool = false;
let scratch: usize = 0;
let spinLimit: i32 = 20000;    // worker spins before sleeping
let joinSpins: i32 = 20000;    // caller spins before sleeping
// work thresholds for going parallel (tunable from JS)
let gemmParMin: f64 = 65536;   // M*N*K
let gemmChunkWork: f64 = 131072; // M*N*K per chunk
let rowSplitMin: i32 = 4;      // GEMMs with fewer row tiles (of 4) are split by columns
let elemParMin: i32 = 32768;   // element-operations of a pointwise op worth splitting
let elemChunk: i32 = 8192;     // element-operations per chunk
let dotMaxM: i32 = 128;        // NT GEMMs with fewer rows use the dot-product kernel
let packBMinM: i32 = 128;      // NN / TN GEMMs (or chunks) with at least this many rows pack B

/** Where the static data of this module ends (the caller's map starts above it). */
export function heapBase(): usize { return __heap_base; }

export function setup(ctlPtr: usize, scratchBase: usize, tid: i32, threads: i32, block: i32): void {
  ctl = ctlPtr;
  nthreads = threads;
  canBlock = block != 0;
  scratch = scratchBase + <usize>tid * <usize>SCRATCH_BYTES;
}

/** Tuning knobs (negative = keep): see the globals above. */
export function tune(spins: i32, join: i32, gemmMin: f64, gemmChunk: f64, rowSplit: i32, elemMin: i32, elemCh: i32, dotM: i32, packBM: i32): void {
  if (spins >= 0) spinLimit = spins;
  if (join >= 0) joinSpins = join;
  if (gemmMin >= 0) gemmParMin = gemmMin;
  if (gemmChunk > 0) gemmChunkWork = gemmChunk;
  if (rowSplit >= 0) rowSplitMin = rowSplit;
  if (elemMin >= 0) elemParMin = elemMin;
  if (elemCh > 0) elemChunk = elemCh;
  if (dotM >= 0) dotMaxM = dotM;
  if (packBM >= 0) packBMinM = packBM;
}

@inline function setI(i: i32, v: i32): void { store<i32>(ctl + JOB_I + (<usize>i << 2), v); }
@inline function getI(i: i32): i32 { return load<i32>(ctl + JOB_I + (<usize>i << 2)); }
@inline function setU(i: i32, v: usize): void { store<u32>(ctl + JOB_I + (<usize>i << 2), <u32>v); }
@inline function getU(i: i32): usize { return <usize>load<u32>(ctl + JOB_I + (<usize>i << 2)); }
@inline function setF(i: i32, v: f64): void { store<f64>(ctl + JOB_F + (<usize>i << 3), v); }
@inline function getF(i: i32): f64 { return load<f64>(ctl + JOB_F + (<usize>i << 3)); }

// ---------------------------------------------------------------------------------
// Fork / join with claimed chunks
//
// A parallel job is cut into n chunks whose boundaries depend only on the sizes. Each
// chunk has a flag word: 2*s while free and 2*s + 1 once claimed, s being the job's
// sequence number. Thread t first claims the chunks of its own share (t*n/P up to
// (t+1)*n/P; the same rows of the batch in consecutive kernels, so they stay in its
// cache), then steals whatever is left, last chunk first. A thread that is late (asleep,
// or descheduled on a busy machine) just gets fewer chunks: the caller never waits for
// a chunk nobody has started. A claim is a compare-and-swap on the flag, which carries
// the job's number, so a late worker cannot claim a chunk of a later job by mistake;
// arguments are read after a claim and stay put until DONE counts every chunk.
// ---------------------------------------------------------------------------------

/** Tries to claim chunk c of job s. */
@inline function claimChunk(s: i32, c: i32): bool {
  return atomic.cmpxchg<i32>(ctl + FLAGS + (<usize>c << 2), s << 1, (s << 1) | 1) == s << 1;
}

/** Claims and runs chunks of job s (n chunks) as thread t of P; returns how many it ran. */
function work(s: i32, n: i32, t: i32, P: i32, op: i32, countEach: bool): i32 {
  const lo = <i32>(<i64>n * t / P), hi = <i32>(<i64>n * (t + 1) / P);
  let ran = 0;
  for (let c = lo; c < hi; c++) {
    if (claimChunk(s, c)) { part(op, c, n); ran++; if (countEach) finished(n); }
  }
  for (let c = n - 1; c >= 0; c--) {
    if (c >= lo && c < hi) continue;
    if (claimChunk(s, c)) { part(op, c, n); ran++; if (countEach) finished(n); }
  }
  return ran;
}

/** A worker finished a chunk: count it, and wake the caller if it sleeps on the last one. */
@inline function finished(n: i32): void {
  if (atomic.add<i32>(ctl + DONE, 1) + 1 == n && atomic.load<i32>(ctl + CALLER_WAITS) != 0) atomic.notify(ctl + DONE, 1);
}

let jobSeq: i32 = 0; // the caller's job counter

/** Runs job `op` in n chunks (part(op, c, n) for c < n), in parallel when n > 1 and there are workers. */
function run(op: i32, n: i32): void {
  store<i32>(ctl + JOB_OP, op);
  if (n <= 1 || nthreads <= 1) {
    for (let c = 0; c < max(n, 1); c++) part(op, c, max(n, 1));
    return;
  }
  const s = jobSeq = (jobSeq + 1) & 0xffffff;
  for (let c = 0; c < n; c++) atomic.store<i32>(ctl + FLAGS + (<usize>c << 2), s << 1);
  atomic.store<i32>(ctl + DONE, 0);
  atomic.store<i32>(ctl + JOB, (s << 7) | n);
  atomic.add<i32>(ctl + GEN, 1);
  if (atomic.load<i32>(ctl + SLEEPERS) > 0) atomic.notify(ctl + GEN, i32.MAX_VALUE);
  const mine = work(s, n, 0, nthreads, op, false);
  if (atomic.add<i32>(ctl + DONE, mine) + mine == n) return;
  let spins = 0;
  while (atomic.load<i32>(ctl + DONE) < n) {
    if (canBlock && ++spins > joinSpins) {
      atomic.store<i32>(ctl + CALLER_WAITS, 1);
      const d = atomic.load<i32>(ctl + DONE);
      if (d < n) hostWait(ctl + DONE, d);
      atomic.store<i32>(ctl + CALLER_WAITS, 0);
      spins = 0;
    }
  }
}

/** A worker's life: claim chunks of jobs until quit(). `seen` is the generation at start. */
export function workerLoop(tid: i32, seen: i32): void {
  while (true) {
    let g = atomic.load<i32>(ctl + GEN);
    let spins = 0;
    while (g == seen) {
      if (++spins > spinLimit) {
        atomic.add<i32>(ctl + SLEEPERS, 1);
        hostWait(ctl + GEN, seen);
        atomic.sub<i32>(ctl + SLEEPERS, 1);
        spins = 0;
      }
      g = atomic.load<i32>(ctl + GEN);
    }
    seen = g;
    if (atomic.load<i32>(ctl + QUIT) != 0) return;
    const job = atomic.load<i32>(ctl + JOB);
    work(job >>> 7, job & 0x7f, tid, nthreads, load<i32>(ctl + JOB_OP), true);
  }
}

/** Tells the workers to leave workerLoop (the caller does not wait for them). */
export function quit(): void {
  atomic.store<i32>(ctl + QUIT, 1);
  atomic.add<i32>(ctl + GEN, 1);
  atomic.notify(ctl + GEN, i32.MAX_VALUE);
}

function part(op: i32, t: i32, P: i32): void {
  switch (op) {
    case OP_GEMM: gemmPart(t, P); break;
    case OP_LSTM_F: lstmFwdPart(t, P); break;
    case OP_LSTM_B: lstmBwdPart(t, P); break;
    case OP_GRU_F: gruFwdPart(t, P); break;
    case OP_GRU_B: gruBwdPart(t, P); break;
    case OP_RNN_F: rnnFwdPart(t, P); break;
    case OP_RNN_B: rnnBwdPart(t, P); break;
    case OP_XENT_F: xentFwdPart(t, P); break;
    case OP_XENT_B: xentBwdPart(t, P); break;
    case OP_FILL_ROWS: fillRowsPart(t, P); break;
    case OP_SUM_ROWS: sumRowsPart(t, P); break;
    case OP_GATHER: gatherPart(t, P); break;
    case OP_SCATTER: scatterPart(t, P); break;
    case OP_SUMSQ: sumSquaresPart(t, P); break;
    case OP_SCALE: scalePart(t, P); break;
    case OP_SGD: sgdPart(t, P); break;
    case OP_ADAGRAD: adagradPart(t, P); break;
    case OP_RMSPROP: rmspropPart(t, P); break;
    case OP_ADAM: adamPart(t, P); break;
    case OP_LN_F: lnFwdPart(t, P); break;
    case OP_LN_B_COLS: lnBwdColsPart(t, P); break;
    case OP_LN_B_ROWS: lnBwdRowsPart(t, P); break;
    default: unreachable();
  }
}

const MAX_PAR_CHUNKS: i32 = 64; // at most 127 (7 bits of the JOB word); FLAGS holds 1024

/**
 * How many chunks a job of `work` units is cut into: about one per `chunkWork`, at most
 * `tiles` and MAX_PAR_CHUNKS, 1 below `minWork` or without workers. (The chunking never
 * changes a result: reductions keep their own fixed partial sums.)
 */
@inline function chunksFor(tiles: i32, work: f64, minWork: f64, chunkWork: f64): i32 {
  if (nthreads <= 1 || work < minWork) return 1;
  return max(1, min(min(tiles, MAX_PAR_CHUNKS), <i32>(work / chunkWork)));
}

/** Start (in items) of part t of P when n items are dealt out in tiles of `unit`; part t is [rangeLo(t), rangeLo(t + 1)). */
@inline function rangeLo(n: i32, unit: i32, t: i32, P: i32): i32 {
  const tiles = (n + unit - 1) / unit;
  return min(<i32>(<i64>tiles * t / P) * unit, n);
}

// ---------------------------------------------------------------------------------
// SIMD helpers
// ---------------------------------------------------------------------------------

@inline function ld(p: usize): v128 { return v128.load(p); }
@inline function st(p: usize, v: v128): void { v128.store(p, v); }
@inline function fadd(a: v128, b: v128): v128 { return f32x4.add(a, b); }
@inline function fsub(a: v128, b: v128): v128 { return f32x4.sub(a, b); }
@inline function fmul(a: v128, b: v128): v128 { return f32x4.mul(a, b); }
@inline function splat(x: f32): v128 { return f32x4.splat(x); }

/** Stores the first n (1..4) lanes of v at p. */
@inline function stN(p: usize, v: v128, n: i32): void {
  if (n >= 4) { v128.store(p, v); return; }
  v128.store32_lane(p, v, 0);
  if (n > 1) v128.store32_lane(p, v, 1, 4);
  if (n > 2) v128.store32_lane(p, v, 2, 8);
}

/** Lane mask of the first n lanes. */
@inline function laneMask(n: i32): v128 { return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n)); }

/** [Σa, Σb, Σc, Σd]. */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
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
function sigmoidTo(dst: usize, src: usize, n: i32): void {
  const lo = K_LO, hi = K_HI, l2e = K_LOG2E, rnd = K_ROUND, ln2hi = K_LN2HI, ln2lo = K_LN2LO;
  const e0 = K_E0, e1 = K_E1, e2 = K_E2, e3 = K_E3, e4 = K_E4, e5 = K_E5, one = K_ONE;
  for (let j = 0; j < n; j += 4) {
    const o = <usize>j << 2;
    const e = vexpC(f32x4.neg(ld(src + o)), lo, hi, l2e, rnd, ln2hi, ln2lo, e0, e1, e2, e3, e4, e5, one);
    stN(dst + o, f32x4.div(one, fadd(one, e)), min(4, n - j));
  }
}

/** dst[k] = exp(src[k] - m) for k < n; returns the sum (lanes past n count 0). */
function expShiftTo(dst: usize, src: usize, n: i32, m: f32): f64 {
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
function sigmoidSumTo(dst: usize, a: usize, b: usize, n: i32): void {
  const lo = K_LO, hi = K_HI, l2e = K_LOG2E, rnd = K_ROUND, ln2hi = K_LN2HI, ln2lo = K_LN2LO;
  const e0 = K_E0, e1 = K_E1, e2 = K_E2, e3 = K_E3, e4 = K_E4, e5 = K_E5, one = K_ONE;
  for (let j = 0; j < n; j += 4) {
    const o = <usize>j << 2;
    const e = vexpC(f32x4.neg(fadd(ld(a + o), ld(b + o))), lo, hi, l2e, rnd, ln2hi, ln2lo, e0, e1, e2, e3, e4, e5, one);
    stN(dst + o, f32x4.div(one, fadd(one, e)), min(4, n - j));
  }
}

/** dst[k] = tanh(src[k]) for k < n (dst may be src). */
function tanhTo(dst: usize, src: usize, n: i32): void {
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

// ---------------------------------------------------------------------------------
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
// ---------------------------------------------------------------------------------

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

function gemmPart(t: i32, P: i32): void {
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
    c00 = fadd(c00, fmul(x, b0)); c01 = fadd(c01, fmul(x, b1));
    x = v128.load32_splat(p1);
    c10 = fadd(c10, fmul(x, b0)); c11 = fadd(c11, fmul(x, b1));
    x = v128.load32_splat(p2);
    c20 = fadd(c20, fmul(x, b0)); c21 = fadd(c21, fmul(x, b1));
    x = v128.load32_splat(p3);
    c30 = fadd(c30, fmul(x, b0)); c31 = fadd(c31, fmul(x, b1));
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
    c00 = fadd(c00, fmul(x, b0)); c01 = fadd(c01, fmul(x, b1));
    x = v128.load32_splat(pa, 4);
    c10 = fadd(c10, fmul(x, b0)); c11 = fadd(c11, fmul(x, b1));
    x = v128.load32_splat(pa, 8);
    c20 = fadd(c20, fmul(x, b0)); c21 = fadd(c21, fmul(x, b1));
    x = v128.load32_splat(pa, 12);
    c30 = fadd(c30, fmul(x, b0)); c31 = fadd(c31, fmul(x, b1));
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
    c00 = fadd(c00, fmul(x0, y)); c10 = fadd(c10, fmul(x1, y));
    y = ld(b1 + k);
    c01 = fadd(c01, fmul(x0, y)); c11 = fadd(c11, fmul(x1, y));
    y = ld(b2 + k);
    c02 = fadd(c02, fmul(x0, y)); c12 = fadd(c12, fmul(x1, y));
    y = ld(b3 + k);
    c03 = fadd(c03, fmul(x0, y)); c13 = fadd(c13, fmul(x1, y));
  }
  if ((K & 3) != 0) {
    // the last 1..3 elements: full-vector loads, lanes past K masked to zero on both sides
    const m = laneMask(K & 3), k = end;
    const x0 = v128.and(ld(a0 + k), m), x1 = v128.and(ld(a1 + k), m);
    let y = v128.and(ld(b0 + k), m);
    c00 = fadd(c00, fmul(x0, y)); c10 = fadd(c10, fmul(x1, y));
    y = v128.and(ld(b1 + k), m);
    c01 = fadd(c01, fmul(x0, y)); c11 = fadd(c11, fmul(x1, y));
    y = v128.and(ld(b2 + k), m);
    c02 = fadd(c02, fmul(x0, y)); c12 = fadd(c12, fmul(x1, y));
    y = v128.and(ld(b3 + k), m);
    c03 = fadd(c03, fmul(x0, y)); c13 = fadd(c13, fmul(x1, y));
  }
  storeRow(c, hsum4(c00, c01, c02, c03), nrem, alpha, beta);
  if (mrem > 1) storeRow(c + ldc4, hsum4(c10, c11, c12, c13), nrem, alpha, beta);
}

// ---------------------------------------------------------------------------------
// Recurrent cells (rows b of the batch are split between threads, in tiles of 4 rows
// like the GEMM, so a thread's rows of h and c stay in its cache across steps)
// ---------------------------------------------------------------------------------

/** Chunks for a job over `rows` rows of `width` elements (a row never splits). */
@inline function rowChunks(rows: i32, width: i32, weight: i32): i32 {
  const work = <f64>rows * <f64>width * <f64>weight;
  return chunksFor(rows, work, <f64>elemParMin, <f64>elemChunk);
}

export function lstmForward(g: usize, c: usize, tc: usize, h: usize, cp: usize, B: i32, H: i32): void {
  setU(0, g); setU(1, c); setU(2, tc); setU(3, h); setU(4, cp); setI(5, B); setI(6, H);
  run(OP_LSTM_F, rowChunks(B, H * 4, 4));
}

function lstmFwdPart(t: i32, P: i32): void {
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

function lstmBwdPart(t: i32, P: i32): void {
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

function gruFwdPart(t: i32, P: i32): void {
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

function gruBwdPart(t: i32, P: i32): void {
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

// ---------------------------------------------------------------------------------
// Flat pointwise ops: split in chunks of FLAT_CHUNK elements
// ---------------------------------------------------------------------------------

const FLAT_CHUNK: i32 = 4096;

@inline function flatChunks(n: i32, weight: i32): i32 {
  return chunksFor((n + FLAT_CHUNK - 1) / FLAT_CHUNK, <f64>n * <f64>weight, <f64>elemParMin, <f64>elemChunk);
}
@inline function flatLo(n: i32, t: i32, P: i32): i32 { return rangeLo(n, 4, t, P); }

export function rnnForward(relu: i32, h: usize, pre: usize, n: i32): void {
  setI(0, relu); setU(1, h); setU(2, pre); setI(3, n);
  run(OP_RNN_F, flatChunks(n, 4));
}

function rnnFwdPart(t: i32, P: i32): void {
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

function rnnBwdPart(t: i32, P: i32): void {
  const relu = getI(0) != 0, dpre = getU(1), dh = getU(2), h = getU(3), n = getI(4);
  const lo = flatLo(n, t, P), hi = flatLo(n, t + 1, P);
  for (let k = lo; k < hi; k += 4) {
    const o = <usize>k << 2, y = ld(h + o), d = ld(dh + o);
    const v = relu ? v128.and(d, f32x4.gt(y, splat(0))) : fmul(d, fsub(splat(1), fmul(y, y)));
    stN(dpre + o, v, min(4, hi - k));
  }
}

// ---------------------------------------------------------------------------------
// Layer norm over rows. Row sums in double (f64x2 lanes) like the reference; the
// normalisation, gain and dx in float. Rows are split between threads. The backward's
// dγ and dβ are sums over rows: a job of their own, split by columns like sumRows (each
// column adds its rows in order), run before the rows' dx, which may overwrite dout.
// ---------------------------------------------------------------------------------

/** Lanes 2 and 3 of a float32 vector as doubles. */
@inline function promoteHi(v: v128): v128 { return f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0)); }
@inline function promoteLo(v: v128): v128 { return f64x2.promote_low_f32x4(v); }

export function lnForward(out: usize, xhat: usize, rstd: usize, x: usize, gamma: usize, beta: usize,
  rows: i32, n: i32, eps: f64, acc: i32): void {
  setU(0, out); setU(1, xhat); setU(2, rstd); setU(3, x); setU(4, gamma); setU(5, beta);
  setI(6, rows); setI(7, n); setI(8, acc); setF(0, eps);
  run(OP_LN_F, rowChunks(rows, n, 2));
}

function lnFwdPart(t: i32, P: i32): void {
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
function lnBwdColsPart(t: i32, P: i32): void {
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
function lnBwdRowsPart(t: i32, P: i32): void {
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

// ---------------------------------------------------------------------------------
// Softmax cross-entropy. Rows are split in fixed chunks; each chunk's loss goes to a
// partial slot and the caller adds the slots in order (same sum for any thread count).
// ---------------------------------------------------------------------------------

@inline function rowChunk(N: i32): i32 { return max(16, (N + MAX_CHUNKS - 1) / MAX_CHUNKS); }

export function xentForward(probs: usize, logits: usize, targets: usize, N: i32, V: i32): f64 {
  setU(0, probs); setU(1, logits); setU(2, targets); setI(3, N); setI(4, V);
  const chunk = rowChunk(N), chunks = (N + chunk - 1) / chunk;
  run(OP_XENT_F, chunksFor(chunks, <f64>N * <f64>V * 4, <f64>elemParMin, <f64>elemChunk));
  let loss = 0.0;
  for (let i = 0; i < chunks; i++) loss += load<f64>(ctl + PARTIAL + (<usize>i << 3));
  return loss;
}

function xentFwdPart(t: i32, P: i32): void {
  const probs = getU(0), logits = getU(1), targets = getU(2), N = getI(3), V = getI(4);
  const chunk = rowChunk(N), chunks = (N + chunk - 1) / chunk;
  const c0 = rangeLo(chunks, 1, t, P), c1 = rangeLo(chunks, 1, t + 1, P);
  const V4 = V & ~3;
  for (let ch = c0; ch < c1; ch++) {
    let loss = 0.0;
    const r1 = min(N, (ch + 1) * chunk);
    for (let r = ch * chunk; r < r1; r++) {
      const lr = logits + (<usize>r * <usize>V << 2), pr = probs + (<usize>r * <usize>V << 2);
      let vm = splat(-Infinity);
      let v = 0;
      for (; v < V4; v += 4) vm = f32x4.pmax(vm, ld(lr + (<usize>v << 2))); // a NaN still reaches the sum through exp
      let mx = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
      for (; v < V; v++) mx = max(mx, load<f32>(lr + (<usize>v << 2)));
      const sum = expShiftTo(pr, lr, V, mx);
      const inv = <f32>(1.0 / sum), vinv = splat(inv);
      for (v = 0; v < V4; v += 4) st(pr + (<usize>v << 2), fmul(ld(pr + (<usize>v << 2)), vinv));
      for (; v < V; v++) store<f32>(pr + (<usize>v << 2), load<f32>(pr + (<usize>v << 2)) * inv);
      const tg = load<i32>(targets + (<usize>r << 2));
      if (tg >= 0) loss += Math.log(sum) + <f64>mx - <f64>load<f32>(lr + (<usize>tg << 2));
    }
    store<f64>(ctl + PARTIAL + (<usize>ch << 3), loss);
  }
}

export function xentBackward(dl: usize, probs: usize, targets: usize, N: i32, V: i32, scale: f64): void {
  setU(0, dl); setU(1, probs); setU(2, targets); setI(3, N); setI(4, V); setF(0, scale);
  run(OP_XENT_B, rowChunks(N, V, 1));
}

function xentBwdPart(t: i32, P: i32): void {
  const dl = getU(0), probs = getU(1), targets = getU(2), N = getI(3), V = getI(4), s = getF(0);
  const lo = rangeLo(N, 1, t, P), hi = rangeLo(N, 1, t + 1, P);
  const vs = dsplat(s);
  for (let r = lo; r < hi; r++) {
    const o = <usize>r * <usize>V << 2, tg = load<i32>(targets + (<usize>r << 2));
    if (tg < 0) { memory.fill(dl + o, 0, <usize>V << 2); continue; }
    let v = 0;
    for (; v + 2 <= V; v += 2) st2(dl + o + (<usize>v << 2), dmul(ld2(probs + o + (<usize>v << 2)), vs));
    if (v < V) store<f32>(dl + o + (<usize>v << 2), <f32>(<f64>load<f32>(probs + o + (<usize>v << 2)) * s));
    const p = dl + o + (<usize>tg << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) - s));
  }
}

// ---------------------------------------------------------------------------------
// Rows, gather / scatter
// ---------------------------------------------------------------------------------

export function fillRows(Y: usize, bias: usize, rows: i32, n: i32): void {
  setU(0, Y); setU(1, bias); setI(2, rows); setI(3, n);
  run(OP_FILL_ROWS, rowChunks(rows, n, 1));
}

function fillRowsPart(t: i32, P: i32): void {
  const Y = getU(0), bias = getU(1), rows = getI(2), n = getI(3);
  const lo = rangeLo(rows, 1, t, P), hi = rangeLo(rows, 1, t + 1, P);
  for (let r = lo; r < hi; r++) memory.copy(Y + (<usize>r * <usize>n << 2), bias, <usize>n << 2);
}

export function sumRows(db: usize, dY: usize, rows: i32, n: i32): void {
  setU(0, db); setU(1, dY); setI(2, rows); setI(3, n);
  run(OP_SUM_ROWS, chunksFor((n + 15) >> 4, <f64>rows * <f64>n, <f64>elemParMin, <f64>elemChunk));
}

/** Columns are split between threads; each column adds its rows in order, as the reference does. */
function sumRowsPart(t: i32, P: i32): void {
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

function gatherPart(t: i32, P: i32): void {
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
function scatterPart(t: i32, P: i32): void {
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

// ---------------------------------------------------------------------------------
// Norms and optimizer updates, in double precision like the reference: each value is
// computed in f64 from the float32 inputs and rounded once, so the results are the
// reference's bit for bit.
// ---------------------------------------------------------------------------------

@inline function flatChunk(n: i32): i32 { return max(FLAT_CHUNK, ((n + MAX_CHUNKS - 1) / MAX_CHUNKS + 3) & ~3); }

export function sumSquares(a: usize, n: i32): f64 {
  setU(0, a); setI(1, n);
  run(OP_SUMSQ, chunksFor((n + flatChunk(n) - 1) / flatChunk(n), <f64>n, <f64>elemParMin, <f64>elemChunk));
  const chunk = flatChunk(n), chunks = (n + chunk - 1) / chunk;
  let s = 0.0;
  for (let i = 0; i < chunks; i++) s += load<f64>(ctl + PARTIAL + (<usize>i << 3));
  return s;
}

function sumSquaresPart(t: i32, P: i32): void {
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

// f64x2 helpers over pairs of float32
@inline function ld2(p: usize): v128 { return f64x2.promote_low_f32x4(v128.load64_zero(p)); }
@inline function st2(p: usize, v: v128): void { v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0); }
@inline function dsplat(x: f64): v128 { return f64x2.splat(x); }
@inline function dadd(a: v128, b: v128): v128 { return f64x2.add(a, b); }
@inline function dsub(a: v128, b: v128): v128 { return f64x2.sub(a, b); }
@inline function dmul(a: v128, b: v128): v128 { return f64x2.mul(a, b); }
@inline function ddiv(a: v128, b: v128): v128 { return f64x2.div(a, b); }
/** Rounds each lane to float32 and back (the reference stores into a Float32Array, then reads it). */
@inline function r32(v: v128): v128 { return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v)); }

export function scale(a: usize, n: i32, s: f64): void {
  setU(0, a); setI(1, n); setF(0, s);
  run(OP_SCALE, flatChunks(n, 2));
}

function scalePart(t: i32, P: i32): void {
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

function sgdPart(t: i32, P: i32): void {
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

function adagradPart(t: i32, P: i32): void {
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

function rmspropPart(t: i32, P: i32): void {
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

function adamPart(t: i32, P: i32): void {
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
