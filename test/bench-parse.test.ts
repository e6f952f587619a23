// npm run bench -- --time-to-loss reads `rnnkit train`'s log: run the real CLI and parse
// its lines with the benchmark's own parser, so a change of the log format fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, SHAKESPEARE, TINY } from './cli-helpers.js';
import { spawnSync } from 'node:child_process';

interface Parsed { kind: string; recipe?: Record<string, unknown>; backend?: string | null; step?: number; epoch?: number; val_loss?: number }

test('the time-to-loss benchmark understands rnnkit train\'s log', async () => {
  const lib = await import(join(ROOT, 'scripts', 'bench', 'lib.mjs')) as { parseTrainLine(line: string): Parsed | null };
  const out = mkdtempSync(join(tmpdir(), 'rnnkit-parse-'));
  try {
    const r = spawnSync(process.execPath, [CLI, 'train', SHAKESPEARE, ...TINY, '--steps', '4', '--eval-every', '2', '--backend', 'ref', '--out', out],
      { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const parsed = r.stderr.split('\n').map((l) => lib.parseTrainLine(l)).filter((p): p is Parsed => p !== null);
    const model = parsed.find((p) => p.kind === 'model'), batch = parsed.find((p) => p.kind === 'batch');
    assert.deepEqual(model?.recipe, { cell: 'lstm', layers: 1, hidden: 16, embedding: 8 }, r.stderr);
    assert.equal(model?.backend, 'ref');
    assert.equal(batch?.recipe?.['batch'], 4, r.stderr);
    assert.equal(batch?.recipe?.['seq'], 16);
    assert.equal(batch?.recipe?.['optimizer'], 'adam');
    const evals = parsed.filter((p) => p.kind === 'eval');
    assert.deepEqual(evals.map((e) => e.step), [2, 4], r.stderr);
    for (const e of evals) assert.ok(e.val_loss! > 0 && e.val_loss! < 10, String(e.val_loss));
  } finally { rmSync(out, { recursive: true, force: true }); }
});
