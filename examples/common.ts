// What the example scripts share: options with defaults (--help lists them), the
// backend, MNIST as sequences of rows, and a one-line report per epoch.
import { parseArgs } from 'node:util';
import { initBackend, getBackend, type EpochReport, type MnistSet } from '../src/index.js';

export type Options = Record<string, { def: number | string | boolean; help: string }>;

/** Parses --name value options (numbers, strings, switches); --help prints them and exits. */
export async function setup<O extends Options>(title: string, options: O): Promise<{ [K in keyof O]: O[K]['def'] }> {
  const spec: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, backend: { type: 'string' } };
  for (const [k, o] of Object.entries(options)) spec[k] = { type: typeof o.def === 'boolean' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ options: spec, strict: true }) as { values: Record<string, string | boolean | undefined> });
  } catch (e) {
    console.error(`${(e as Error).message} (see --help)`);
    process.exit(2);
  }
  if (values['help']) {
    console.log(`${title}\n\nOptions:\n${Object.entries(options).map(([k, o]) => `  --${k.padEnd(14)} ${o.help} (${o.def})`).join('\n')}\n  --backend NAME   native | wasm | ref (the fastest available)`);
    process.exit(0);
  }
  const out: Record<string, number | string | boolean> = {};
  for (const [k, o] of Object.entries(options)) {
    const v = values[k];
    if (v === undefined) out[k] = o.def;
    else if (typeof o.def === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) { console.error(`--${k} must be a number, got '${v}'`); process.exit(2); }
      out[k] = n;
    } else out[k] = v;
  }
  await initBackend((values['backend'] as string | undefined) ?? 'auto');
  console.log(`${title} (backend ${getBackend().name})`);
  return out as { [K in keyof O]: O[K]['def'] };
}

/** Images [from, to) as 28 steps of 28 pixels in [0, 1] (row t = step t). */
export function rowSequences(set: MnistSet, from = 0, to = set.count): Float32Array[] {
  const n = set.rows * set.cols, out: Float32Array[] = [];
  for (let i = from; i < to; i++) out.push(Float32Array.from(set.pixels.subarray(i * n, (i + 1) * n), (p) => p / 255));
  return out;
}

export function epochLine(r: EpochReport, seconds: number, score: string): string {
  return `epoch ${r.epoch} | train loss ${r.trainLoss.toFixed(4)} | val loss ${r.loss.toFixed(4)} | ${score}${r.best ? ' *best*' : ''} | epoch time ${seconds.toFixed(1)} s`;
}
