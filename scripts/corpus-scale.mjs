#!/usr/bin/env node
// Corpora larger than memory (docs/reliability.md): peak RSS and time to the first
// training step of `rnnkit train` on generated 10 MB / 100 MB / 1 GB texts and of
// `rnnkit classify train` on a generated 1,000,000-line TSV, next to PyTorch's usual
// recipe for the same (scripts/corpus_scale_torch.py: read the file into memory, ids
// as a Python list, then a tensor).
//
//   node scripts/corpus-scale.mjs [--sizes 10M,100M,1G] [--tsv-lines 1000000] [--runs 2]
//        [--python PATH] [--no-torch] [--torch-rss-cap-gb 10] [--dir DIR] [--keep] [--cli PATH]
//
// Every process is spawned directly; when its first-step line appears on its output,
// the harness notes the time since spawn and reads VmHWM (peak RSS so far) from
// /proc/<pid>/status, then kills it. Time includes starting the runtime (node or
// python + torch import). PyTorch: --python, else RNNKIT_TORCH_PYTHON, else
// .venv-torch (npm run bench:setup). A PyTorch run whose RSS passes --torch-rss-cap-gb
// is killed and reported as "> cap" (its recipe needs ~17 bytes per character).
// The corpora are deterministic (seeded) and go to a temp directory, removed at the end
// unless --keep.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, log, machine, markdownTable, torchPython } from './bench/lib.mjs';

const { values: o } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10M,100M,1G' }, 'tsv-lines': { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '2' }, python: { type: 'string' }, 'no-torch': { type: 'boolean' },
    'torch-rss-cap-gb': { type: 'string', default: '10' }, dir: { type: 'string' }, keep: { type: 'boolean' },
    cli: { type: 'string', default: join(ROOT, 'dist', 'src', 'cli', 'main.js') }, help: { type: 'boolean', short: 'h' },
  },
});
if (o.help) {
  process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 19).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}

const UNITS = { K: 1e3, M: 1e6, G: 1e9 };
const sizeOf = (s) => Math.round(parseFloat(s) * (UNITS[s.slice(-1).toUpperCase()] ?? 1));
const sizes = o.sizes ? o.sizes.split(',').filter(Boolean) : [];
const tsvLines = Number(o['tsv-lines']), runs = Number(o.runs), capKb = Number(o['torch-rss-cap-gb']) * 2 ** 20;

// ---- deterministic corpora ----

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes lines from next() until the file holds at least `bytes` bytes (or `lines` lines). */
function writeLines(path, next, { bytes = Infinity, lines = Infinity }) {
  const fd = openSync(path, 'w');
  let size = 0, n = 0, buf = '';
  while (size < bytes && n < lines) {
    const l = next() + '\n';
    buf += l; size += Buffer.byteLength(l); n++;
    if (buf.length > 1 << 22) { writeSync(fd, buf); buf = ''; }
  }
  writeSync(fd, buf);
  closeSync(fd);
  return size;
}

/** Lines of tinyshakespeare drawn at random (seeded): its 65-character vocabulary, play-like text. */
function generateText(path, bytes, seed) {
  const lines = readFileSync(join(ROOT, 'data', 'tinyshakespeare.txt'), 'utf8').split('\n');
  const rnd = mulberry32(seed);
  return writeLines(path, () => lines[Math.floor(rnd() * lines.length)], { bytes });
}

/** label<TAB>text: a random sentiment sentence (data/sentiment) with a fifth of its words replaced by random words. */
function generateTsv(path, lines, seed) {
  const rows = readFileSync(join(ROOT, 'data', 'sentiment', 'train.tsv'), 'utf8').split('\n').filter(Boolean).map((l) => {
    const tab = l.indexOf('\t');
    return { label: l.slice(0, tab), words: l.slice(tab + 1).split(/\s+/).filter(Boolean) };
  });
  const all = rows.flatMap((r) => r.words), rnd = mulberry32(seed);
  return writeLines(path, () => {
    const r = rows[Math.floor(rnd() * rows.length)];
    return `${r.label}\t${r.words.map((w) => (rnd() < 0.2 ? all[Math.floor(rnd() * all.length)] : w)).join(' ')}`;
  }, { lines });
}

// ---- one measurement ----

function vmHwmKb(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch { return null; }
}

/**
 * Spawns cmd; resolves when a line of its output matches `done` (time since spawn, peak
 * RSS then; the process is killed), or when it exits or passes capKbLimit (an error).
 */
