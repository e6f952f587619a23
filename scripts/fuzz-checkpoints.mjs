#!/usr/bin/env node
// Fuzzes the checkpoint reader (docs/reliability.md): mutated and truncated checkpoints of
// every model kind fed to readModel, each loaded model then used. Runs over the build
// (npm run build first): the harness is dist/test/checkpoint-fuzz.js.
//
//   node scripts/fuzz-checkpoints.mjs [--count 11000] [--seed 1] [--cli 200] [--case-ms 30000] [--save DIR]
//
// The cases run in a worker thread that the main thread watches: a case that does not
// finish within --case-ms is a hang, one over 5 s (or half of it) is slow (the worker is terminated and a new one continues).
// --cli N also runs every N-th case through the compiled CLI (`rnnkit info`), whose
// output must be exit 0, or exit 1 with one `rnnkit: <file>: ...` line. Cases that are
// bugs are saved to --save (default fuzz-failures/) to replay. Exit 1 if any case is a bug.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const HARNESS = new URL('../dist/test/checkpoint-fuzz.js', import.meta.url);
const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
if (!existsSync(fileURLToPath(HARNESS))) {
  console.error('fuzz-checkpoints: no build; run npm run build first');
  process.exit(1);
}
const { seedCheckpoints, caseMutant, runCase, tally, OUTCOMES, GOOD_OUTCOMES } = await import(HARNESS);
const GOOD = new Set(GOOD_OUTCOMES);

if (!isMainThread) {
  const { from, to, seed, caseMs } = workerData;
  const seeds = seedCheckpoints();
  for (let i = from; i < to; i++) {
    const r = runCase(seeds, seed, i, Math.min(5000, caseMs / 2));
    parentPort.postMessage({ i, ...r, bytes: GOOD.has(r.outcome) ? null : r.bytes, rss: process.memoryUsage().rss });
  }
  parentPort.postMessage({ done: true });
}

if (isMainThread) {
  const { values: o } = parseArgs({ options: {
    count: { type: 'string', default: '11000' }, seed: { type: 'string', default: '1' }, cli: { type: 'string', default: '200' },
    'case-ms': { type: 'string', default: '30000' }, save: { type: 'string', default: 'fuzz-failures' },
  } });
  const count = Number(o.count), seed = Number(o.seed), cliEvery = Number(o.cli), caseMs = Number(o['case-ms']);
  const seeds = seedCheckpoints();
  const mutant = (i) => caseMutant(seeds, seed, i); // case i, as the worker draws it
  const results = [], bugs = [];
  let maxRss = 0, slowest = { ms: 0 };
  const t0 = Date.now();

  // cases run in order; a hang costs the worker, and the next one starts after the hung case
  let next = 0;
  while (next < count) {
    next = await new Promise((resolve) => {
      let at = next, timer;
      const w = new Worker(new URL(import.meta.url), { workerData: { from: next, to: count, seed, caseMs } });
      const arm = () => { clearTimeout(timer); timer = setTimeout(() => { w.terminate(); const m = mutant(at); results.push({ i: at, kind: m.kind, outcome: 'hang' }); bugs.push({ ...m, i: at, outcome: 'hang', detail: `no answer in ${caseMs} ms` }); resolve(at + 1); }, caseMs); };
      arm();
      w.on('message', (m) => {
        if (m.done) { clearTimeout(timer); w.terminate(); resolve(count); return; }
        arm();
        at = m.i + 1;
        results.push(m);
        maxRss = Math.max(maxRss, m.rss);
        if (m.ms > slowest.ms) slowest = m;
        if (!GOOD.has(m.outcome)) bugs.push(m);
        if (results.length % 1000 === 0) process.stderr.write(`${results.length} cases, ${bugs.length} bugs, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      });
      w.on('error', (e) => { clearTimeout(timer); const m = mutant(at); results.push({ i: at, kind: m.kind, outcome: 'crash' }); bugs.push({ ...m, i: at, outcome: 'worker died', detail: String(e) }); resolve(at + 1); });
    });
  }

  // a sample through the CLI: the same bytes as a file
  let cliRuns = 0;
  const cliBad = [];
  if (cliEvery > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'rnnkit-fuzz-'));
    try {
      for (let i = 0; i < count; i += cliEvery) {
        const m = mutant(i), file = join(dir, 'case.safetensors');
        writeFileSync(file, m.bytes);
        const r = spawnSync(process.execPath, [CLI, 'info', file], { encoding: 'utf8', timeout: caseMs });
        cliRuns++;
        const ok = (r.status === 0 && r.stderr === '') || (r.status === 1 && r.stdout === '' && new RegExp(`^rnnkit: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [^\\n]*\\n$`).test(r.stderr) && !/internal error/.test(r.stderr));
        if (!ok) cliBad.push({ i, kind: m.kind, what: m.what, status: r.status, signal: r.signal, stderr: r.stderr.slice(0, 300) });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const t = tally(results);
  const cols = OUTCOMES.filter((c) => [...t.values()].some((row) => row.get(c)));
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const out = [line(['mutation kind', ...cols, 'total']), line(['---', ...cols.map(() => '---:'), '---:'])];
  for (const [kind, row] of t) out.push(line([kind, ...cols.map((c) => row.get(c) ?? 0), [...row.values()].reduce((a, b) => a + b, 0)]));
  const totals = cols.map((c) => [...t.values()].reduce((s, row) => s + (row.get(c) ?? 0), 0));
  out.push(line(['**all**', ...totals, results.length]));
  console.log(out.join('\n'));
  console.log(`\n${results.length} cases (seed ${seed}) in ${((Date.now() - t0) / 1000).toFixed(1)} s; slowest case ${slowest.ms.toFixed(0)} ms (${slowest.kind}: ${slowest.what}); peak RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
  if (cliEvery > 0) console.log(`CLI (rnnkit info): ${cliRuns} cases, ${cliBad.length} without the exit-0-or-one-line-error contract`);
  for (const b of cliBad.slice(0, 20)) console.log(`  CLI case ${b.i} ${b.kind} (${b.what}): status ${b.status} ${b.signal ?? ''} ${JSON.stringify(b.stderr)}`);
  if (bugs.length) {
    mkdirSync(o.save, { recursive: true });
    for (const b of bugs) {
      console.log(`BUG case ${b.i} ${b.kind ?? ''} (${b.seed ?? ''}: ${b.what ?? ''}): ${b.outcome}: ${b.detail}`);
      if (b.bytes) writeFileSync(join(o.save, `case-${b.i}.safetensors`), b.bytes);
    }
  }
  process.exitCode = bugs.length || cliBad.length ? 1 : 0;
}
