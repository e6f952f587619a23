// The playground page: settings, buttons and displays. Training runs in worker.ts; this
// thread only sends it commands and shows its reports, so the page stays responsive.
import { CELL_TYPES } from 'rnnkit';
import shakespeareUrl from '../data/tinyshakespeare.txt?url';
import type { Command, ModelInfo, Report } from './protocol.js';
import { LossChart } from './loss-chart.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const num = (id: string) => Number(input(id).value);

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (c: Command, transfer: Transferable[] = []) => worker.postMessage(c, transfer);
const chart = new LossChart($('chart'));
let state: 'idle' | 'running' | 'paused' = 'idle';
let smoothed = NaN;

for (const c of CELL_TYPES) $('cell').append(new Option(c, c, c === 'lstm', c === 'lstm'));

function say(text: string, kind: 'info' | 'error' = 'info'): void {
  const m = $('message');
  m.textContent = text;
  m.className = kind;
}

// ---- the text -------------------------------------------------------------------------

let shakespeare: Promise<string> | null = null;

async function currentText(): Promise<{ text: string; name: string }> {
  const which = $<HTMLSelectElement>('corpus').value;
  if (which === 'custom') {
    const text = $<HTMLTextAreaElement>('custom-text').value;
    if (Array.from(text).length < 1000) throw new Error('your text is too short: paste or upload at least 1,000 characters');
    return { text, name: input('text-file').files?.[0]?.name ?? 'pasted text' };
  }
  shakespeare ??= fetch(shakespeareUrl).then((r) => {
    if (!r.ok) throw new Error(`cannot load the bundled corpus: HTTP ${r.status}`);
    return r.text();
  });
  const all = await shakespeare.catch((e: unknown) => { shakespeare = null; throw e; });
  return which === 'shakespeare' ? { text: all, name: 'tinyshakespeare.txt' } : { text: all.slice(0, 50000), name: 'tinyshakespeare-50k.txt' };
}

function showTextChoice(): void {
  const custom = $<HTMLSelectElement>('corpus').value === 'custom';
  $('custom-text').hidden = !custom;
  $('text-file-label').hidden = !custom;
  void currentText().then(({ text }) => { $('text-info').textContent = `${Array.from(text).length.toLocaleString('en')} characters`; },
    (e: Error) => { $('text-info').textContent = e.message; });
}
$('corpus').addEventListener('change', showTextChoice);
$('custom-text').addEventListener('input', showTextChoice);
input('text-file').addEventListener('change', async () => {
  const f = input('text-file').files?.[0];
  if (!f) return;
  $<HTMLTextAreaElement>('custom-text').value = await f.text();
  showTextChoice();
});
showTextChoice();

// ---- commands -------------------------------------------------------------------------

const trainSettings = () => ({ batch: num('batch'), seq: num('seq'), lr: num('lr'), seed: num('seed'), evalEvery: num('eval-every') });

$('settings').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (state !== 'idle' && !confirm('Start a new model? The current one is discarded (download it first to keep it).')) return;
  try {
    const { text, name } = await currentText();
    chart.clear(); smoothed = NaN;
    $('val-bpc').textContent = '–';
    say(`training on ${name}`);
    send({
      type: 'start', text, textName: name, train: trainSettings(),
      model: { cell: $<HTMLSelectElement>('cell').value as (typeof CELL_TYPES)[number], layers: num('layers'), hidden: num('hidden'), embedding: num('embedding') },
    });
  } catch (err) {
    say((err as Error).message, 'error');
  }
});

$('pause').addEventListener('click', async () => {
  if (state === 'running') return send({ type: 'pause' });
  try {
    const { text, name } = await currentText();
    send({ type: 'resume', text, textName: name, train: trainSettings() });
  } catch (err) {
    say((err as Error).message, 'error');
  }
});

input('temperature').addEventListener('input', () => {
  $('temperature-value').textContent = num('temperature').toFixed(2);
  send({ type: 'temperature', value: num('temperature') });
});
$('resample').addEventListener('click', () => send({ type: 'sample', length: 300 }));
$('download').addEventListener('click', () => send({ type: 'download' }));
$('cells-button').addEventListener('click', async () => {
  $('cells-status').textContent = 'computing…';
  const { text } = await currentText().catch(() => ({ text: '' }));
  send({ type: 'cells', text });
});
input('upload').addEventListener('change', async () => {
  const f = input('upload').files?.[0];
  if (!f) return;
  input('upload').value = '';
  const bytes = await f.arrayBuffer();
  send({ type: 'upload', bytes, name: f.name }, [bytes]);
});

// ---- reports --------------------------------------------------------------------------

worker.onmessage = (e: MessageEvent<Report>) => {
  const r = e.data;
  switch (r.type) {
    case 'ready': {
      const threads = `${r.threads} thread${r.threads === 1 ? '' : 's'} (${r.isolated ? '' : 'not '}cross-origin isolated)`;
      $('threads').textContent = `${r.backend} backend, ${threads}${r.note ? `: ${r.note}` : ''}`;
      $('threads').dataset['threads'] = String(r.threads);
      return;
    }
    case 'state': return showState(r.state, r.model);
    case 'progress': {
      for (let i = 0; i < r.bpc.length; i++) smoothed = Number.isNaN(smoothed) ? r.bpc[i]! : 0.9 * smoothed + 0.1 * r.bpc[i]!;
      const mean = r.bpc.reduce((a, b) => a + b, 0) / r.bpc.length;
      chart.addTrain(r.steps[r.steps.length - 1]!, mean);
      $('step').textContent = r.steps[r.steps.length - 1]!.toLocaleString('en');
      $('epoch').textContent = r.epochs.toFixed(2);
      $('train-bpc').textContent = smoothed.toFixed(3);
      $('tokens').textContent = Math.round(r.tokensPerSec).toLocaleString('en');
      return;
    }
    case 'eval':
      chart.addVal(r.step, r.valBpc);
      $('val-bpc').textContent = Number.isFinite(r.valBpc) ? r.valBpc.toFixed(3) : 'n/a';
      $('sample').textContent = r.sample;
      return;
    case 'sample': $('sample').textContent = r.text; return;
    case 'cells': {
      const frame = $<HTMLIFrameElement>('cells-frame');
      frame.onload = () => { $('cells-status').textContent = `step ${$('step').textContent}`; };
      frame.hidden = false;
      frame.srcdoc = r.html;
      return;
    }
    case 'checkpoint': {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([r.bytes], { type: 'application/octet-stream' }));
      a.download = r.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      return;
    }
    case 'loaded': chart.clear(); return say(r.message);
    case 'error': return say(r.message, 'error');
  }
};
worker.onerror = (e) => say(`the training worker failed: ${e.message || 'it could not be loaded'}`, 'error');

function showState(s: typeof state, model: ModelInfo | null): void {
  state = s;
  const pause = $<HTMLButtonElement>('pause');
  pause.disabled = s === 'idle';
  pause.textContent = s === 'running' ? 'Pause' : 'Resume';
  for (const id of ['download', 'resample', 'cells-button']) $<HTMLButtonElement>(id).disabled = !model;
  document.body.dataset['state'] = s;
  if (model) {
    $('model').textContent = `${model.cell} ${model.layers}x${model.hidden}, embedding ${model.embedding}, ` +
      `vocabulary ${model.vocab}, ${model.params.toLocaleString('en')} parameters`;
    $('step').textContent = model.step.toLocaleString('en');
  }
}
