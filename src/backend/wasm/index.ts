// WebAssembly backend: kernels in AssemblyScript with 128-bit SIMD (assembly/kernels.ts,
// built to rnnkit.wasm next to this file), multi-threaded over one shared memory.
//
// Memory: one WebAssembly.Memory({shared: true}) imported by the module on this thread
// and in every worker. alloc(n) carves a block out of it (heap.ts) and returns a
// Float32Array view; views stay valid when the memory grows (a shared buffer is never
// detached). A FinalizationRegistry gives a block back once its view is collected, so
// arrays derived from a view (subarray) must not outlive it. Kernels take only arrays
// that live in this memory; anything else is an error.
//
// Threads: `threads` (default: the number of cores, at most 16; RNNKIT_THREADS in Node)
// threads work on big kernels: this one (the caller) and threads - 1 workers (worker.js;
// worker_threads in Node, module Web Workers in browsers), synchronised with atomics
// in a control block of the memory. The caller blocks in Atomics.wait once it has
// spun for a while, except where it may not (a browser's main thread: there it only
// spins, so train in a Web Worker). Workers are unref'd: they never keep Node alive.
import type { Backend } from '../backend.js';
import type { Arr } from '../../core/params.js';
import { WasmHeap } from './heap.js';
import { startWorkers, type AnyWorker } from './workers.js';

export interface WasmOptions {
  /** Threads doing the work, the caller included: 1 = no workers (default: env RNNKIT_THREADS in Node, else the number of cores, at most 16, or 1 in a browser page that is not cross-origin isolated; 64 at most). */
  threads?: number;
  /** Largest memory in MiB (default 4096, the wasm32 limit; less where that cannot be reserved). */
  maxMemoryMB?: number;
  /** The compiled kernels, instead of reading rnnkit.wasm (or rnnkit-relaxed.wasm) next to this module. */
  wasm?: BufferSource | WebAssembly.Module;
  /** Load the kernels built with relaxed SIMD (fused multiply-add) where the engine has it (default: env RNNKIT_WASM_RELAXED=0 turns it off in Node, else true). */
  relaxedSimd?: boolean;
  /** Scheduling knobs, for benchmarks (see Tuning; negative entries keep the default). */
  tuning?: Partial<Tuning>;
}

/** The Backend plus what is particular to this one. */
export interface WasmBackend extends Backend {
  /** Threads at work (the caller included): 1 when the workers could not start (see workerError). */
  readonly threads: number;
  /** Why the workers did not start, when they did not (the backend then runs on the caller alone). */
  readonly workerError: string | undefined;
  /** Whether the kernels are the relaxed-SIMD build (fused multiply-add in the matrix products). */
  readonly relaxedSimd: boolean;
  readonly memory: WebAssembly.Memory;
  /** Bytes held by arrays not yet collected. */
  bytesInUse(): number;
  /** Stops the workers. The backend keeps working on this thread alone. */
  terminate(): void;
}

