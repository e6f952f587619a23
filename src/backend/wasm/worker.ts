// A worker of the wasm backend: instantiates the kernels on the shared memory and runs
// its part of every parallel job until told to quit (see assembly/kernels.ts). Runs
// under Node's worker_threads (init in workerData) and as a module Web Worker (init
// posted as the first message). Imports nothing at the top level.

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctl: number;      // control block address
  scratch: number;  // base of the per-thread scratch
  tid: number;      // 1 .. threads-1 (0 is the caller)
  threads: number;
  tuning: number[];
}

interface Kernels {
  setup(ctl: number, scratch: number, tid: number, threads: number, canBlock: number): void;
  tune(...knobs: number[]): void;
  workerLoop(tid: number, seen: number): void;
}

async function start(init: WorkerInit, post: (m: unknown) => void): Promise<void> {
  let ex: Kernels;
  try {
    const words = new Int32Array(init.memory.buffer);
    const wait = (ptr: number, expected: number) => { Atomics.wait(words, ptr >>> 2, expected); };
    const inst = await WebAssembly.instantiate(init.module, { env: { memory: init.memory, wait } });
    ex = inst.exports as unknown as Kernels;
    ex.setup(init.ctl, init.scratch, init.tid, init.threads, 1);
    ex.tune(...init.tuning);
  } catch (e) {
    post({ ok: false, error: e instanceof Error ? e.message : String(e) });
    return;
  }
  post({ ok: true });
  ex.workerLoop(init.tid, 0); // returns when the backend quits
}

interface WorkerScope {
  onmessage: ((e: { data: WorkerInit }) => void) | null;
  postMessage(m: unknown): void;
  close(): void;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
if (isNode) {
  const { parentPort, workerData } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:worker_threads');
  await start(workerData as WorkerInit, (m) => parentPort!.postMessage(m));
} else {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (e) => {
    scope.onmessage = null;
    void start(e.data, (m) => scope.postMessage(m)).then(() => scope.close());
  };
}
