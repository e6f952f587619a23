// Measurement helpers shared by the benchmark scripts (scripts/bench.mjs): child
// processes with time and stall limits, whole-machine CPU accounting (how much other
// load a number was measured under), waiting for a quiet machine, and table output.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { openblasCoreFor } from '../../dist/src/backend/native/index.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PYTHON = '/usr/bin/python3';
export const OPENMP_DIR = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

export const log = (s) => process.stderr.write(s + '\n');
export const fmtInt = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en'));
export const fmtRatio = (x) => (x == null || !Number.isFinite(x) ? '-' : `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}x`);

/** CPU seconds (user + system) a process has used so far, or null once it is gone. */
export function cpuOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15)
  } catch { return null; }
}

let LIMITS = { timeoutS: 15 * 60, stallS: 90 };
let RETRY_NOISY = 2, WAIT_QUIET_S = 60;

/** Limits of every child, and the noise policy: measure again up to retryNoisy times, wait up to waitQuietS for a quiet machine. */
export const currentLimits = () => LIMITS;

export function configure({ limits, retryNoisy, waitQuietS }) {
  LIMITS = limits; RETRY_NOISY = retryNoisy; WAIT_QUIET_S = waitQuietS;
}

/**
 * Runs a command, resolving with its exit code and output. A child that runs past
 * timeoutS, or uses no CPU for stallS (a hung worker, say), is killed and reported.
 */
export function run(cmd, args, { env, onStderrLine, onStdoutLine, captureStderr = true, limits = LIMITS } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: env ?? process.env, stdio: ['ignore', 'pipe', captureStderr ? 'pipe' : 'inherit'] });
    let stdout = '', stderr = '', partial = '', partialOut = '', killed = null;
    const start = Date.now();
    let lastCpu = -1, lastMove = start;
    const watch = setInterval(() => {
      const now = Date.now(), cpu = cpuOf(child.pid);
      if (cpu !== null && cpu !== lastCpu) { lastCpu = cpu; lastMove = now; }
      if (limits.timeoutS && now - start > limits.timeoutS * 1000) killed = `timed out after ${limits.timeoutS} s`;
      else if (limits.stallS && now - lastMove > limits.stallS * 1000) killed = `stalled: no CPU use for ${limits.stallS} s`;
      if (killed) { clearInterval(watch); child.kill('SIGKILL'); }
    }, 1000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (!onStdoutLine) return;
      partialOut += d;
      const lines = partialOut.split('\n');
      partialOut = lines.pop();
      for (const l of lines) onStdoutLine(l, child);
    });
    if (captureStderr) {
      child.stderr.setEncoding('utf8').on('data', (d) => {
        stderr += d;
        if (!onStderrLine) return;
        partial += d;
        const lines = partial.split('\n');
        partial = lines.pop();
        for (const l of lines) onStderrLine(l, child);
      });
    }
    child.on('error', (e) => { clearInterval(watch); reject(e); });
    child.on('close', (code, signal) => {
      clearInterval(watch);
      if (killed) stderr += `\n${killed}`;
      resolve({ code, signal, stdout, stderr, child, killed, cpu_s: lastCpu >= 0 ? lastCpu : null });
    });
  });
}

/** Whole-machine CPU counters (seconds) from /proc/stat: busy = user+nice+system+irq+softirq; steal = taken by the hypervisor. */
export function cpuCounters() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return { busy: (user + nice + system + irq + softirq) / 100, steal: (steal ?? 0) / 100, t: performance.now() / 1000 };
  } catch { return null; }
}

/**
 * Runs one measurement and adds what the rest of the machine did meanwhile: `other_cores`
 * = CPU used by other processes (machine busy time minus the child's own CPU seconds,
 * over wall time), `steal_cores` = time the hypervisor gave to other VMs. Either above
 * ~0.2 on 2 cores makes that number unreliable.
 */
export async function withNoise(fn, label) {
  let best = null;
  for (let attempt = 0; attempt <= RETRY_NOISY; attempt++) {
    if (attempt) log(`  ${label}: noisy (other load ${noiseText(best)} cores), measuring again (${attempt}/${RETRY_NOISY})`);
    await waitQuiet(label);
    const a = cpuCounters();
    const r = await fn();
    const b = cpuCounters();
    if (a && b && r && !r.error && typeof r.cpu_s === 'number') {
      const wall = b.t - a.t;
      r.noise = { wall_s: +wall.toFixed(1), other_cores: +Math.max(0, (b.busy - a.busy - r.cpu_s) / wall).toFixed(2), steal_cores: +((b.steal - a.steal) / wall).toFixed(2) };
    }
    if (!best || (r.noise && (!best.noise || noiseLevel(r) < noiseLevel(best)))) best = { ...r, attempts: attempt + 1 };
    else best.attempts = attempt + 1;
    if (r.error || !NOISY(r)) break;
  }
  return best;
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to WAIT_QUIET_S) until other processes use under 0.2 cores over a 2 s sample. */
export async function waitQuiet(label) {
  const until = Date.now() + WAIT_QUIET_S * 1000;
  let said = false;
  for (;;) {
    const a = cpuCounters();
    await sleep(2000);
    const b = cpuCounters();
    if (!a || !b) return;
    const busy = (b.busy - a.busy + b.steal - a.steal) / (b.t - a.t);
    if (busy < 0.2 || Date.now() >= until) {
      if (said) log(`  ${label}: ${busy < 0.2 ? 'quiet now' : `still ${busy.toFixed(2)} cores busy, measuring anyway`}`);
      return;
    }
    if (!said) log(`  ${label}: machine busy (${busy.toFixed(2)} cores used by others), waiting up to ${WAIT_QUIET_S} s`);
    said = true;
  }
}
export const noiseLevel = (r) => (r?.noise ? r.noise.other_cores + r.noise.steal_cores : Infinity);
export const NOISY = (r) => !!r?.noise && (r.noise.other_cores > 0.2 || r.noise.steal_cores > 0.2);
export const noiseText = (r) => (r?.noise ? `${r.noise.other_cores}${r.noise.steal_cores > 0.05 ? `+${r.noise.steal_cores}st` : ''}` : '-');