interface Kernels {
  CTL_BYTES: WebAssembly.Global;
  SCRATCH_BYTES: WebAssembly.Global;
  heapBase(): number;
  setup(ctl: number, scratch: number, tid: number, threads: number, canBlock: number): void;
  tune(...knobs: Tuning): void;
  quit(): void;
  gemm(tA: number, tB: number, M: number, N: number, K: number, alpha: number, A: number, lda: number,
    B: number, ldb: number, beta: number, C: number, ldc: number): void;
  lstmForward(g: number, c: number, tc: number, h: number, cp: number, B: number, H: number): void;
  lstmBackward(dg: number, dc: number, dh: number, g: number, tc: number, cp: number, B: number, H: number): void;
  gruForward(gx: number, gh: number, h: number, hp: number, B: number, H: number): void;
  gruBackward(dgx: number, dgh: number, dh: number, a: number, gh: number, hp: number, B: number, H: number): void;
  rnnForward(relu: number, h: number, pre: number, n: number): void;
  rnnBackward(relu: number, dpre: number, dh: number, h: number, n: number): void;
  lnForward(out: number, xhat: number, rstd: number, x: number, gamma: number, beta: number,
    rows: number, n: number, eps: number, acc: number): void;
  lnBackward(dx: number, dgamma: number, dbeta: number, dout: number, xhat: number, rstd: number, gamma: number,
    rows: number, n: number, acc: number): void;
  xentForward(probs: number, logits: number, targets: number, N: number, V: number): number;
  xentBackward(dl: number, probs: number, targets: number, N: number, V: number, scale: number): void;
  fillRows(Y: number, bias: number, rows: number, n: number): void;
  sumRows(db: number, dY: number, rows: number, n: number): void;
  gatherRows(Y: number, table: number, ids: number, N: number, w: number): void;
  scatterAddRows(dt: number, dY: number, ids: number, N: number, w: number): void;
  sumSquares(a: number, n: number): number;
  scale(a: number, n: number, s: number): void;
  sgd(p: number, g: number, v: number, n: number, lr: number, mu: number): void;
  adagrad(p: number, g: number, s: number, n: number, lr: number, eps: number): void;
  rmsprop(p: number, g: number, s: number, n: number, lr: number, alpha: number, eps: number): void;
  adam(p: number, g: number, m: number, v: number, n: number, step: number, sq: number, b1: number, b2: number, eps: number): void;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const PAGE = 65536;
/** Bytes kernels may read past the end of an array (partial SIMD vectors, masked). */
const SLACK = 256;
/**
 * Knobs of assembly/kernels.ts tune(): worker spins before sleeping, caller spins before
 * sleeping, GEMM work (M*N*K) worth splitting, GEMM work per chunk, row tiles below
 * which a GEMM is split by columns, pointwise work worth splitting, pointwise work per
 * chunk, rows below which C = A B^T uses the dot kernel, rows from which B is packed.
 */
export type Tuning = [number, number, number, number, number, number, number, number, number];
const TUNING: Tuning = [20000, 20000, 65536, 131072, 4, 32768, 8192, 128, 128];

export const NOT_OURS = 'array not allocated by the wasm backend: create the model after selecting the backend';

export async function loadWasmBackend(opts: WasmOptions = {}): Promise<WasmBackend> {
  if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
  // Chromium makes shared wasm memories without cross-origin isolation (one thread: it cannot
  // be posted to workers); other browsers refuse, and createMemory says why
  if (typeof Atomics === 'undefined') throw new Error('Atomics is not available');
  const threads = await resolveThreads(opts.threads);
  let module: WebAssembly.Module;
  let relaxed = !opts.wasm && wantRelaxed(opts.relaxedSimd) && hasRelaxedSimd();
  try {
    if (relaxed) module = await compileKernels(true).catch(() => { relaxed = false; return compileKernels(false); });
    else module = opts.wasm instanceof WebAssembly.Module ? opts.wasm
      : opts.wasm ? await WebAssembly.compile(opts.wasm) : await compileKernels(false);
  } catch (e) {
    throw new Error(`cannot compile the wasm kernels (needs WebAssembly SIMD and threads): ${(e as Error).message}`);
  }
  const memory = createMemory(opts.maxMemoryMB);
  const ex = (await WebAssembly.instantiate(module, kernelImports(memory))).exports as unknown as Kernels;

  // memory map: [static data | control block | scratch per thread | heap]
  const ctl = alignUp(ex.heapBase(), 4096);
  const scratchBase = ctl + (ex.CTL_BYTES.value as number);
  const heapStart = scratchBase + threads * (ex.SCRATCH_BYTES.value as number);
  const canBlock = callerCanBlock();
  ex.setup(ctl, scratchBase, 0, threads, canBlock ? 1 : 0);
  const tuning = TUNING.map((v, i) => opts.tuning?.[i] ?? v) as Tuning;
  ex.tune(...tuning);

  // the SharedArrayBuffer objects views were made on (memory.buffer is a new one after each grow)
  const buffers = new Set<ArrayBufferLike>();
  let current = memory.buffer;
  buffers.add(current);
  const heap = new WasmHeap(memory, heapStart, SLACK, () => { current = memory.buffer; buffers.add(current); });
  const registry = new FinalizationRegistry<number>((off) => heap.release(off));

  // without workers (blocked, script missing, too slow to start) the backend still works, on one thread
  let workers: AnyWorker[] = [], workerError: string | undefined, active = threads;
  try {
    workers = await startWorkers(module, memory, ctl, scratchBase, threads, tuning);
  } catch (e) {
    workerError = (e as Error).message;
    active = 1;
    ex.setup(ctl, scratchBase, 0, 1, canBlock ? 1 : 0);
  }

  // Int32 ids / targets are copied here before a call
  let idsOff = heap.alloc(4 * 4096), idsCap = 4096;
  const idsScratch = (src: Int32Array, n: number, limit: number, what: string, allowNegative: boolean): number => {
    if (src.length < n) throw new RangeError(`${what}: ${src.length} entries, need ${n}`);
    if (n > idsCap) {
      heap.release(idsOff);
      idsCap = Math.max(n, 2 * idsCap);
      idsOff = heap.alloc(4 * idsCap);
    }
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      if (v >= limit || (v < 0 && !allowNegative)) throw new RangeError(`${what}: id ${v} at ${i} is outside [0, ${limit})`);
    }
    new Int32Array(current, idsOff, n).set(src.subarray(0, n));
    return idsOff;
  };

