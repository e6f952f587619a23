// Task shapes for `npm run bench`: one training epoch of row-MNIST LSTM-128 and of the
// word-level sentiment classifier (variable lengths, packed), rnnkit
// (scripts/bench-tasks.mjs) and PyTorch (scripts/bench_tasks_torch.py) on the same
// batches, one process each, alternating. PyTorch is the pip wheel in .venv-torch when
// there is one (as users install it: MKL and oneDNN), else Debian's python3-torch.
import { join } from 'node:path';
import {
  NOISY, ROOT, fmtRatio, jsonLines, log, markdownTable, met, noiseText, run, torchPython, withNoise,
} from './lib.mjs';

export const TASKS = ['mnist-rows', 'sentiment'];
const TARGET = 1.0; // rnnkit's epoch at least as fast as PyTorch's

async function rnnkitTask(task, backend, epochs) {
  const r = await run(process.execPath, [join(ROOT, 'scripts', 'bench-tasks.mjs'), '--task', task, '--backend', backend, '--epochs', String(epochs)]);
  if (r.code !== 0) return { error: (r.stderr.trim() || `exit ${r.code}`).split('\n').pop(), cpu_s: r.cpu_s };
  return { ...jsonLines(r.stdout).pop(), cpu_s: r.cpu_s };
}

async function torchTask(task, epochs) {
  const { python, env, label } = torchPython();
  const r = await run(python, [join(ROOT, 'scripts', 'bench_tasks_torch.py'), '--task', task, '--epochs', String(epochs), '--threads', '2'], { env });
  if (r.code !== 0) return { error: (r.stderr.trim() || `exit ${r.code}`).split('\n').pop(), cpu_s: r.cpu_s };
  return { ...jsonLines(r.stdout).pop(), python: label, cpu_s: r.cpu_s };
}

/** Measures every task on every backend and PyTorch; prints the table; returns the results. */
export async function tasksSpeed(backends, defaultBackend, { quick = false, torch = true } = {}) {
  const epochs = quick ? 2 : 4, rows = {};
  let torchInfo = null;
  for (const task of TASKS) {
    const row = { rnnkit: {}, torch: null };
    for (const b of backends) {
      const r = await withNoise(() => rnnkitTask(task, b, epochs), `${task} ${b}`);
      row.rnnkit[b] = r;
      log(r.error ? `  ${task} ${b}: ${r.error}` : `  ${task} ${b}: ${r.epoch_s.toFixed(2)} s/epoch (${Math.round(r.examples_per_s)} ex/s), other load ${noiseText(r)} cores`);
    }
    if (torch) {
      const t = await withNoise(() => torchTask(task, epochs), `${task} pytorch`);
      row.torch = t;
      if (!t.error) torchInfo ??= { version: t.torch_version, python: t.python, threads: t.threads, config: t.config };
      log(t.error ? `  ${task} pytorch: ${t.error}` : `  ${task} pytorch: ${t.epoch_s.toFixed(2)} s/epoch, other load ${noiseText(t)} cores`);
    }
    rows[task] = row;
  }
  const out = ['', `Task shapes: one training epoch (best of ${epochs - 1} after a warm-up epoch), ratio = PyTorch epoch time / ${defaultBackend} epoch time:`, ''];
  if (torchInfo) out.push(`PyTorch ${torchInfo.version} from ${torchInfo.python}, ${torchInfo.threads} threads`, '');
  const head = ['task', ...backends.map((b) => `${b} s/epoch`), 'PyTorch s/epoch', `${defaultBackend} vs PyTorch`, 'target', 'met', `other load (${[...backends, 'PyTorch'].join(' / ')})`];
  const table = TASKS.map((task) => {
    const row = rows[task], d = row.rnnkit[defaultBackend], t = row.torch;
    const ratio = d && !d.error && t && !t.error ? t.epoch_s / d.epoch_s : null;
    return [task, ...backends.map((b) => (row.rnnkit[b]?.error ? 'error' : row.rnnkit[b]?.epoch_s.toFixed(2))), t ? (t.error ? 'error' : t.epoch_s.toFixed(2)) : '-',
      fmtRatio(ratio), `>= ${TARGET}x`, met(ratio, TARGET, NOISY(d) || NOISY(t)), [...backends.map((b) => row.rnnkit[b]), t].map((r) => noiseText(r) + (NOISY(r) ? '!' : '')).join(' / ')];
  });
  out.push(...markdownTable(head, table));
  out.push('', 'mnist-rows: LSTM 128 over 28 rows of 28 pixels, 9,000 images, batch 64; sentiment: embedding 64, LSTM 128, 2,400 sentences, batch 32, packed (PyTorch: pack_padded_sequence).');
  if (torchInfo) out.push('', 'PyTorch build (torch.__config__.show()):', '', '```', torchInfo.config.trim(), '```');
  process.stdout.write(out.join('\n') + '\n');
  return { rows, torch: torchInfo, epochs };
}
