// Loads the fast backends that this environment supports and selects the fastest.
// Separate from registry.ts so that importing rnnkit loads no wasm or native code
// until asked.
import type { Backend } from './backend.js';
import { getBackend, registerBackend, setBackend, availableBackends } from './registry.js';

/** Fastest first. */
export const BACKEND_PREFERENCE = ['native', 'wasm', 'ref'] as const;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
let loaded: Promise<Record<string, string>> | null = null;

/** Tries every backend once; returns why each unavailable one could not load. */
export function loadBackends(): Promise<Record<string, string>> {
  loaded ??= (async () => {
    const failures: Record<string, string> = {};
    const attempt = async (name: string, load: () => Promise<Backend>) => {
      try {
        registerBackend(await load());
      } catch (e) {
        failures[name] = (e as Error).message;
      }
    };
    if (isNode) await attempt('native', async () => (await import('./native/index.js')).loadNativeBackend());
    else failures['native'] = 'Node.js only';
    await attempt('wasm', async () => (await import('./wasm/index.js')).loadWasmBackend());
    return failures;
  })();
  return loaded;
}

let chosen = false;

/** The backend 'auto' selects: the first of BACKEND_PREFERENCE that loaded. */
export function fastestAvailable(): string {
  return BACKEND_PREFERENCE.find((n) => availableBackends().includes(n)) ?? 'ref';
}

/**
 * Selects a backend by name, or the fastest available when name is omitted or
 * 'auto'. Models must be created after this call (their arrays come from the backend).
 */
export async function initBackend(name = 'auto'): Promise<Backend> {
  const failures = await loadBackends();
  chosen = true;
  if (name === 'auto') return setBackend(fastestAvailable());
  if (!availableBackends().includes(name) && failures[name]) {
    throw new Error(`backend '${name}' is not available here: ${failures[name]}`);
  }
  return setBackend(name);
}

/** The API's default: the fastest backend, unless one was chosen already. */
export async function ensureBackend(name?: string): Promise<Backend> {
  if (name !== undefined || !chosen) return initBackend(name ?? 'auto');
  return getBackend();
}

