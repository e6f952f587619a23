#!/usr/bin/env node
// Small experiments that show the training toolbox doing what the lecture says, on a
// synthetic "remember a letter" text (docs/training.md, "What the options do").
// Each record is X + n dots + '=' + X + '\n' with X one of 8 letters and n in [lag, lag+4]:
// everything is predictable except X itself and where the '=' comes, and the character
// after '=' is predictable only by remembering X across n+1 steps.
// Every run sees the same number of characters per update (1280 = batch x k1), Adam 1e-2,
// one layer of 64 units.
//   node scripts/toolbox-experiments.mjs [--steps 1500] [--lag 8] [--only tbptt,forget,cells,pascanu,feed]
import { parseArgs } from 'node:util';
import { CharLM, Trainer, Rng, initBackend, getBackend } from '../dist/src/index.js';

const { values: a } = parseArgs({ options: { steps: { type: 'string' }, lag: { type: 'string' }, only: { type: 'string' }, seed: { type: 'string' } } });
const STEPS = Number(a.steps ?? 1500), LAG = Number(a.lag ?? 8), SEED = Number(a.seed ?? 1);
await initBackend('auto');

const LETTERS = 'abcdefgh', VOCAB = [...'\n.=' + LETTERS];
function makeText(records, rng) {
  let s = '';
  for (let i = 0; i < records; i++) {
    const x = LETTERS[rng.int(LETTERS.length)];
    s += x + '.'.repeat(LAG + rng.int(5)) + '=' + x + '\n';
  }
  return Int32Array.from([...s], (c) => VOCAB.indexOf(c));
}
const train = makeText(6000, new Rng(SEED)), val = makeText(400, new Rng(SEED + 1000));
const EQ = VOCAB.indexOf('=');

/** Argmax accuracy on the recalled letters of the validation text, from the zero state. */
function recallAccuracy(model) {
  const T = val.length - 1, state = model.newState(1);
  model.forward(val.subarray(0, T), null, T, 1, state);
  const logits = model.logits(), V = VOCAB.length;
  let hit = 0, n = 0;
  for (let t = 0; t < T; t++) {
    if (val[t] !== EQ) continue;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[t * V + v] > logits[t * V + best]) best = v;
    hit += best === val[t + 1] ? 1 : 0; n++;
  }
  return hit / n;
}

function run(name, model, train_, cfg) {
  const t0 = Date.now();
  const seq = cfg.seq ?? 40;
  const tr = new Trainer(model.init(new Rng(SEED)), train_, { batch: Math.round(1280 / seq), seq, lr: 1e-2, seed: SEED, ...cfg });
  let loss = 0, clipped = 0, maxNorm = 0;
  for (let i = 0; i < STEPS; i++) {
    const r = tr.trainStep();
    loss = i === 0 ? r.loss : 0.98 * loss + 0.02 * r.loss;
    clipped += r.clipped ? 1 : 0; maxNorm = Math.max(maxNorm, r.gradNorm);
  }
  const acc = recallAccuracy(model);
  console.log(`| ${name} | ${loss.toFixed(3)} | ${(100 * acc).toFixed(1)}% | ${(100 * clipped / STEPS).toFixed(0)}% | ${((Date.now() - t0) / 1000).toFixed(0)} s |`);
}

const lm = (cfg) => new CharLM({ cell: 'lstm', vocab_size: VOCAB.length, embedding_size: 8, hidden_size: 64, num_layers: 1, ...cfg });
const experiments = {
  tbptt: () => {
    for (const [k1, k2] of [[5, 5], [10, 10], [40, 40], [10, 40], [40, 10]]) run(`lstm, TBPTT(k1=${k1}, k2=${k2})`, lm({}), train, { seq: k1, bptt: k2 });
  },
  forget: () => {
    for (const fb of [1, 0, null]) run(`lstm, forget bias ${fb ?? 'PyTorch init'}`, lm({ forget_bias: fb }), train, {});
  },
  cells: () => {
    for (const cell of ['rnn_tanh', 'gru', 'lstm']) run(cell, lm({ cell }), train, {});
    run('lstm, layer norm', lm({ layer_norm: true }), train, {});
    run('lstm, learned initial state', lm({ initial_state: 'learned' }), train, {});
    run('lstm, recurrent dropout 0.25', lm({ recurrent_dropout: 0.25 }), train, {});
  },
  pascanu: () => {
    for (const w of [0, 1, 4]) run(`rnn_tanh, Pascanu ${w}`, lm({ cell: 'rnn_tanh' }), train, { pascanu: w });
  },
  feed: () => {
    run('lstm, teacher forcing', lm({}), train, {});
    run('lstm, scheduled sampling (linear, 1/2 at 1500, max 0.25)', lm({}), train, { feed: 'scheduled', scheduleSteps: 1500, feedMax: 0.25 });
  },
};
console.log(`backend ${getBackend().name}, ${LAG}..${LAG + 4} dots, ${STEPS} updates of 1280 characters (batch x k1; TBPTT(40, 40) unless named), Adam 1e-2, H = 64, seed ${SEED}; chance recall accuracy 12.5%\n`);
console.log('| run | final train loss (nats/char) | recall accuracy (validation) | updates clipped | time |\n|---|---|---|---|---|');
for (const [name, f] of Object.entries(experiments)) if (!a.only || a.only.split(',').includes(name)) f();
