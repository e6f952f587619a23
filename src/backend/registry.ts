// Backend selection. Layers call getBackend(); the CLI and API pick one by name.
import type { Backend } from './backend.js';
import { refBackend } from './ref/index.js';

const backends = new Map<string, Backend>([['ref', refBackend]]);
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
  return b;
}

export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}