  /** Byte address of a[off], after checking a lives in this memory and holds `need` elements from off. */
  const ptr = (a: Arr, off: number, need: number): number => {
    const buf = a.buffer;
    if ((buf !== current && !buffers.has(buf)) || !(a instanceof Float32Array)) {
      throw new Error(a instanceof Float64Array ? 'the wasm backend computes in float32 only (float64 models need the ref backend)' : NOT_OURS);
    }
    if (need > 0 && !(off >= 0 && off + need <= a.length)) {
      throw new RangeError(`wasm backend: ${need} elements from offset ${off} do not fit an array of ${a.length}`);
    }
    return a.byteOffset + 4 * off;
  };
  const mat = (rows: number, cols: number, ld: number) => (rows <= 0 || cols <= 0 ? 0 : (rows - 1) * ld + cols);

  let terminated = false;
  const be: WasmBackend = {
    name: 'wasm',
    threads: active,
    workerError,
    relaxedSimd: relaxed,
    describe: () => `${active} thread${active === 1 ? '' : 's'}, 128-bit SIMD ${relaxed ? 'with relaxed fused multiply-add'
      : `(multiply and add: relaxed SIMD ${hasRelaxedSimd() ? 'turned off' : 'not in this engine'})`}`,
    memory,
    bytesInUse: () => heap.bytesInUse,
    terminate() {
      if (terminated) return;
      terminated = true;
      if (workers.length) ex.quit();
      ex.setup(ctl, scratchBase, 0, 1, canBlock ? 1 : 0);
      for (const w of workers) w.terminate();
    },

    alloc(n: number): Float32Array {
      if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`alloc: bad size ${n}`);
      if (n === 0) return new Float32Array(current, heapStart, 0);
      const off = heap.alloc(4 * n);
      const view = new Float32Array(current, off, n);
      registry.register(view, off);
      return view;
    },

