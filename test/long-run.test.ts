// Memory over long runs (docs/reliability.md, "Long runs"): a training run with
// checkpoints, validation and samples every 100 steps, and a long sampling run, must
// not grow. A probe in the child collects garbage before every reading, so what is
// compared is the live set (and the RSS that holds it), not V8's lazy heap sizing.
// scripts/long-run.mjs measures the same over 100,000 steps and 1,000,000 characters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, SHAKESPEARE } from './cli-helpers.js';

const PROBE = fileURLToPath(new URL('./memory-probe.js', import.meta.url));
const MiB = 1 << 20;

interface Reading { rss: number; heap: number; buffers: number }

/** Runs the CLI under the probe; the readings taken while it ran. */
function probed(args: string[], dir: string): Promise<Reading[]> {
  const log = join(dir, `probe-${args[0]}.txt`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', PROBE, CLI, ...args],
      { cwd: dir, env: { ...process.env, RNNKIT_MEMORY_PROBE: log }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-2000); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`rnnkit ${args[0]} exited ${code}: ${err}`));
      resolve(readFileSync(log, 'utf8').trim().split('\n').map((l) => {
        const [rss, heap, buffers] = l.split(' ').map(Number) as [number, number, number];
        return { rss, heap, buffers };
      }));
    });
  });
}

/** Growth of the live set and the RSS from the end of the first third to the end. */
function growth(r: Reading[]): { live: number; rss: number } {
  const tail = r.slice(Math.floor(r.length / 3));
  const live = (x: Reading) => x.heap + x.buffers;
  const first = tail.slice(0, 3), last = tail.slice(-3); // averages of three: one reading can catch a step mid-way
  const mean = (xs: Reading[], f: (x: Reading) => number) => xs.reduce((s, x) => s + f(x), 0) / xs.length;
  return { live: mean(last, live) - mean(first, live), rss: Math.max(...tail.map((x) => x.rss)) - mean(first, (x) => x.rss) };
}

test('training for thousands of steps (checkpoints, validation, samples) and sampling 200,000 characters keep memory flat', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rnnkit-longrun-'));
  try {
    const train = await probed(['train', SHAKESPEARE, '--layers', '1', '--hidden', '32', '--embedding', '16', '--batch', '8', '--seq', '32',
      '--steps', '2000', '--eval-every', '100', '--sample-length', '100', '--quiet', '--out', 'ck'], dir);
    assert.ok(train.length >= 9, `only ${train.length} readings of the training run`);
    const g = growth(train);
    assert.ok(g.live < 1 * MiB, `training: live heap + buffers grew ${(g.live / MiB).toFixed(2)} MiB over its last two thirds`);
    assert.ok(g.rss < 8 * MiB, `training: RSS rose ${(g.rss / MiB).toFixed(2)} MiB over its last two thirds`);

    const sample = await probed(['sample', join('ck', 'latest.safetensors'), '--length', '200000', '--seed', '1'], dir);
    assert.ok(sample.length >= 9, `only ${sample.length} readings of the sampling run`);
    const s = growth(sample);
    assert.ok(s.live < 1 * MiB, `sampling: live heap + buffers grew ${(s.live / MiB).toFixed(2)} MiB`);
    assert.ok(s.rss < 8 * MiB, `sampling: RSS rose ${(s.rss / MiB).toFixed(2)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
