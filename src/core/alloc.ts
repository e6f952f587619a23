// Where model arrays come from. The backend registry installs its backend's allocator
// here (a backend may keep arrays in its own memory, as wasm does), so code below the
// backends allocates without importing them.
import type { Arr, DType } from './params.js';

let float32: (n: number) => Float32Array = (n) => new Float32Array(n);

/** Installs the float32 allocator (backend/registry.ts calls this on setBackend); returns the one it replaces. */
export function setAllocator(alloc: (n: number) => Float32Array): (n: number) => Float32Array {
  const previous = float32;
  float32 = alloc;
  return previous;
}

/**
 * A zeroed array: float32 from the current backend, or float64 (reference backend only,
 * for gradient checks). Models allocate everything through this, once, so a backend
 * with its own memory sees every array it computes on.
 */
export function allocArray(n: number, dtype: DType = 'float32'): Arr {
  return dtype === 'float64' ? new Float64Array(n) : float32(n);
}
