// Crash safety (docs/reliability.md): `rnnkit train` and `rnnkit classify train`
// SIGKILLed at least 24 times each — inside checkpoint writes at every stage of the
// atomic write (through test/crash-preload.ts), at seeded training steps from outside,
// and during start-up — and resumed from latest.safetensors each time. After every
// kill every checkpoint loads with a valid training state and best is never ahead of
// latest; after every restart no temp file of an earlier process remains; the final
// checkpoints are byte-identical to those of one uninterrupted run.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHAKESPEARE, TINY } from './cli-helpers.js';
import { killAndResume, runChild, type KillRunSpec, type KillRunStats } from './crash-harness.js';
import { Rng } from '../src/core/rng.js';
import { setBackend } from '../src/backend/registry.js';
import { readCheckpointFile, readModelFile } from '../src/node/checkpoint-file.js';
import { runMeta } from '../src/train/run-checkpoint.js';
import { parseRunState } from '../src/train/example-meta.js';
import { removeStaleTemps } from '../src/node/checkpoint-safety.js';

setBackend('ref'); // the checks decode checkpoints in this process

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnnkit-crash-'));
  writeFileSync(join(dir, 't.txt'), readFileSync(SHAKESPEARE, 'utf8').slice(0, 6000));
  const rng = new Rng(7), words = ['good', 'great', 'fine', 'bad', 'awful', 'poor', 'the', 'a', 'movie', 'food', 'was', 'very'];
  const line = () => {
    const ws = Array.from({ length: 3 + rng.int(5) }, () => words[rng.int(words.length)]!);
    const pos = ws.filter((w) => ['good', 'great', 'fine'].includes(w)).length, neg = ws.filter((w) => ['bad', 'awful', 'poor'].includes(w)).length;
    return `${pos >= neg ? 'positive' : 'negative'}\t${ws.join(' ')}`;
  };
  writeFileSync(join(dir, 'c.tsv'), Array.from({ length: 80 }, line).join('\n') + '\n');
  // translation: reverse a short word sequence
  const pair = () => { const ws = Array.from({ length: 1 + rng.int(4) }, () => words[rng.int(6)]!); return `${ws.join(' ')}\t${[...ws].reverse().join(' ')}`; };
  writeFileSync(join(dir, 'p.tsv'), Array.from({ length: 100 }, pair).join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sameFile = (a: string, b: string, what: string) => assert.ok(readFileSync(join(dir, a)).equals(readFileSync(join(dir, b))), `${what}: ${a} differs from ${b}`);

/** An example trainer's checkpoint: loads, and its training state passes the resume checks. */
async function exampleCheck(path: string): Promise<{ step: number; best: number | null }> {
  const t = parseRunState((await readModelFile(path)).ck.metadata['train'], path).trainer;
  return { step: t.step, best: t.best };
}

function report(name: string, s: KillRunStats): void {
  const w = s.writeKills;
  process.stdout.write(`# ${name}: ${s.rounds} killed run(s) to the end, ${s.runs} processes, ${s.kills} SIGKILLs (in checkpoint writes: ${w.open} after open, ${w.half} half-way, ${w.fsync} after fsync, ` +
    `${w.rename} after rename; ${s.stepKills} at a training step, of which ${s.stepKillsInWrite} inside a write; ${s.startupKills} at start-up), ` +
    `${s.checkpointsChecked} checkpoint loads checked, ${s.staleRemoved} stale temp files removed, ${s.bestAhead} times best a checkpoint ahead of latest\n`);
}

async function crashTest(name: string, spec: Omit<KillRunSpec, 'finalStep' | 'dir' | 'fresh' | 'cwd' | 'compare'>, fresh: (out: string) => string[]): Promise<void> {
  const ref = await runChild(fresh(`${name}-ref`), dir, { stepOf: spec.stepOf });
  assert.equal(ref.code, 0, ref.stderr);
  const finalStep = (await spec.check(join(dir, `${name}-ref`, 'latest.safetensors'))).step;
  const compare = (out: string) => {
    for (const f of ['latest.safetensors', 'best.safetensors']) sameFile(`${out}/${f}`, `${name}-ref/${f}`, 'the killed and resumed run ends as the uninterrupted one');
  };
  const stats = await killAndResume({ ...spec, cwd: dir, dir: `${name}-killed`, fresh, finalStep, compare });
  report(name, stats);
  process.stdout.write(`# ${name} reference: ${ref.stderr.trim().split('\n').filter((l) => l.startsWith('done'))[0]}\n`);
  assert.ok(stats.kills >= spec.kills, `only ${stats.kills} kills`);
  for (const st of ['open', 'half', 'fsync', 'rename'] as const) assert.ok(stats.writeKills[st] >= 2, `kills after ${st}: ${stats.writeKills[st]}`);
}

// the runs wait on fsync and process start-up more than they compute: two at a time
describe('kill and resume', { concurrency: 2 }, () => {
  test('rnnkit train: killed 24 times (in every stage of a checkpoint write, at random steps, at start-up) and resumed ends bit for bit as one uninterrupted run', async () => {
    const common = ['--steps', '120', '--eval-every', '3', '--log-every', '1', '--sample-length', '0'];
    await crashTest('charlm', {
      resume: (latest) => ['train', 't.txt', '--resume', latest, ...common],
      stepOf: (l) => { const m = /^step (\d+)\//.exec(l); return m ? Number(m[1]) : null; },
      check: async (path) => {
        const meta = runMeta(await readCheckpointFile(path), path);
        assert.ok(meta, `${path} has a training state`);
        return { step: meta.trainer.step, best: meta.trainer.bestVal };
      },
      stepsPerCheckpoint: 3, kills: 24, seed: 1,
      finished: (c) => assert.match(c.stderr, /already at step 120; pass a larger --steps/),
    }, (out) => ['train', 't.txt', ...TINY, ...common, '--out', out]);
  });

  test('rnnkit classify train: killed 24 times and resumed ends bit for bit as one uninterrupted run', async () => {
    const common = ['--epochs', '30', '--log-every', '1'];
    await crashTest('classify', {
      resume: (latest) => ['classify', 'train', 'c.tsv', '--resume', latest, ...common],
      stepOf: (l) => { const m = /^epoch [\d.]+\/\d+ \| step (\d+) \|/.exec(l); return m ? Number(m[1]) : null; },
      check: exampleCheck,
      stepsPerCheckpoint: 9, kills: 24, seed: 2,
      finished: (c) => { assert.equal(c.code, 0, c.stderr); assert.match(c.stderr, /^done after [\d.]+ epochs/m); },
    }, (out) => ['classify', 'train', 'c.tsv', '--hidden', '12', '--embedding', '8', '--batch', '8', '--seed', '4', '--patience', '8', ...common, '--out', out]);
  });

  test('rnnkit translate train: killed 24 times and resumed ends bit for bit as one uninterrupted run', async () => {
    const common = ['--epochs', '24', '--log-every', '1'];
    await crashTest('translate', {
      resume: (latest) => ['translate', 'train', 'p.tsv', '--resume', latest, ...common],
      stepOf: (l) => { const m = /^epoch [\d.]+\/\d+ \| step (\d+) \|/.exec(l); return m ? Number(m[1]) : null; },
      check: exampleCheck,
      stepsPerCheckpoint: 12, kills: 24, seed: 3,
      finished: (c) => { assert.equal(c.code, 0, c.stderr); assert.match(c.stderr, /^done after [\d.]+ epochs/m); },
    }, (out) => ['translate', 'train', 'p.tsv', '--hidden', '12', '--embedding', '8', '--batch', '8', '--seed', '3', ...common, '--out', out]);
  });
});

test('removeStaleTemps removes the temp files of dead writers of the named checkpoints only', async () => {
  const d = join(dir, 'stale'), dead = spawnSync(process.execPath, ['-e', '']).pid!;
  mkdirSync(d);
  const names = [`latest.safetensors.${dead}.0123456789ab.tmp`, `best.safetensors.${dead}.ba9876543210.tmp`, // removed
    `latest.safetensors.${process.pid}.0123456789ab.tmp`, // a live writer's
    `other.safetensors.${dead}.0123456789ab.tmp`, `latest.safetensors.${dead}.xyz.tmp`, `latest.safetensors.${dead}.0123456789ab.tmp.bak`, 'latest.safetensors'];
  for (const n of names) writeFileSync(join(d, n), '');
  const removed = await removeStaleTemps(d, [join(d, 'latest.safetensors'), join(d, 'best.safetensors')]);
  assert.deepEqual(removed.sort(), [join(d, names[1]!), join(d, names[0]!)].sort());
  assert.deepEqual(readdirSync(d).sort(), names.slice(2).sort());
  assert.deepEqual(await removeStaleTemps(join(dir, 'no-such-dir'), [join(dir, 'no-such-dir', 'latest.safetensors')]), []);
});
