// The playground's training worker: owns the model and the trainer, trains one step at a
// time (so pause and every other command get in between steps) and reports to the page.
// All the work is the library's (Trainer, streamLoss, generate, checkpoints); this file
// only schedules it.
import {
  LanguageModel, Trainer, UserError, decodeCheckpoint, encodeRun, initBackend, loadBackends, resumeTrainer,
  runMeta, splitText, streamLoss, textInfo, type CharLM, type RunMeta,
} from 'rnnkit';
import type { Command, ModelInfo, Report, TrainSettings } from './protocol.js';
import { cellViewHtml } from './cell-view.js';

/** Validation loss is computed on at most this many held-out characters (speed). */
const VAL_CHARS = 16384;
const SAMPLE_CHARS = 300;
/** Held-out characters the cell view's statistics and search cover. */
const CELLS_CHARS = 20000;
/** Milliseconds between progress reports, and the tokens/s window. */
const REPORT_MS = 250, RATE_WINDOW_MS = 4000;

const post = (r: Report, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(r, transfer);

let lm: LanguageModel | null = null;
let trainer: Trainer<CharLM> | null = null;
let evalEvery = 50;
/** The text the trainer trains on (the page's text when training (re)started). */
let current: { text: string; name: string; ids: Int32Array; val: Int32Array } | null = null;
/** Run state of an uploaded checkpoint, used by the next resume when the text matches. */
let uploaded: { meta: RunMeta; extra: Map<string, { shape: number[]; data: Float32Array }> } | null = null;
let running: Promise<void> | null = null, stopRequested = false;
let temperature = 0.8;

const ready = (async () => {
  const be = await initBackend('auto');
  const failures = await loadBackends();
  const threads = (be as { threads?: number }).threads ?? 1;
  const note = (be as { workerError?: string }).workerError ?? (be.name === 'wasm' ? '' : failures['wasm'] ?? '');
  post({ type: 'ready', backend: be.name, threads, isolated: self.crossOriginIsolated === true, note });
  post(stateReport());
})();

self.onmessage = (e: MessageEvent<Command>) => {
  void ready.then(() => handle(e.data)).catch((err: unknown) => {
    post({ type: 'error', message: err instanceof UserError || err instanceof Error ? err.message : String(err) });
    post(stateReport());
  });
};

async function handle(c: Command): Promise<void> {
  switch (c.type) {
    case 'start': {
      await stop();
      lm = LanguageModel.create(c.text, { cell: c.model.cell, num_layers: c.model.layers, hidden_size: c.model.hidden, embedding_size: c.model.embedding }, c.train.seed);
      uploaded = null;
      useText(c.text, c.textName, c.train);
      return start();
    }
    case 'resume': {
      if (!lm) throw new UserError('no model yet: press Start (or upload a checkpoint)');
      if (running) return;
      if (!trainer || current?.text !== c.text) useText(c.text, c.textName, c.train);
      return start();
    }
    case 'pause': return stop();
    case 'temperature': temperature = c.value; return;
    case 'sample': return post({ type: 'sample', text: sample(c.length) });
    case 'cells': {
      if (!lm) throw new UserError('no model yet: press Start (or upload a checkpoint)');
      // statistics over up to CELLS_CHARS held-out characters (the page colours the first 2,000)
      const held = current ? decode(current.val.subarray(0, CELLS_CHARS)) : c.text.slice(-CELLS_CHARS);
      return post({ type: 'cells', html: cellViewHtml(lm, held, trainer?.step ?? uploadedStep()) });
    }
    case 'download': {
      if (!lm) throw new UserError('no model yet: press Start (or upload a checkpoint)');
      const bytes = trainer && current ? encodeRun(lm, trainer, textInfo(current.name, current.ids)) : lm.toBytes();
      const { cell, num_layers: L, hidden_size: H } = lm.config;
      const buf = bytes.slice().buffer as ArrayBuffer;
      return post({ type: 'checkpoint', bytes: buf, name: `rnnkit-${cell}-${L}x${H}-step${trainer?.step ?? uploadedStep()}.safetensors` }, [buf]);
    }
    case 'upload': {
      const ck = decodeCheckpoint(new Uint8Array(c.bytes), c.name); // a bad file leaves everything as it was
      const meta = runMeta(ck, c.name);
      await stop();
      lm = new LanguageModel(ck.model, ck.vocab);
      uploaded = meta ? { meta, extra: ck.extra } : null;
      trainer = null; current = null;
      const { cell, num_layers: L, hidden_size: H } = lm.config;
      post({ type: 'loaded', name: c.name, message: `loaded ${c.name}: ${cell} ${L}x${H}, vocabulary of ${lm.vocab.size}` +
        (meta ? `, trained ${meta.trainer.step} steps on ${meta.text.name}` : ' (weights only, no training state)') });
      post(stateReport());
      post({ type: 'sample', text: sample(SAMPLE_CHARS) });
      return;
    }
  }
}

/**
 * Points the trainer at text. An uploaded run continues exactly when text is the one it
 * was trained on; otherwise the weights go on with a fresh optimizer.
 */
function useText(text: string, name: string, t: TrainSettings): void {
  const model = lm!;
  const ids = model.vocab.encode(text, name); // a character the model lacks is an error naming it
  evalEvery = t.evalEvery;
  trainer = null;
  if (uploaded) {
    try {
      trainer = resumeTrainer(model.net, uploaded, uploaded.meta, ids, name);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      post({ type: 'loaded', name, message: `${e.message}: training goes on from its weights with a fresh optimizer` });
    }
  }
  const cfg = uploaded?.meta.trainer.config;
  trainer ??= new Trainer(model.net, splitText(ids).train, { ...cfg, batch: t.batch, seq: t.seq, lr: t.lr, seed: t.seed });
  uploaded = null;
  current = { text, name, ids, val: splitText(ids).val.subarray(0, VAL_CHARS) };
}

function start(): void {
  stopRequested = false;
  running = loop().catch((err: unknown) => {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }).finally(() => {
    running = null;
    post(stateReport());
  });
  post(stateReport());
}

async function stop(): Promise<void> {
  stopRequested = true;
  await running;
}

/** Hands the event loop a turn (commands from the page) without a timer's clamping. */
const channel = new MessageChannel();
const turn = () => new Promise<void>((resolve) => { channel.port1.onmessage = () => resolve(); channel.port2.postMessage(null); });

async function loop(): Promise<void> {
  const t = trainer!, tokensPerStep = t.cfg.batch * t.cfg.seq;
  let steps: number[] = [], bpc: number[] = [], last = performance.now();
  const window: { at: number; ms: number }[] = []; // training time of recent steps
  while (!stopRequested) {
    const t0 = performance.now();
    const r = t.trainStep();
    const t1 = performance.now();
    window.push({ at: t1, ms: t1 - t0 });
    while (window.length > 1 && window[0]!.at < t1 - RATE_WINDOW_MS) window.shift();
    steps.push(t.step); bpc.push(r.loss / Math.LN2);
    if (t1 - last >= REPORT_MS || t.step % evalEvery === 0) {
      const ms = window.reduce((s, w) => s + w.ms, 0);
      post({ type: 'progress', steps, bpc, tokensPerSec: (window.length * tokensPerStep * 1000) / ms, epochs: t.epochs });
      steps = []; bpc = []; last = t1;
    }
    if (t.step % evalEvery === 0) evaluate();
    await turn();
  }
}

function evaluate(): void {
  const t = trainer!, val = current!.val;
  const valBpc = val.length > 1 ? streamLoss(t.model, val, t.cfg.batch, t.cfg.seq) / Math.LN2 : NaN;
  post({ type: 'eval', step: t.step, valBpc, sample: sample(SAMPLE_CHARS) });
}

function sample(length: number): string {
  if (!lm) throw new UserError('no model yet: press Start (or upload a checkpoint)');
  // seeded by the step: the same model and temperature give the same sample
  return lm.sample({ length, temperature, seed: trainer?.step ?? 0 });
}

function decode(ids: Int32Array): string {
  return Array.from(ids, (i) => lm!.vocab.chars[i]!).join('');
}

function uploadedStep(): number {
  return uploaded?.meta.trainer.step ?? 0;
}

function stateReport(): Report {
  const state = running ? 'running' : lm ? 'paused' : 'idle';
  return { type: 'state', state, model: lm ? modelInfo(lm) : null };
}

function modelInfo(m: LanguageModel): ModelInfo {
  const c = m.config;
  return {
    cell: c.cell, layers: c.num_layers, hidden: c.hidden_size, embedding: c.embedding_size, params: m.net.params.data.length,
    vocab: m.vocab.size, step: trainer?.step ?? uploadedStep(),
  };
}
