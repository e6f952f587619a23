// The kill/resume harness of test/crash-resume.test.ts: runs a training command of the
// CLI, SIGKILLs it at seeded moments (inside checkpoint writes through
// crash-preload.ts, at a seeded training step from outside, or during start-up),
// resumes it from DIR/latest.safetensors each time (fresh while there is none) until
// it has finished, and checks the directory after every run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './cli-helpers.js';
import { Rng } from '../src/core/rng.js';

export const PRELOAD = new URL('./crash-preload.js', import.meta.url).href;
export const WRITE_STAGES = ['open', 'half', 'fsync', 'rename'] as const;
export type WriteStage = (typeof WRITE_STAGES)[number];
const TEMP = /\.safetensors\.(\d+)\.[0-9a-f]{12}\.tmp$/;

export interface Child { code: number | null; signal: NodeJS.Signals | null; pid: number; stderr: string; stdout: string; steps: number }

/**
 * Runs the CLI with the crash preload. `fault` is RNNKIT_TEST_FAULT; `killAtStep` sends
 * SIGKILL `delayMs` after the log shows that step (stepOf parses a log line);
 * `killAfterMs` sends it that long after the start.
 */
export function runChild(args: string[], cwd: string, o: { fault?: string; killAtStep?: number; delayMs?: number; killAfterMs?: number; stepOf: (line: string) => number | null }): Promise<Child> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['RNNKIT_DEBUG'];
  delete env['NODE_TEST_CONTEXT'];
  if (o.fault) env['RNNKIT_TEST_FAULT'] = o.fault;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PRELOAD, CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', partial = '', steps = 0, sent = false;
    const kill = () => { sent = true; child.kill('SIGKILL'); };
    if (o.killAfterMs !== undefined) setTimeout(kill, o.killAfterMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        const s = o.stepOf(l);
        if (s === null) continue;
        steps = Math.max(steps, s);
        if (!sent && o.killAtStep !== undefined && s >= o.killAtStep) { sent = true; setTimeout(kill, o.delayMs ?? 0); }
      }
    });
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(watchdog); resolve({ code, signal, pid: child.pid!, stderr, stdout, steps }); });
  });
}

/** The temp files in dir, with the pid in each name. */
export function tempFiles(dir: string): { name: string; pid: number }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => { const m = TEMP.exec(name); return m ? [{ name, pid: Number(m[1]) }] : []; });
}

export interface KillRunSpec {
  cwd: string;
  dir: string;                      // the output directory, relative to cwd
  fresh: (dir: string) => string[]; // arguments of a fresh run writing to dir
  resume: (latest: string) => string[];
  stepOf: (line: string) => number | null;
  /** Loads a checkpoint and checks its training state: its step and the best validation result so far. Throws when it is not valid. */
  check: (path: string) => Promise<{ step: number; best: number | null }>;
  finalStep: number;                // the step of the uninterrupted run's final latest
  stepsPerCheckpoint: number;       // about how many steps lie between checkpoints
  kills: number;                    // SIGKILLs wanted
  /** Checks the outcome of resuming the finished run. */
  finished: (c: Child) => void;
  /** Checks the finished run's checkpoints in dir (against the uninterrupted run's). */
  compare: (dir: string) => void;
  seed: number;
}

export interface KillRunStats {
  rounds: number; runs: number; kills: number; writeKills: Record<WriteStage, number>; stepKills: number; startupKills: number;
  /** outside kills that landed inside a checkpoint write (a temp file of the killed process remained) */
  stepKillsInWrite: number;
  checkpointsChecked: number; staleRemoved: number;
  /** kills that left best one checkpoint ahead of latest (between the two writes) */
  bestAhead: number;
}

/**
 * Kills and resumes the run of `spec` until it has finished, asserting the invariants
 * after every run, then spec.compare(dir). A run that finishes before `spec.kills` kills
 * (outside kills that land late let it run on) is followed by another in a new
 * directory, up to 4 runs.
 */
export async function killAndResume(spec: KillRunSpec): Promise<KillRunStats> {
  const rng = new Rng(spec.seed);
  const stats: KillRunStats = { rounds: 0, runs: 0, kills: 0, writeKills: { open: 0, half: 0, fsync: 0, rename: 0 }, stepKills: 0, startupKills: 0, stepKillsInWrite: 0, checkpointsChecked: 0, staleRemoved: 0, bestAhead: 0 };
  do {
    const dir = stats.rounds ? `${spec.dir}-${stats.rounds + 1}` : spec.dir;
    await killedRun(spec, dir, rng, stats);
    stats.rounds++;
    spec.compare(dir);
  } while (stats.kills < spec.kills && stats.rounds < 4);
  return stats;
}

