// Start-up of the wasm backend's workers (worker.js): threads - 1 of them, each
// instantiating the kernels on the shared memory; worker_threads in Node, module Web
// Workers in browsers. All must answer within WORKER_START_S, or none is kept.
import type { Tuning } from './index.js';
import type { WorkerInit } from './worker.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
/** Seconds the workers get to start. */
const WORKER_START_S = 30;

export interface AnyWorker {
  terminate(): unknown;
}

export async function startWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory, ctl: number, scratch: number,
  threads: number, tuning: Tuning): Promise<AnyWorker[]> {
  const inits: WorkerInit[] = [];
  for (let tid = 1; tid < threads; tid++) inits.push({ module, memory, ctl, scratch, tid, threads, tuning });
  if (!inits.length) return [];
  const started: AnyWorker[] = [];
  const fail = (why: string) => {
    for (const w of started) w.terminate();
    return new Error(`wasm backend: a worker did not start: ${why}`);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fail(`no answer within ${WORKER_START_S} s`)), WORKER_START_S * 1000);
    (timer as { unref?: () => void }).unref?.();
  });
  try {
    return await Promise.race([spawn(inits, started, fail), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function spawn(inits: WorkerInit[], started: AnyWorker[], fail: (why: string) => Error): Promise<AnyWorker[]> {
  if (isNode) {
    const { Worker } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:worker_threads');
    await Promise.all(inits.map((init) => new Promise<void>((resolve, reject) => {
      // execArgv: [] because the worker needs none of the parent's Node options (and some, like
      // --input-type with -e, would stop it); V8 flags are process-wide anyway
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, execArgv: [] });
      started.push(w);
      w.once('message', (m: { ok: boolean; error?: string }) => (m.ok ? resolve() : reject(fail(m.error ?? 'unknown error'))));
      w.once('error', (e) => reject(fail(e.message)));
      w.once('exit', (code) => reject(fail(`exited with code ${code}`)));
    })));
    for (const w of started as import('node:worker_threads').Worker[]) {
      w.removeAllListeners('exit');
      w.removeAllListeners('error');
      w.on('error', (e) => console.error(`rnnkit: a wasm worker failed: ${e.message}`)); // a bug: the caller may now wait forever
      w.unref();
    }
    return started;
  }
  await Promise.all(inits.map((init) => new Promise<void>((resolve, reject) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    started.push(w);
    w.onmessage = (e: MessageEvent<{ ok: boolean; error?: string }>) => {
      w.onmessage = null;
      if (e.data.ok) resolve(); else reject(fail(e.data.error ?? 'unknown error'));
    };
    w.onerror = (e) => reject(fail(e.message || 'worker script failed to load'));
    w.postMessage(init);
  })));
  return started;
}
