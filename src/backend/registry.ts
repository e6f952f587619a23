// Backend selection. Layers call getBackend(); the CLI and API pick one by name.
// A backend implements alloc and gemm and any subset of the other kernels; the
// reference implementation fills in the rest (TensorFlow.js style), so a new kernel
// starts life in ref/ alone and a fast backend takes it over when measurement says so.
// The reference kernels are plain loops over typed arrays, so they work on any
// backend's arrays.
import type { Backend, BackendImpl } from './backend.js';
import { setAllocator } from '../core/alloc.js';
import { refBackend } from './ref/index.js';

export { allocArray } from '../core/alloc.js';

const backends = new Map<string, Backend>([['ref', refBackend]]);
const fallbacks = new Map<string, string[]>([['ref', []]]);
let current: Backend = refBackend;

export function getBackend(): Backend {
  return current;
}

export function availableBackends(): string[] {
  return [...backends.keys()];
}

export function setBackend(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw new Error(`unknown backend '${name}' (available: ${availableBackends().join(', ')})`);
  current = b;
  setAllocator(b.alloc);
  return b;
}

/** Registers a backend; kernels it lacks run the reference implementation. */
export function registerBackend(impl: BackendImpl): Backend {
  const b = { ...refBackend, ...impl } as Backend;
  backends.set(b.name, b);
  fallbacks.set(b.name, (Object.keys(refBackend) as (keyof Backend)[]).filter((k) => !(k in impl)));
  return b;
}

/** Kernels of a registered backend that run the reference implementation. */
export function referenceKernels(name: string): string[] {
  return fallbacks.get(name) ?? [];
}
