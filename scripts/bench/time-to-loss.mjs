// Time to quality for `npm run bench -- --time-to-loss`: `rnnkit train --preset demo` and
// the same recipe in PyTorch (scripts/bench_torch.py), one after the other, until the
// validation loss reaches the target, on each corpus (tinyshakespeare and the Linux
// kernel C by default); both wall times and both validation curves.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  NOISY, ROOT, cpuCounters, currentLimits, log, machine, markdownTable, noiseText, parseTrainLine, run, torchImportable, torchPython, waitQuiet,
} from './lib.mjs';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TORCH_SCRIPT = join(ROOT, 'scripts', 'bench_torch.py');

/** `rnnkit train --preset demo` until the val loss reaches the target; seconds from the start of training. */
async function rnnkitTimeToLoss(corpus, backend, o) {
  const out = mkdtempSync(join(tmpdir(), 'rnnkit-ttl-'));
  const args = [CLI, 'train', corpus, '--preset', 'demo', '--time-limit', '0', '--steps', '1000000', '--eval-every', String(o.evalEvery),
    '--sample-length', '0', '--log-every', '1000000', '--out', out];
  if (backend) args.push('--backend', backend);
  let t0 = null, reached = null, best = Infinity, recipe = null, lastStep = 0, timer = null, usedBackend = backend;
  const evals = [];
  const started = performance.now();
  const a = cpuCounters();
  let noise = null;
  try {
    const r = await run(process.execPath, args, {
      limits: { timeoutS: o.capS + 600, stallS: currentLimits().stallS },
      onStderrLine(line, child) {
        const now = performance.now();
        const p = parseTrainLine(line);
        if (p?.kind === 'model') { Object.assign(recipe ??= {}, p.recipe); usedBackend = p.backend ?? usedBackend; }
        if (p?.kind === 'batch') {
          // training starts right after this line
          Object.assign(recipe ??= {}, p.recipe);
          t0 = now;
          timer = setTimeout(() => child.kill('SIGKILL'), o.capS * 1000);
        }
        const m = p?.kind === 'eval' ? p : null;
        if (m && t0 !== null) {
          const e = { step: m.step, epoch: m.epoch, seconds: +((now - t0) / 1000).toFixed(2), val_loss: m.val_loss };
          evals.push(e); lastStep = e.step; best = Math.min(best, e.val_loss);
          log(`  rnnkit${backend ? ` ${backend}` : ''}: step ${e.step} (epoch ${e.epoch}) ${e.seconds}s val ${e.val_loss}`);
          if (e.val_loss <= o.target && !reached) { reached = e; child.kill('SIGKILL'); }
        }
      },
    });
    if (!reached && t0 === null) return { error: r.stderr.trim().split('\n').pop() || `exit ${r.code}` };
    noise = noiseOver(a, cpuCounters(), r.cpu_s);
  } finally {
    clearTimeout(timer);
    rmSync(out, { recursive: true, force: true });
  }
  return {
    backend: usedBackend ?? 'default', target: o.target, reached: !!reached, seconds: reached?.seconds ?? null, step: reached?.step ?? null,
    best_val_loss: Number.isFinite(best) ? best : null, steps_run: lastStep, wall_s: +((performance.now() - started) / 1000).toFixed(1), recipe, evals, noise,
  };
}

