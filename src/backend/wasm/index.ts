// WebAssembly backend. Placeholder until the kernels land: always reports itself unavailable.
import type { Backend } from '../backend.js';

export interface WasmOptions {
  threads?: number; // worker threads besides the caller (default: cores - 1)
}

export async function loadWasmBackend(_opts: WasmOptions = {}): Promise<Backend> {
  throw new Error('wasm backend not built');
}