    gemm(tA, tB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc) {
      const pc = ptr(C, cOff, mat(M, N, ldc));
      if (M <= 0 || N <= 0) return;
      const used = K > 0 && alpha !== 0;
      const pa = ptr(A, aOff, used ? (tA ? mat(K, M, lda) : mat(M, K, lda)) : 0);
      const pb = ptr(B, bOff, used ? (tB ? mat(N, K, ldb) : mat(K, N, ldb)) : 0);
      ex.gemm(tA ? 1 : 0, tB ? 1 : 0, M, N, K, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    },

    fillRows(Y, yOff, bias, rows, n) {
      if (rows <= 0 || n <= 0) return;
      ex.fillRows(ptr(Y, yOff, rows * n), ptr(bias, 0, n), rows, n);
    },

    sumRows(db, dY, dyOff, rows, n) {
      if (rows <= 0 || n <= 0) return;
      ex.sumRows(ptr(db, 0, n), ptr(dY, dyOff, rows * n), rows, n);
    },

    lstmStepForward(g, gOff, c, cOff, tc, tcOff, h, hOff, cPrev, cpOff, B, H) {
      if (B <= 0 || H <= 0) return;
      const BH = B * H;
      ex.lstmForward(ptr(g, gOff, 4 * BH), ptr(c, cOff, BH), ptr(tc, tcOff, BH), ptr(h, hOff, BH), ptr(cPrev, cpOff, BH), B, H);
    },

    lstmStepBackward(dg, dgOff, dc, dh, g, gOff, tc, tcOff, cPrev, cpOff, B, H) {
      if (B <= 0 || H <= 0) return;
      const BH = B * H;
      ex.lstmBackward(ptr(dg, dgOff, 4 * BH), ptr(dc, 0, BH), ptr(dh, 0, BH), ptr(g, gOff, 4 * BH), ptr(tc, tcOff, BH),
        ptr(cPrev, cpOff, BH), B, H);
    },

    gruStepForward(gx, gxOff, gh, ghOff, h, hOff, hPrev, hpOff, B, H) {
      if (B <= 0 || H <= 0) return;
      const BH = B * H;
      ex.gruForward(ptr(gx, gxOff, 3 * BH), ptr(gh, ghOff, 3 * BH), ptr(h, hOff, BH), ptr(hPrev, hpOff, BH), B, H);
    },

    gruStepBackward(dgx, dgxOff, dgh, dghOff, dh, act, aOff, gh, ghOff, hPrev, hpOff, B, H) {
      if (B <= 0 || H <= 0) return;
      const BH = B * H;
      ex.gruBackward(ptr(dgx, dgxOff, 3 * BH), ptr(dgh, dghOff, 3 * BH), ptr(dh, 0, BH), ptr(act, aOff, 3 * BH),
        ptr(gh, ghOff, 3 * BH), ptr(hPrev, hpOff, BH), B, H);
    },

    rnnStepForward(relu, h, hOff, pre, pOff, n) {
      if (n <= 0) return;
      ex.rnnForward(relu ? 1 : 0, ptr(h, hOff, n), ptr(pre, pOff, n), n);
    },

    rnnStepBackward(relu, dpre, dpOff, dh, h, hOff, n) {
      if (n <= 0) return;
      ex.rnnBackward(relu ? 1 : 0, ptr(dpre, dpOff, n), ptr(dh, 0, n), ptr(h, hOff, n), n);
    },

    layerNormForward(out, outOff, xhat, xhatOff, rstd, rOff, x, xOff, gamma, beta, rows, n, eps, accumulate) {
      if (rows <= 0 || n <= 0) return;
      const RN = rows * n;
      ex.lnForward(ptr(out, outOff, RN), ptr(xhat, xhatOff, RN), ptr(rstd, rOff, rows), ptr(x, xOff, RN),
        ptr(gamma, 0, n), ptr(beta, 0, n), rows, n, eps, accumulate ? 1 : 0);
    },

    layerNormBackward(dx, dxOff, dgamma, dbeta, dout, doutOff, xhat, xhatOff, rstd, rOff, gamma, rows, n, accumulate) {
      if (rows <= 0 || n <= 0) return;
      const RN = rows * n;
      ex.lnBackward(ptr(dx, dxOff, RN), ptr(dgamma, 0, n), dbeta ? ptr(dbeta, 0, n) : 0, ptr(dout, doutOff, RN),
        ptr(xhat, xhatOff, RN), ptr(rstd, rOff, rows), ptr(gamma, 0, n), rows, n, accumulate ? 1 : 0);
    },

    softmaxXent(probs, logits, targets, N, V) {
      if (N <= 0 || V <= 0) return 0;
      const pp = ptr(probs, 0, N * V), pl = ptr(logits, 0, N * V);
      return ex.xentForward(pp, pl, idsScratch(targets, N, V, 'softmaxXent targets', true), N, V);
    },

    softmaxXentBackward(dlogits, probs, targets, N, V, scale) {
      if (N <= 0 || V <= 0) return;
      const pd = ptr(dlogits, 0, N * V), pp = ptr(probs, 0, N * V);
      ex.xentBackward(pd, pp, idsScratch(targets, N, V, 'softmaxXentBackward targets', true), N, V, scale);
    },

    gatherRows(Y, yOff, table, ids, N, width) {
      if (N <= 0 || width <= 0) return;
      const py = ptr(Y, yOff, N * width), pt = ptr(table, 0, 0);
      ex.gatherRows(py, pt, idsScratch(ids, N, Math.floor(table.length / width), 'gatherRows ids', false), N, width);
    },

    scatterAddRows(dtable, dY, dyOff, ids, N, width) {
      if (N <= 0 || width <= 0) return;
      const pt = ptr(dtable, 0, 0), py = ptr(dY, dyOff, N * width);
      ex.scatterAddRows(pt, py, idsScratch(ids, N, Math.floor(dtable.length / width), 'scatterAddRows ids', false), N, width);
    },

    sumSquares(a, n) {
      return n <= 0 ? 0 : ex.sumSquares(ptr(a, 0, n), n);
    },

    scale(a, n, s) {
      if (n > 0) ex.scale(ptr(a, 0, n), n, s);
    },

    sgdStep(p, g, v, n, lr, momentum) {
      if (n > 0) ex.sgd(ptr(p, 0, n), ptr(g, 0, n), ptr(v, 0, n), n, lr, momentum);
    },

    adagradStep(p, g, s, n, lr, eps) {
      if (n > 0) ex.adagrad(ptr(p, 0, n), ptr(g, 0, n), ptr(s, 0, n), n, lr, eps);
    },

    rmspropStep(p, g, s, n, lr, alpha, eps) {
      if (n > 0) ex.rmsprop(ptr(p, 0, n), ptr(g, 0, n), ptr(s, 0, n), n, lr, alpha, eps);
    },

    adamStep(p, g, m, v, n, lr, beta1, beta2, eps, t) {
      if (n <= 0) return;
      // the bias corrections exactly as the reference computes them (JavaScript's Math.pow)
      const bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
      ex.adam(ptr(p, 0, n), ptr(g, 0, n), ptr(m, 0, n), ptr(v, 0, n), n, lr / bc1, Math.sqrt(bc2), beta1, beta2, eps);
    },
  };
  return be;
}

