#!/usr/bin/env node
// Regenerates every chart of docs/gradients.md into docs/img/ and prints the numbers the
// page quotes. Needs the build (npm run build).
//
//   node scripts/gradient-charts.mjs [sigma] [cells] [trained] [clipping] [--png]
//
// sigma, cells, trained: `rnnkit analyze gradients` (the commands are printed as they
// run), its charts copied to docs/img/. trained first trains three small checkpoints
// with `rnnkit train` (about a minute on two cores). clipping: a tanh RNN initialised
// with σ_max(W_hh) = 3, trained with plain SGD with and without gradient clipping.
// With --png, a PNG next to every SVG (needs the optional @resvg/resvg-js).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const IMG = join(ROOT, 'docs', 'img');
if (!existsSync(CLI)) { console.error('gradient-charts: build first (npm run build)'); process.exit(1); }

const args = process.argv.slice(2), png = args.includes('--png');
const PARTS = ['sigma', 'cells', 'trained', 'clipping'];
const parts = args.filter((a) => a !== '--png');
for (const p of parts) if (!PARTS.includes(p)) { console.error(`gradient-charts: unknown part '${p}' (parts: ${PARTS.join(', ')})`); process.exit(1); }
const want = (p) => !parts.length || parts.includes(p);
const tmp = mkdtempSync(join(tmpdir(), 'rnnkit-gradient-charts-'));
mkdirSync(IMG, { recursive: true });

