// Exact evaluation for `npm run bench`: `rnnkit eval` of the demo model (2x256 LSTM,
// embedding 64) over a 234,913-character text in one stream from the zero state, against
// PyTorch's reference text_loss on the same checkpoint and text (scripts/bench_eval_torch.py),
// both timed without start-up. The losses must agree: a faster wrong answer counts for nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NOISY, ROOT, fmtRatio, jsonLines, log, markdownTable, met, noiseText, run, torchPython, withNoise } from './lib.mjs';

const CLI = join(ROOT, 'dist/src/cli/main.js');
const CHARS = 234913; // the validation text: the end of tinyshakespeare
const TARGET = 1.5;

async function rnnkitEval(ckpt, text, backend) {
  const r = await run(process.execPath, [CLI, 'eval', ckpt, text, '--json', '--backend', backend]);
  if (r.code !== 0) return { error: (r.stderr.trim() || `exit ${r.code}`).split('\n').pop(), cpu_s: r.cpu_s };
  return { ...jsonLines(r.stdout).pop(), cpu_s: r.cpu_s };
}

async function torchEval(ckpt, text) {
  const { python, env, label } = torchPython();
  const r = await run(python, [join(ROOT, 'scripts', 'bench_eval_torch.py'), ckpt, text, '--threads', '2'], { env });
  if (r.code !== 0) return { error: (r.stderr.trim() || `exit ${r.code}`).split('\n').pop(), cpu_s: r.cpu_s };
  return { ...jsonLines(r.stdout).pop(), python: label, cpu_s: r.cpu_s };
}

/** Measures the exact evaluation on each non-reference backend and PyTorch; prints the table. */
export async function evalSpeed(backends, defaultBackend, { torch = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'rnnkit-bench-eval-'));
  try {
    const corpus = join(ROOT, 'data', 'tinyshakespeare.txt'), text = join(dir, 'val.txt');
    writeFileSync(text, readFileSync(corpus, 'utf8').slice(-CHARS));
    // a checkpoint of the demo model (50 steps: the speed does not depend on the weights)
    const t = await run(process.execPath, [CLI, 'train', corpus, '--preset', 'demo', '--steps', '50', '--time-limit', '0', '--eval-every', '1000000',
      '--sample-length', '0', '--out', dir]);
    if (t.code !== 0) { log(`  eval: could not train the checkpoint: ${t.stderr.trim().split('\n').pop()}`); return null; }
    const ckpt = join(dir, 'latest.safetensors'), rows = {};
    for (const b of backends.filter((x) => x !== 'ref')) {
      const r = await withNoise(() => rnnkitEval(ckpt, text, b), `eval ${b}`);
      rows[b] = r;
      log(r.error ? `  eval ${b}: ${r.error}` : `  eval ${b}: ${r.seconds.toFixed(2)} s, loss ${r.loss_nats.toFixed(6)}, other load ${noiseText(r)} cores`);
    }
    const pt = torch ? await withNoise(() => torchEval(ckpt, text), 'eval pytorch') : null;
    if (pt) log(pt.error ? `  eval pytorch: ${pt.error}` : `  eval pytorch: ${pt.seconds.toFixed(2)} s, loss ${pt.loss_nats.toFixed(6)}, other load ${noiseText(pt)} cores`);
    const out = ['', `Exact evaluation: \`rnnkit eval\` of the demo model (2x256 LSTM, E 64) over ${CHARS.toLocaleString('en')} characters in one stream, seconds (ratio = PyTorch / rnnkit):`, ''];
    const d = rows[defaultBackend], ratio = d && !d.error && pt && !pt.error ? pt.seconds / d.seconds : null;
    const agree = (r) => (r && !r.error && pt && !pt.error ? Math.abs(r.loss_nats - pt.loss_nats).toExponential(1) : '-');
    const names = Object.keys(rows);
    out.push(...markdownTable(
      ['text', ...names.map((b) => `${b} s`), 'PyTorch text_loss s', `${defaultBackend} vs PyTorch`, 'target', 'met', `|loss diff| (${names.join(' / ')})`, `other load (${[...names, 'PyTorch'].join(' / ')})`],
      [[`${CHARS.toLocaleString('en')} chars`, ...names.map((b) => (rows[b].error ? 'error' : rows[b].seconds.toFixed(2))), pt ? (pt.error ? 'error' : pt.seconds.toFixed(2)) : '-',
        fmtRatio(ratio), `>= ${TARGET}x`, met(ratio, TARGET, NOISY(d) || NOISY(pt)), names.map((b) => agree(rows[b])).join(' / '),
        [...names.map((b) => rows[b]), pt].map((r) => noiseText(r) + (NOISY(r) ? '!' : '')).join(' / ')]]));
    process.stdout.write(out.join('\n') + '\n');
    return { chars: CHARS, rnnkit: rows, torch: pt };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