async function resolveThreads(requested: number | undefined): Promise<number> {
  let n = requested;
  if (n === undefined && isNode) {
    const env = process.env['RNNKIT_THREADS'];
    if (env !== undefined && env !== '') {
      n = Number(env);
      if (!(Number.isInteger(n) && n >= 1)) throw new Error(`RNNKIT_THREADS must be a positive integer, got '${env}'`);
    }
  }
  if (n === undefined) {
    if (isNode) {
      const os = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:os');
      n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    } else {
      // workers can share the memory only in a cross-origin isolated page
      n = isolated() ? (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1 : 1;
    }
    n = Math.min(n, 16); // the kernels' chunks rarely feed more
  }
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`threads must be a positive integer, got ${n}`);
  return Math.min(n, 64);
}

// The smallest module using f32x4.relaxed_madd (opcode 0xfd 0x105): () -> v128 returning
// relaxed_madd of three zero constants. Engines without relaxed SIMD reject it.
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: [] -> [v128]
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code section: one body of 59 bytes, no locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), // v128.const 0, three times
  0xfd, 0x85, 0x02, 0x0b, // f32x4.relaxed_madd, end
]);

/** Whether this engine runs relaxed SIMD (Chrome 114+, Node 22+, Node 20 with --experimental-wasm-relaxed-simd). */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

function wantRelaxed(requested: boolean | undefined): boolean {
  if (requested !== undefined) return requested;
  const env = isNode ? (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.['RNNKIT_WASM_RELAXED'] : undefined;
  return env !== '0';
}

async function compileKernels(relaxed: boolean): Promise<WebAssembly.Module> {
  // two literal URLs, so bundlers (Vite, webpack) find and copy both files
  const url = relaxed ? new URL('./rnnkit-relaxed.wasm', import.meta.url) : new URL('./rnnkit.wasm', import.meta.url);
  if (isNode) {
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:fs/promises');
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(await readFile(url));
    } catch {
      throw new Error(`${url.pathname} is missing (build it: npm run build:wasm)`);
    }
    return WebAssembly.compile(bytes);
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${url.href}: HTTP ${res.status}`);
  if (typeof WebAssembly.compileStreaming === 'function' && res.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}

function createMemory(maxMB = 4096): WebAssembly.Memory {
  let pages = Math.min(65536, Math.max(256, Math.floor((maxMB * 2 ** 20) / PAGE)));
  for (;;) {
    try {
      return new WebAssembly.Memory({ initial: 32, maximum: pages, shared: true });
    } catch (e) {
      if (pages <= 1024) {
        const why = isolated() ? '' : ' (browsers need a cross-origin isolated page: COOP/COEP headers)';
        throw new Error(`cannot create a shared WebAssembly.Memory: ${(e as Error).message}${why}`);
      }
      pages >>= 1; // could not reserve that much address space: ask for less
    }
  }
}

/** Whether shared memory may be posted to workers (always in Node; in browsers, COOP/COEP). */
function isolated(): boolean {
  return isNode || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function callerCanBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** The module's imports: the memory, and blocking (Atomics.wait; see hostWait in assembly/pool.ts). */
export function kernelImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  const words = new Int32Array(memory.buffer); // the control block lies in the first pages
  return { env: { memory, wait: (ptr: number, expected: number) => { Atomics.wait(words, ptr >>> 2, expected); } } };
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
