// rnnkit WebAssembly kernels (AssemblyScript, 128-bit SIMD, shared-memory threads).
//
// Every pointer is a byte address in the one shared memory that the caller and the
// workers import. JavaScript (src/backend/wasm/) owns the memory map: it allocates the
// control block, the per-thread scratch and every array, and calls setup() in each
// instance. Nothing here allocates; the module has no managed objects.
//
// This is the entry file: only its exports become the module's. The code is grouped
// by kind in pool.ts (threads, control block, op dispatch), simd-math.ts, gemm.ts,
// cells.ts, norm.ts, xent.ts, rows.ts and optim.ts. A global can be assigned only in
// the file that declares it, so the state the kernels read (ctl, scratch, the tuning)
// lives in pool.ts, set by setup() and tune(), and the other files import it.

// The wasm exports: src/backend/wasm/index.ts `Kernels`, and workerLoop for worker.ts.
export { CTL_BYTES, SCRATCH_BYTES, heapBase, setup, tune, workerLoop, quit } from './pool';
export { gemm } from './gemm';
export { lstmForward, lstmBackward, gruForward, gruBackward, rnnForward, rnnBackward } from './cells';
export { lnForward, lnBackward } from './norm';
export { xentForward, xentBackward } from './xent';
export { fillRows, sumRows, gatherRows, scatterAddRows } from './rows';
export { sumSquares, scale, sgd, adagrad, rmsprop, adam } from './optim';