/** Runs the CLI from the repository root, echoing the command as a user would type it. */
function rnnkit(cliArgs) {
  const shown = cliArgs.map((a) => (/[^\w.,/=:-]/.test(a) ? `'${a}'` : a)).join(' ').replaceAll(tmp, '$TMP');
  console.log(`\n$ rnnkit ${shown}`);
  const out = execFileSync(process.execPath, [CLI, ...cliArgs], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(out.replaceAll(tmp, '$TMP'));
}

/** analyze gradients into a temp folder, then its charts to docs/img/{gradients,jacobians}-NAME.svg. */
function analyze(name, cliArgs) {
  const out = join(tmp, name);
  rnnkit(['analyze', 'gradients', ...cliArgs, '--out', out, ...(png ? ['--png'] : [])]);
  for (const chart of ['gradients', 'jacobians']) {
    for (const ext of png ? ['svg', 'png'] : ['svg']) {
      const dst = join(IMG, `${chart}-${name}.${ext}`);
      copyFileSync(join(out, `${chart}.${ext}`), dst);
      console.log(`wrote ${dst.slice(ROOT.length)}`);
    }
  }
}

try {
  if (want('sigma')) {
    analyze('tanh-sigma', ['--cell', 'rnn_tanh', '--sigma', '0.5,0.9,1,1.5,3', '--hidden', '128', '--title', 'tanh RNN with σ_max(W_hh) = σ']);
  }
  if (want('cells')) {
    analyze('cells', ['--cell', 'rnn_tanh,gru,lstm', '--forget-bias', '1,0,pytorch', '--hidden', '128', '--full-state', '--title', 'Fresh models, PyTorch init']);
  }
  if (want('trained')) {
    const ckpts = [];
    for (const cell of ['rnn_tanh', 'gru', 'lstm']) {
      const dir = join(tmp, `${cell}-1000-steps`);
      rnnkit(['train', 'data/tinyshakespeare.txt', '--cell', cell, '--layers', '1', '--hidden', '128', '--steps', '1000', '--seed', '1', '--quiet', '--out', dir]);
      ckpts.push(join(dir, 'latest.safetensors'));
    }
    analyze('trained', [...ckpts, '--full-state', '--title', 'Trained 1000 steps']);
  }
  if (want('clipping')) await clipping();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/**
 * Plain SGD (no momentum, lr 2) on a 1x128 tanh RNN whose W_hh starts at σ_max = 3:
 * without clipping, with the global norm clipped to 5 and to 1. Same seed, same batches.
 */
async function clipping() {
  const dist = (p) => import(new URL(`../dist/src/${p}`, import.meta.url).href);
  const { initBackend } = await dist('backend/init.js');
  const { getBackend } = await dist('backend/registry.js');
  const { CharLM } = await dist('models/char-lm.js');
  const { Rng } = await dist('core/rng.js');
  const { Vocab } = await dist('data/vocab.js');
  const { Trainer } = await dist('train/trainer.js');
  const { scaleRecurrentWeights } = await dist('analysis/gradients.js');
  const { lineChart } = await dist('viz/chart.js');
  const { svgToPng } = await dist('viz/png.js');
  await initBackend();
  const text = readFileSync(join(ROOT, 'data', 'tinyshakespeare.txt'), 'utf8');
  const vocab = Vocab.fromText(text), ids = vocab.encode(text);
  const STEPS = 300, LR = 2;

  const train = (sigma, clip) => {
    const model = new CharLM({ cell: 'rnn_tanh', vocab_size: vocab.size, hidden_size: 128, num_layers: 1 }).init(new Rng(1));
    if (sigma !== null) scaleRecurrentWeights(model, sigma);
    const t = new Trainer(model, ids, { optimizer: 'sgd', momentum: 0, lr: LR, clip, batch: 32, seq: 64, seed: 1 });
    const norm = [], applied = [], loss = [];
    let stopped = '';
    for (let s = 0; s < STEPS; s++) {
      try {
        const r = t.trainStep();
        norm.push(r.gradNorm); applied.push(clip > 0 ? Math.min(r.gradNorm, clip) : r.gradNorm); loss.push(r.loss);
      } catch (e) { stopped = e.message; break; } // loss or gradient not finite
    }
    return { sigma, clip, norm, applied, loss, stopped };
  };
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const fmt = (x) => Number(x.toPrecision(3));
  const report = (r) => {
    const s = sorted(r.norm), last = r.loss.slice(-20);
    console.log(`σ=${r.sigma ?? 'PyTorch init'} clip ${r.clip || 'off'}: ${r.norm.length} steps${r.stopped ? ` (stopped: ${r.stopped})` : ''}; ` +
      `pre-clip ‖g‖ median ${fmt(s[s.length >> 1])}, max ${fmt(s.at(-1))}; clipped at ${r.clip ? r.norm.filter((x) => x > r.clip).length : 0} steps; ` +
      `applied ‖g‖ max ${fmt(Math.max(...r.applied))}; loss max ${fmt(Math.max(...r.loss))}, mean of the last 20 steps ${fmt(last.reduce((a, b) => a + b, 0) / last.length)}`);
  };

  console.log(`\nclipping: 1x128 tanh RNN, SGD lr ${LR} (no momentum), batch 32, seq 64, ${STEPS} steps, backend ${getBackend().name}`);
  const runs = [train(3, 0), train(3, 5), train(3, 1)];
  runs.forEach(report);
  console.log('controls, same settings without clipping:');
  for (const sigma of [null, 0.5]) report(train(sigma, 0));

  const name = (r) => (r.clip ? `clip ${r.clip}` : 'no clipping');
  const steps = (r) => r.norm.map((_, i) => i + 1);
  const note = `1x128 tanh RNN, W_hh at σ_max = 3, plain SGD lr ${LR}, batch 32 x 64 steps of tinyshakespeare`;
  const charts = {
    'clipping-norm': lineChart(runs.map((r) => ({ name: name(r), x: steps(r), y: r.norm })),
      { title: 'Gradient norm before clipping', note, xLabel: 'training step', yLabel: 'global gradient norm ‖g‖', logY: true }),
    'clipping-applied': lineChart(runs.map((r) => ({ name: name(r), x: steps(r), y: r.applied })),
      { title: 'Gradient norm applied: min(‖g‖, clip)', note, xLabel: 'training step', yLabel: 'norm of the gradient used in the update', logY: true }),
    'clipping-loss': lineChart(runs.map((r) => ({ name: name(r), x: steps(r), y: r.loss })),
      { title: 'Training loss with and without clipping', note, xLabel: 'training step', yLabel: 'loss of the batch (nats/char)', logY: true }),
  };
  for (const [file, svg] of Object.entries(charts)) {
    writeFileSync(join(IMG, `${file}.svg`), svg);
    console.log(`wrote docs/img/${file}.svg`);
    if (png) { writeFileSync(join(IMG, `${file}.png`), await svgToPng(svg, { scale: 2 })); console.log(`wrote docs/img/${file}.png`); }
  }
}
