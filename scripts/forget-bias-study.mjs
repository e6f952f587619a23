// Which LSTM forget-gate bias should `rnnkit train` start from? Trains the same recipe
// from several seeds with each setting (and PyTorch's default init as a reference) and
// compares the validation curves step by step. The evidence behind the default
// (docs/training.md, "Forget-gate bias"):
//
//   node scripts/forget-bias-study.mjs [--corpora a.txt,b.txt] [--seeds 1,2,3] [--steps 1200]
//        [--settings 1,none] [--no-torch] [--save FILE]
//
// Recipe (issue 9): 2x256 LSTM, embedding 64, batch 32, 64 steps, Adam 2e-3, clip 5.
// Per-step curves do not depend on speed, so the machine need not be quiet.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ROOT, jsonLines, log, markdownTable, parseTrainLine, run, torchImportable, torchPython } from './bench/lib.mjs';

const CLI = join(ROOT, 'dist/src/cli/main.js');
const RECIPE = { layers: 2, hidden: 256, embedding: 64, batch: 32, seq: 64, lr: 0.002, clip: 5 };
const { values: o } = parseArgs({
  options: {
    corpora: { type: 'string', default: 'data/tinyshakespeare.txt,data/linux/input.txt' },
    seeds: { type: 'string', default: '1,2,3' },
    steps: { type: 'string', default: '1200' },
    'eval-every': { type: 'string', default: '100' },
    settings: { type: 'string', default: '1,none' },
    'no-torch': { type: 'boolean', default: false },
    save: { type: 'string' },
  },
});
const steps = +o.steps, every = +o['eval-every'], seeds = o.seeds.split(',').map(Number);
const limits = { timeoutS: 4 * 3600, stallS: 600 };

/** Validation curve [{step, val_loss}] of one rnnkit run. */
async function rnnkitCurve(corpus, seed, forgetBias) {
  const args = [CLI, 'train', corpus, '--cell', 'lstm', '--layers', String(RECIPE.layers), '--hidden', String(RECIPE.hidden),
    '--embedding', String(RECIPE.embedding), '--batch', String(RECIPE.batch), '--seq', String(RECIPE.seq), '--lr', String(RECIPE.lr),
    '--clip', String(RECIPE.clip), '--forget-bias', forgetBias, '--seed', String(seed), '--steps', String(steps),
    '--eval-every', String(every), '--sample-length', '0', '--log-every', '1000000', '--out', join(ROOT, '.forget-bias-study')];
  const curve = [];
  const r = await run(process.execPath, args, { limits, onStderrLine(l) { const p = parseTrainLine(l); if (p?.kind === 'eval') curve.push({ step: p.step, val_loss: p.val_loss }); } });
  if (r.code !== 0) throw new Error(`rnnkit train failed: ${r.stderr.trim().split('\n').pop()}`);
  return curve;
}

/** The same recipe in PyTorch (scripts/bench_torch.py), its default initialisation. */
async function torchCurve(corpus, seed) {
  const { python, env } = torchPython();
  const args = [join(ROOT, 'scripts/bench_torch.py'), '--time-to-loss', corpus, '--target', '0', '--steps', String(steps), '--cap', '1e9',
    '--eval-every', String(every), '--cell', 'lstm', '--layers', String(RECIPE.layers), '--hidden', String(RECIPE.hidden),
    '--embedding', String(RECIPE.embedding), '--batch', String(RECIPE.batch), '--seq', String(RECIPE.seq), '--lr', String(RECIPE.lr),
    '--clip', String(RECIPE.clip), '--seed', String(seed), '--threads', '2'];
  const r = await run(python, args, { env, limits });
  if (r.code !== 0) throw new Error(`bench_torch.py failed: ${r.stderr.trim().split('\n').pop()}`);
  return jsonLines(r.stdout).filter((e) => e.kind === 'eval').map((e) => ({ step: e.step, val_loss: e.val_loss }));
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => { const m = mean(xs); return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1)); };

const settings = o.settings.split(',').map((s) => ({ label: `rnnkit --forget-bias ${s}`, run: (c, seed) => rnnkitCurve(c, seed, s) }));
if (!o['no-torch'] && torchImportable()) settings.push({ label: `PyTorch (${torchPython().label})`, run: torchCurve });
const results = [];
for (const corpus of o.corpora.split(',')) {
  for (const seed of seeds) {
    for (const s of settings) {
      const t0 = Date.now();
      const curve = await s.run(corpus, seed);
      log(`${corpus} seed ${seed} ${s.label}: ${curve.map((e) => e.val_loss.toFixed(3)).join(' ')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      results.push({ corpus, seed, setting: s.label, curve });
    }
  }
}
if (o.save) writeFileSync(o.save, JSON.stringify({ recipe: RECIPE, steps, eval_every: every, results }, null, 1) + '\n');

// Mean ± sd over seeds at each evaluation, one table per corpus.
for (const corpus of new Set(results.map((r) => r.corpus))) {
  const evalSteps = results.find((r) => r.corpus === corpus).curve.map((e) => e.step);
  const rows = evalSteps.map((step) => [String(step), ...settings.map((s) => {
    const v = results.filter((r) => r.corpus === corpus && r.setting === s.label).map((r) => r.curve.find((e) => e.step === step)?.val_loss).filter((x) => x != null);
    return v.length ? `${mean(v).toFixed(3)} ± ${sd(v).toFixed(3)}` : '-';
  })]);
  console.log(`\n${corpus}: validation loss (nats), mean ± sd over seeds ${seeds.join(', ')}\n`);
  console.log(markdownTable(['step', ...settings.map((s) => s.label)], rows).join('\n'));
}
