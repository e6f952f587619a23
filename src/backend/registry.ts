// Backend selection. Layers call getBackend(); the CLI and API pick one by name.
import type { Backend } from './backend.js';
import type { Arr, DType } from '../core/params.js';
import { refBackend } from './ref/index.js';

const backends = new Map<string, Backend>([['ref', refBackend]]);
let current: Backend = refBackend;

export function getBackend(): Backend {
  return current;
}

/**
 * Arrays for parameters and activations: float32 from the current backend, or float64
 * (reference backend only, for gradient checks). Models allocate everything through
 * this, once, so a backend with its own memory sees every array it computes on.
 */
export function allocArray(n: number, dtype: DType = 'float32'): Arr {
  return dtype === 'float64' ? new Float64Array(n) : current.alloc(n);
}

export function availableBackends(): string[] {
  return [...backends.keys()];
}

export function setBackend(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw new Error(`unknown backend '${name}' (available: ${availableBackends().join(', ')})`);
  current = b;
  return b;
}

export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}