async function torchTimeToLoss(corpus, recipe, o) {
  const args = [TORCH_SCRIPT, '--time-to-loss', corpus, '--target', String(o.target), '--cap', String(o.capS), '--eval-every', String(o.evalEvery),
    '--cell', recipe.cell, '--layers', String(recipe.layers), '--hidden', String(recipe.hidden), '--embedding', String(recipe.embedding),
    '--batch', String(recipe.batch), '--seq', String(recipe.seq), '--lr', String(recipe.lr), '--clip', String(recipe.clip), '--threads', '2'];
  const lines = [];
  const a = cpuCounters();
  const py = torchPython();
  const r = await run(py.python, args, {
    env: py.env, limits: { timeoutS: o.capS + 600, stallS: currentLimits().stallS },
    onStdoutLine(p) {
      if (!p.startsWith('{')) return;
      const j = JSON.parse(p);
      lines.push(j);
      if (j.kind === 'eval') log(`  pytorch: step ${j.step} (epoch ${j.epoch}) ${j.seconds}s val ${j.val_loss}`);
    },
  });
  const code = r.code, stderr = r.stderr;
  const env = lines.find((l) => l.kind === 'env');
  if (code === 3) return { void: true, env, error: env?.void_reason };
  if (code !== 0) return { env, error: stderr.trim().split('\n').pop() || `exit ${code}` };
  const curve = lines.filter((l) => l.kind === 'eval').map((l) => ({ step: l.step, epoch: l.epoch, seconds: l.seconds, val_loss: l.val_loss }));
  return { env, ...lines.find((l) => l.kind === 'time_to_loss'), evals: curve, noise: noiseOver(a, cpuCounters(), r.cpu_s) };
}

/** Cores other processes used between two cpuCounters() samples, given the child's CPU seconds. */
function noiseOver(a, b, childCpu) {
  if (!a || !b || childCpu == null) return null;
  const wall = b.t - a.t;
  return { wall_s: +wall.toFixed(1), other_cores: +Math.max(0, (b.busy - a.busy - childCpu) / wall).toFixed(2), steal_cores: +((b.steal - a.steal) / wall).toFixed(2) };
}

/** rnnkit's validation loss at wall time s: the last evaluation at or before s (null before its first). */
function lossAt(evals, s) {
  let v = null;
  for (const e of evals) if (e.seconds <= s) v = e.val_loss;
  return v;
}