function measure(cmd, args, done, { env = process.env, capKbLimit = Infinity } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now(), child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let result = null, tail = '', peak = 0;
    const finish = (r) => { if (!result) { result = r; clearInterval(poll); child.kill('SIGKILL'); } };
    const poll = setInterval(() => {
      peak = Math.max(peak, vmHwmKb(child.pid) ?? 0);
      if (peak > capKbLimit) finish({ error: `over the ${o['torch-rss-cap-gb']} GB cap after ${((performance.now() - t0) / 1000).toFixed(1)} s`, rss_mb: peak / 1024, capped: true });
    }, 50);
    const onData = (d) => {
      tail = (tail + d).slice(-4000);
      for (const line of tail.split('\n')) {
        if (!result && done.test(line)) {
          const s = (performance.now() - t0) / 1000, kb = vmHwmKb(child.pid);
          finish({ ttfs_s: s, rss_mb: Math.max(kb ?? 0, peak) / 1024 });
        }
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.on('close', (code) => {
      finish({ error: `exit ${code}: ${tail.trim().split('\n').pop()}` });
      resolve(result);
    });
  });
}

/** The best of `runs` runs: least time, and the largest peak RSS seen (RSS hardly varies). */
async function best(label, fn) {
  let out = null;
  for (let i = 0; i < runs; i++) {
    const r = await fn();
    log(`  ${label} run ${i + 1}: ${r.error ?? `${r.ttfs_s.toFixed(2)} s to the first step, peak RSS ${Math.round(r.rss_mb)} MB`}`);
    if (r.error) return r;
    out = out ? { ttfs_s: Math.min(out.ttfs_s, r.ttfs_s), rss_mb: Math.max(out.rss_mb, r.rss_mb) } : r;
  }
  return out;
}

// ---- main ----

const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'rnnkit-corpus-scale-'));
const torch = o['no-torch'] ? null : (() => {
  const t = torchPython();
  const python = o.python ?? t.python;
  if (!existsSync(python)) { log(`no PyTorch at ${python} (npm run bench:setup, or --python); measuring rnnkit only`); return null; }
  const env = { ...t.env, OMP_NUM_THREADS: '2' };
  const version = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { env, encoding: 'utf8' }).stdout.trim();
  return { python, env, version };
})();
const TORCH_SCRIPT = join(ROOT, 'scripts', 'corpus_scale_torch.py');
const LM = ['--layers', '2', '--hidden', '256', '--embedding', '64', '--batch', '32', '--seq', '64', '--steps', '1', '--log-every', '1', '--sample-length', '0'];
const rows = [];
const mb = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en'));
const cell = (r) => (r.error ? (r.capped ? `> ${Math.round(r.rss_mb).toLocaleString('en')}` : 'error') : mb(r.rss_mb));
const secs = (r) => (r.error ? (r.capped ? '-' : 'error') : r.ttfs_s.toFixed(1));

try {
  for (const s of sizes) {
    const path = join(dir, `text-${s}.txt`), bytes = generateText(path, sizeOf(s), 1);
    log(`${path}: ${bytes.toLocaleString('en')} bytes`);
    const ours = await best(`rnnkit train ${s}`, () => measure(process.execPath, [o.cli, 'train', path, ...LM, '--out', join(dir, 'ck')], /^step 1\/1 \|/));
    const theirs = torch ? await best(`pytorch ${s}`, () => measure(torch.python, [TORCH_SCRIPT, 'text', path], /^step 1$/, { env: torch.env, capKbLimit: capKb })) : null;
    rows.push([`text ${s} (${bytes.toLocaleString('en')} bytes)`, cell(ours), theirs ? cell(theirs) : '-', secs(ours), theirs ? secs(theirs) : '-']);
    if (!o.keep) rmSync(path); // a 1 GB file need not wait for the end
  }
  if (tsvLines > 0) {
    const path = join(dir, 'labelled.tsv'), bytes = generateTsv(path, tsvLines, 2);
    log(`${path}: ${tsvLines.toLocaleString('en')} lines, ${bytes.toLocaleString('en')} bytes`);
    const ours = await best('rnnkit classify train', () => measure(process.execPath, [o.cli, 'classify', 'train', path, '--epochs', '1', '--log-every', '1', '--out', join(dir, 'ck-tsv')], /^epoch [\d.]+\/\d+ \| step 1 \|/));
    const theirs = torch ? await best('pytorch tsv', () => measure(torch.python, [TORCH_SCRIPT, 'tsv', path], /^step 1$/, { env: torch.env, capKbLimit: capKb })) : null;
    rows.push([`TSV ${tsvLines.toLocaleString('en')} lines (${bytes.toLocaleString('en')} bytes)`, cell(ours), theirs ? cell(theirs) : '-', secs(ours), theirs ? secs(theirs) : '-']);
  }
} finally {
  if (!o.keep && !o.dir) rmSync(dir, { recursive: true, force: true });
}

const m = machine();
process.stdout.write([
  `${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB, load average ${m.loadavg_start.join(' ')} at the end; Node ${m.node}${torch ? `; PyTorch ${torch.version} (${torch.python === join(ROOT, '.venv-torch', 'bin', 'python') ? '.venv-torch' : torch.python}), 2 threads` : ''}; best of ${runs} runs`,
  '',
  ...markdownTable(['corpus', 'rnnkit peak RSS (MB)', 'PyTorch peak RSS (MB)', 'rnnkit s to first step', 'PyTorch s to first step'], rows),
  '',
].join('\n'));