export const jsonLines = (s) => s.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

/** The OpenBLAS kernels rnnkit's native backend picks for this CPU (the same for Debian's torch, so neither runs generic ones). */
function openblasCore() {
  try {
    const flags = new Set((readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? '').split(':')[1]?.trim().split(/\s+/));
    return openblasCoreFor(flags);
  } catch { return null; }
}

export function torchEnv() {
  const ld = [OPENMP_DIR, ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)].join(':');
  const core = process.env.OPENBLAS_CORETYPE ?? openblasCore();
  return { ...process.env, LD_LIBRARY_PATH: ld, OMP_NUM_THREADS: '2', ...(core ? { OPENBLAS_CORETYPE: core } : {}) };
}

/** The pip wheel's virtual environment: the baseline (BENCHMARKS.md, "Baseline rules"). */
export const VENV_PYTHON = join(ROOT, '.venv-torch', 'bin', 'python');
export const VENV_SETUP = 'python3 -m venv .venv-torch && .venv-torch/bin/pip install torch numpy';

/**
 * The PyTorch to measure against: RNNKIT_TORCH_PYTHON if set, else the pip wheel in
 * .venv-torch, else Debian's python3-torch (an extra reference, not the baseline).
 */
export function torchPython() {
  const forced = process.env.RNNKIT_TORCH_PYTHON;
  const python = forced || (existsSync(VENV_PYTHON) ? VENV_PYTHON : PYTHON);
  const debian = python === PYTHON;
  const env = debian ? torchEnv() : { ...process.env, OMP_NUM_THREADS: '2', RNNKIT_BENCH_NO_REEXEC: '1' };
  return { python, env, label: debian ? `${PYTHON} (Debian python3-torch)` : python === VENV_PYTHON ? '.venv-torch (pip wheel)' : python };
}

export function torchImportable() {
  const { python, env } = torchPython();
  if (!existsSync(python)) return false;
  return spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', env }).status === 0;
}

export function machine() {
  const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
  const field = (name) => (lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, 'm')) ?? [])[1]?.trim();
  return {
    cpu: field('Model name') ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    hypervisor: field('Hypervisor vendor') ?? null,
    node: process.versions.node,
    loadavg_start: loadavg().map((x) => +x.toFixed(2)),
  };
}

export function met(ratio, target, noisy) {
  if (ratio == null || !target) return '-';
  return (ratio >= target ? 'yes' : 'no') + (noisy ? ' (noisy)' : '');
}

export function markdownTable(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join(' | ')} |`;
  return [line(head), `|${w.map((n, i) => (i === 0 ? '-'.repeat(n + 2) : '-'.repeat(n + 1) + ':')).join('|')}|`, ...rows.map(line)];
}

/**
 * One stderr line of `rnnkit train`, as --time-to-loss reads it: the model header
 * (recipe and backend), the batch line (training starts right after it) or a
 * validation line; null for anything else. test/bench-parse.test.ts runs the real CLI
 * through it, so a change of the log format fails a test instead of the benchmark.
 */
export function parseTrainLine(line) {
  let m = /^rnnkit train: .*\), (\S+) (\d+)x(\d+), embedding (\d+),.*?(?:, backend (\S+))?$/.exec(line);
  if (m) return { kind: 'model', recipe: { cell: m[1], layers: +m[2], hidden: +m[3], embedding: +m[4] }, backend: m[5] ?? null };
  m = /^\s+batch (\d+), TBPTT\(k1=(\d+), k2=(\d+)\), (\S+) lr ([\d.e-]+),/.exec(line);
  if (m) return { kind: 'batch', recipe: { batch: +m[1], seq: +m[2], bptt: +m[3], optimizer: m[4], lr: +m[5] } };
  m = /^step (\d+) \| epoch ([\d.]+) \| .*val loss ([\d.]+) nats/.exec(line);
  if (m) return { kind: 'eval', step: +m[1], epoch: +m[2], val_loss: +m[3] };
  return null;
}