/** One corpus: rnnkit on each backend, then PyTorch with rnnkit's recipe; the table and both curves. */
async function oneCorpus(corpus, backends, defaultBackend, withTorch, o) {
  const res = { corpus, rnnkit: [], torch: null };
  let recipe = null;
  for (const b of backends) {
    await waitQuiet(`rnnkit ${b ?? defaultBackend}`);
    const r = await rnnkitTimeToLoss(corpus, b, o);
    if (!b && r.backend === 'default') r.backend = defaultBackend;
    res.rnnkit.push(r);
    recipe ??= r.recipe;
  }
  const { DEFAULT_TRAIN } = await import(new URL('../../dist/src/train/trainer.js', import.meta.url).href);
  if (withTorch && recipe) {
    await waitQuiet('pytorch');
    res.torch = await torchTimeToLoss(corpus, { ...recipe, clip: DEFAULT_TRAIN.clip }, o);
  }
  const name = relative(ROOT, corpus);
  const out = [''];
  out.push(`Time to validation loss <= ${o.target} nats, ${name}, demo recipe ` +
    (recipe ? `(${recipe.cell} ${recipe.layers}x${recipe.hidden}, embedding ${recipe.embedding}, batch ${recipe.batch} x seq ${recipe.seq}, ${recipe.optimizer} lr ${recipe.lr}, clip ${DEFAULT_TRAIN.clip}), ` : '') +
    `validation every ${o.evalEvery} steps (streams, as rnnkit's streamLoss), seconds from the first step, cap ${o.capS / 60} min:`);
  out.push('');
  const row = (label, r) => r.error ? [label, r.void ? `void: ${r.error}` : `error: ${r.error}`, '-', '-', '-', '-']
    : [label, r.reached ? r.seconds.toFixed(1) : `not reached in ${Math.round(r.wall_s ?? o.capS)} s`, r.reached ? String(r.step) : '-',
      r.best_val_loss == null ? '-' : r.best_val_loss.toFixed(4), String(r.steps_run), noiseText(r) + (NOISY(r) ? '!' : '')];
  const rows = res.rnnkit.map((r) => row(`rnnkit (${r.backend})`, r));
  const t = res.torch;
  if (t) rows.push(row(`PyTorch ${t.env?.torch ?? ''} (${t.env?.blas ?? '?'}, 2 threads)`, t));
  out.push(...markdownTable(['run', 'seconds to target', 'at step', 'best val loss', 'steps run', 'other load, cores'], rows));
  for (const r of res.rnnkit) {
    if (t?.reached && r.reached) out.push(`rnnkit (${r.backend}) needs ${(r.seconds / t.seconds).toFixed(2)}x PyTorch's wall time (speed ratio rnnkit/PyTorch ${(t.seconds / r.seconds).toFixed(2)}x)`);
  }
  // both curves on PyTorch's evaluation times: is rnnkit at or below PyTorch at equal wall time?
  const r0 = res.rnnkit[0];
  if (t && !t.error && t.evals?.length && r0 && !r0.error) {
    const pts = t.evals.map((e) => ({ ...e, rnnkit: lossAt(r0.evals, e.seconds) }));
    const ahead = pts.filter((p) => p.rnnkit != null && p.rnnkit <= p.val_loss).length;
    res.curve = { points: pts.length, rnnkit_at_or_below: ahead };
    out.push('', `Validation curves at equal wall time (PyTorch's evaluation times; rnnkit ${r0.backend}: its latest evaluation by then):`, '');
    out.push(...markdownTable(['seconds', 'PyTorch step', 'PyTorch val', `rnnkit val`, 'rnnkit <= PyTorch'],
      pts.map((p) => [p.seconds.toFixed(1), String(p.step), p.val_loss.toFixed(4), p.rnnkit == null ? '-' : p.rnnkit.toFixed(4), p.rnnkit == null ? 'no' : p.rnnkit <= p.val_loss ? 'yes' : 'no'])));
    out.push('', `rnnkit at or below PyTorch at ${ahead} of ${pts.length} points.`);
    out.push('', `rnnkit's own curve: ${r0.evals.map((e) => `${e.seconds.toFixed(0)} s ${e.val_loss.toFixed(3)}`).join(', ')}`);
  }
  if (!withTorch) out.push('PyTorch: not run');
  process.stdout.write(out.join('\n') + '\n');
  return res;
}

export const TTL_CORPORA = ['data/tinyshakespeare.txt', 'data/linux/input.txt'];

export async function timeToLoss(opts) {
  const o = { target: Number(opts.target ?? 1.6), capS: Number(opts['cap-min'] ?? 20) * 60, evalEvery: Number(opts['eval-every'] ?? 100) };
  const corpora = (opts.corpora ? opts.corpora.split(',') : TTL_CORPORA).map((c) => join(ROOT, c));
  const m = machine();
  log(`time to val loss <= ${o.target} nats on ${corpora.map((c) => relative(ROOT, c)).join(', ')} (demo preset; cap ${o.capS / 60} min each), load ${m.loadavg_start.join(' ')}`);
  // the backend `rnnkit train` uses when none is named
  const info = (await run(process.execPath, [CLI, 'info'])).stdout;
  const defaultBackend = (/backend: (\S+)/.exec(info) ?? [])[1] ?? '?';
  const backends = opts.backends ? opts.backends.split(',') : [null];
  const withTorch = !opts['no-torch'] && torchImportable();
  const results = { machine: m, options: o, corpora: [] };
  for (const c of corpora) results.corpora.push(await oneCorpus(c, backends, defaultBackend, withTorch, o));
  results.machine.loadavg_end = loadavg().map((x) => +x.toFixed(2));
  process.stdout.write(`\nload average ${m.loadavg_start[0]} at start, ${results.machine.loadavg_end[0]} at end\n`);
  if (opts.save) writeFileSync(opts.save, JSON.stringify(results, null, 2) + '\n');
}
