// Native backend (Node only): an N-API addon calling the system BLAS. Placeholder
// until the addon lands: always reports itself unavailable.
import type { Backend } from '../backend.js';

export async function loadNativeBackend(): Promise<Backend> {
  throw new Error('native backend not built');
}
