#!/usr/bin/env node
// Memory over long runs: trains a small char LM for many steps (checkpoints, validation
// and samples included) and samples many characters from it, reading the child's
// resident set size from /proc as it goes. Linux only.
//   node scripts/long-run.mjs [--steps 100000] [--chars 1000000] [--backend native] [--text FILE]
// Prints RSS at points through each run and the spread after warm-up (docs/reliability.md).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/src/cli/main.js');
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : def; };
const steps = Number(opt('steps', '100000')), chars = Number(opt('chars', '1000000'));
const backend = opt('backend', 'native'), text = opt('text', join(root, 'data/tinyshakespeare.txt'));

/** VmRSS and VmHWM of a live process, in MiB (null once it has exited). */
function memory(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)[1]);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch { return null; }
}

/**
 * Runs the CLI; onChunk(text) sees its output (stdout and stderr) as it comes and returns a progress number
 * (steps, characters) or null. Every `every` units of progress the RSS is recorded.
 */
function run(argv, onChunk, every) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const points = [];
    let next = every, hwm = 0;
    const poll = setInterval(() => { const m = memory(child.pid); if (m) hwm = Math.max(hwm, m.hwm); }, 200);
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s) => { err = (err + s).slice(-4000); onData(s); });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => onData(s));
    const onData = (s) => {
      const at = onChunk(s);
      if (at !== null && at >= next) {
        const m = memory(child.pid);
        if (m) { points.push({ at, rss: m.rss }); hwm = Math.max(hwm, m.hwm); }
        next = (Math.floor(at / every) + 1) * every;
      }
    };
    child.on('error', reject);
    child.on('close', (code) => { clearInterval(poll); code === 0 ? resolve({ points, hwm }) : reject(new Error(`rnnkit ${argv[0]} exited ${code}: ${err}`)); });
  });
}

function report(title, unit, { points, hwm }) {
  const warm = points.filter((p) => p.at >= points[points.length - 1].at * 0.1);
  const rss = warm.map((p) => p.rss), lo = Math.min(...rss), hi = Math.max(...rss);
  const pick = [0.1, 0.25, 0.5, 0.75, 1].map((f) => warm.find((p) => p.at >= f * points[points.length - 1].at) ?? warm[warm.length - 1]);
  console.log(`\n${title}`);
  console.log(`| ${unit} | ${pick.map((p) => p.at.toLocaleString('en')).join(' | ')} |`);
  console.log(`|---|${pick.map(() => '---:').join('|')}|`);
  console.log(`| RSS (MiB) | ${pick.map((p) => p.rss.toFixed(1)).join(' | ')} |`);
  console.log(`after the first 10%: min ${lo.toFixed(1)}, max ${hi.toFixed(1)} MiB (spread ${(hi - lo).toFixed(1)} MiB, ${rss.length} readings); peak ${hwm.toFixed(1)} MiB`);
  return hi - lo;
}

const dir = mkdtempSync(join(tmpdir(), 'rnnkit-long-'));
try {
  const every = Math.max(1, Math.round(steps / 200));
  let lastStep = 0;
  const train = await run(['train', text, '--cell', 'lstm', '--layers', '1', '--hidden', '64', '--embedding', '16', '--batch', '16', '--seq', '32',
    '--steps', String(steps), '--eval-every', String(Math.max(1, Math.round(steps / 100))), '--sample-length', '200',
    '--log-every', String(every), '--backend', backend, '--out', dir], (s) => {
    for (const m of s.matchAll(/^step (\d+)\//gm)) lastStep = Number(m[1]);
    return lastStep;
  }, every);
  report(`rnnkit train, ${steps.toLocaleString('en')} steps (LSTM 1x64, B 16, T 32, ${backend}; latest/best checkpoints, validation and a 200-char sample every ${Math.round(steps / 100)} steps)`, 'step', train);

  let got = 0;
  const sample = await run(['sample', join(dir, 'latest.safetensors'), '--length', String(chars), '--seed', '1', '--backend', backend],
    (s) => (got += s.length), Math.max(1, Math.round(chars / 200)));
  report(`rnnkit sample, ${chars.toLocaleString('en')} characters`, 'characters', sample);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