async function killedRun(spec: KillRunSpec, dir: string, rng: Rng, stats: KillRunStats): Promise<void> {
  const abs = join(spec.cwd, dir), latest = join(dir, 'latest.safetensors'), fresh = spec.fresh(dir);
  let step = -1;
  for (let i = 0; ; i++) {
    assert.ok(i < spec.kills * 2 + 10, `no end after ${i} runs (${JSON.stringify(stats)})`);
    if (step === spec.finalStep) break;
    // a kill of each kind in turn, the write stages in turn; none once enough kills are done
    const attempt = stats.runs;
    const kind = stats.kills >= spec.kills ? 'none' : (['write', 'step', 'write', 'step', 'write', 'startup'] as const)[attempt % 6]!;
    const stage = WRITE_STAGES[Math.floor(attempt / 2) % 4]!;
    const before = tempFiles(abs);
    const o = kind === 'write' ? { fault: `*:${1 + rng.int(2)}:${stage}` }
      : kind === 'step' ? { killAtStep: Math.max(step, 0) + 1 + rng.int(spec.stepsPerCheckpoint), delayMs: rng.int(25) }
      : kind === 'startup' ? { killAfterMs: rng.int(400) } : {};
    const c = await runChild(step < 0 ? fresh : spec.resume(latest), spec.cwd, { ...o, stepOf: spec.stepOf });
    stats.runs++;
    const killed = c.signal === 'SIGKILL';
    if (!killed) assert.equal(c.code, 0, `run ${attempt} (${kind}) failed:\n${c.stderr}`);
    else {
      stats.kills++;
      if (kind === 'write') stats.writeKills[stage]++;
      else if (kind === 'step') stats.stepKills++;
      else stats.startupKills++;
    }
    // every checkpoint on disk loads, with a valid training state
    const files = existsSync(abs) ? readdirSync(abs).filter((f) => f.endsWith('.safetensors')) : [];
    const states = new Map<string, { step: number; best: number | null }>();
    for (const f of files) states.set(f, await spec.check(join(abs, f)));
    stats.checkpointsChecked += files.length;
    const L = states.get('latest.safetensors'), B = states.get('best.safetensors'), ls = L?.step;
    // best is written first: either it is the best as of latest, or one checkpoint ahead (killed between the two writes; the resumed run redoes both)
    if (B && L && B.step <= L.step) assert.equal(B.best, L.best, `best.safetensors (step ${B.step}) is not the best as of latest (step ${L.step})`);
    else if (B) assert.ok(B.step <= (ls ?? 0) + spec.stepsPerCheckpoint, `best at step ${B.step} is more than a checkpoint ahead of latest at ${ls}`);
    if (B && L && B.step > L.step) stats.bestAhead++;
    // temp files: only the just-killed process's; a run that got to training removed the older ones first
    const temps = tempFiles(abs), older = temps.filter((t) => t.pid !== c.pid);
    const stale = before.filter((t) => t.pid !== c.pid);
    if (c.steps > 0 || !killed) {
      assert.deepEqual(older, [], `stale temp files survived a restart: ${older.map((t) => t.name).join(', ')}`);
      if (stale.length) {
        assert.match(c.stderr, new RegExp(`removed ${stale.length} temp file\\(s\\) left by an interrupted checkpoint write`));
        stats.staleRemoved += stale.length;
      }
    }
    if (!killed) {
      assert.deepEqual(temps, [], 'a finished run leaves no temp file');
      assert.equal(ls, spec.finalStep, 'a finished run ends at the final step');
    }
    const own = temps.some((t) => t.pid === c.pid);
    if (kind === 'write' && killed) assert.equal(own, stage !== 'rename', `a kill at stage ${stage} ${stage === 'rename' ? 'leaves no' : 'leaves its'} temp file`);
    if (kind === 'step' && killed && own) stats.stepKillsInWrite++;
    if (ls !== undefined) {
      assert.ok(ls >= step, `latest went back from step ${step} to ${ls}`);
      step = ls;
    }
  }
  assert.deepEqual(tempFiles(abs), [], 'no temp file at the end');
  // and resuming the finished run once more changes nothing (a kill after its last write looks just like that)
  const snapshot = () => readdirSync(abs).sort().map((f) => [f, readFileSync(join(abs, f))] as const);
  const done = snapshot(), again = await runChild(spec.resume(latest), spec.cwd, { stepOf: spec.stepOf });
  spec.finished(again);
  assert.equal(again.steps, 0, 'no training step after the end');
  assert.deepEqual(snapshot(), done, 'the finished run\'s files are unchanged');
}
