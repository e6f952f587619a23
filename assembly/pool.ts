// Threads and job plumbing: the control block, per-instance state, tuning, fork / join
// over claimed chunks, the op dispatch, and how jobs are cut into chunks.
//
// Threads: the caller of an exported kernel (the thread that loaded the backend) writes
// the arguments into the job slots of the control block. Small jobs run on the caller
// alone; big ones are cut into chunks whose boundaries depend only on the sizes, never
// on the thread count or timing, so results are bit-identical for any number of
// threads. The caller and the workers claim chunks (see "Fork / join" below); workers
// sit in workerLoop(): they spin on the generation word for a while, then block
// (Atomics.wait through the host import env.wait). The caller spins too while the last
// chunks finish, and blocks only where it may (canBlock: not a browser's main thread).

import { gemmPart } from './gemm';
import { lstmFwdPart, lstmBwdPart, gruFwdPart, gruBwdPart, rnnFwdPart, rnnBwdPart } from './cells';
import { lnFwdPart, lnBwdColsPart, lnBwdRowsPart } from './norm';
import { xentFwdPart, xentBwdPart } from './xent';
import { fillRowsPart, sumRowsPart, gatherPart, scatterPart } from './rows';
import { sumSquaresPart, scalePart, sgdPart, adagradPart, rmspropPart, adamPart } from './optim';

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
export const PARTIAL: usize = 1024; // f64 partial sums, one per fixed chunk of a reduction
export const MAX_CHUNKS: i32 = 1024; // partial sums
const FLAGS: usize = 9216;       // one word per parallel chunk: 2s free, 2s + 1 claimed (s = job number)

/** Bytes the caller reserves for the control block. */
export const CTL_BYTES: i32 = 16384;
/** Bytes of scratch each thread needs (packed GEMM panels + a tile). */
export const SCRATCH_BYTES: i32 = 384 * 1024 + 4096;
export const PACK_A: usize = 256 * 1024; // offset of the packed A block (MC x KB) in a thread's scratch
export const TILE: usize = 384 * 1024;   // offset of the 4x8 spill tile

export const OP_GEMM: i32 = 1;
export const OP_LSTM_F: i32 = 2;
export const OP_LSTM_B: i32 = 3;
export const OP_GRU_F: i32 = 4;
export const OP_GRU_B: i32 = 5;
export const OP_RNN_F: i32 = 6;
export const OP_RNN_B: i32 = 7;
export const OP_XENT_F: i32 = 8;
export const OP_XENT_B: i32 = 9;
export const OP_FILL_ROWS: i32 = 10;
export const OP_SUM_ROWS: i32 = 11;
export const OP_GATHER: i32 = 12;
export const OP_SCATTER: i32 = 13;
export const OP_SUMSQ: i32 = 14;
export const OP_SCALE: i32 = 15;
export const OP_SGD: i32 = 16;
export const OP_ADAGRAD: i32 = 17;
export const OP_RMSPROP: i32 = 18;
export const OP_ADAM: i32 = 19;
export const OP_LN_F: i32 = 20;
export const OP_LN_B_COLS: i32 = 21;
export const OP_LN_B_ROWS: i32 = 22;

/**
 * Blocks while the i32 at ptr equals expected: Atomics.wait in the host. Not
 * memory.atomic.wait32: the baseline compiler of V8 11 (Node 20) corrupts a live local
 * across that instruction (reproduced with --liftoff-only); a host call is safe.
 */
// @ts-ignore: decorator
@external("env", "wait") declare function hostWait(ptr: usize, expected: i32): void;

// ---- per-instance state (every thread has its own globals) ----
export let ctl: usize = 0;
export let nthreads: i32 = 1;
let canBlock: bool = false;
export let scratch: usize = 0;
let spinLimit: i32 = 20000;    // worker spins before sleeping
let joinSpins: i32 = 20000;    // caller spins before sleeping
// work thresholds for going parallel (tunable from JS)
export let gemmParMin: f64 = 65536;     // M*N*K
export let gemmChunkWork: f64 = 131072; // M*N*K per chunk
export let rowSplitMin: i32 = 4;        // GEMMs with fewer row tiles (of 4) are split by columns
export let elemParMin: i32 = 32768;     // element-operations of a pointwise op worth splitting
export let elemChunk: i32 = 8192;       // element-operations per chunk
export let dotMaxM: i32 = 128;          // NT GEMMs with fewer rows use the dot-product kernel
export let packBMinM: i32 = 128;        // NN / TN GEMMs (or chunks) with at least this many rows pack B

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

@inline export function setI(i: i32, v: i32): void { store<i32>(ctl + JOB_I + (<usize>i << 2), v); }
@inline export function getI(i: i32): i32 { return load<i32>(ctl + JOB_I + (<usize>i << 2)); }
@inline export function setU(i: i32, v: usize): void { store<u32>(ctl + JOB_I + (<usize>i << 2), <u32>v); }
@inline export function getU(i: i32): usize { return <usize>load<u32>(ctl + JOB_I + (<usize>i << 2)); }
@inline export function setF(i: i32, v: f64): void { store<f64>(ctl + JOB_F + (<usize>i << 3), v); }
@inline export function getF(i: i32): f64 { return load<f64>(ctl + JOB_F + (<usize>i << 3)); }

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
export function run(op: i32, n: i32): void {
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

/**
 * Runs part t of P of the job `op`. The kernel files import run() from here and this
 * imports their *Part functions: a cycle, which AssemblyScript resolves (it compiles the
 * whole program at once).
 */
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
@inline export function chunksFor(tiles: i32, work: f64, minWork: f64, chunkWork: f64): i32 {
  if (nthreads <= 1 || work < minWork) return 1;
  return max(1, min(min(tiles, MAX_PAR_CHUNKS), <i32>(work / chunkWork)));
}

/** Start (in items) of part t of P when n items are dealt out in tiles of `unit`; part t is [rangeLo(t), rangeLo(t + 1)). */
@inline export function rangeLo(n: i32, unit: i32, t: i32, P: i32): i32 {
  const tiles = (n + unit - 1) / unit;
  return min(<i32>(<i64>tiles * t / P) * unit, n);
}

/** Chunks for a job over `rows` rows of `width` elements (a row never splits). */
@inline export function rowChunks(rows: i32, width: i32, weight: i32): i32 {
  const work = <f64>rows * <f64>width * <f64>weight;
  return chunksFor(rows, work, <f64>elemParMin, <f64>elemChunk);
}

// Flat pointwise ops: split in chunks of FLAT_CHUNK elements
export const FLAT_CHUNK: i32 = 4096;

@inline export function flatChunks(n: i32, weight: i32): i32 {
  return chunksFor((n + FLAT_CHUNK - 1) / FLAT_CHUNK, <f64>n * <f64>weight, <f64>elemParMin, <f64>elemChunk);
}
@inline export function flatLo(n: i32, t: i32, P: i32): i32 { return rangeLo(n, 4, t, P); }
