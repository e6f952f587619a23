// The interpretable-cell viewer: one self-contained HTML page (inline CSS, script and
// SVG; no URL of any kind) showing a window of the text coloured by one cell's
// activation, the model's top-5 guesses on hover, the best cells per hypothesis signal,
// the reverse (LSTMVis) search and the gates' saturation scatter (Karpathy et al. 2015).
import { cellsPageMain, type PageJson } from './cells-page-script.js';
import { similarSpans } from './span-search.js';

/** A cell with its correlation with a signal. */
export interface PageCellRef { layer: number; quantity: string; cell: number; r: number }

/** What the page shows; plain data (analysis/cells.ts CellsReport is one). */
export interface CellsPageData {
  model: { cell: string; layers: number; hidden: number; vocab: string[] };
  quantities: string[];     // per layer: 'h' and, for LSTM, 'tanh_c'
  chars: number;            // characters analysed
  skipped: number;          // characters left out (not in the vocabulary)
  lossNats: number;         // mean cross-entropy of each next character (nats)
  maxShown: number;         // the shown window's limit
  shown: {
    start: number;          // position of the window's first character
    text: string;
    acts: Float32Array[];   // per layer*Q + q: (n, H), row t = the state after character start + t
    topIds: Int32Array;     // (n, 5) the most likely next characters (-1: none)
    topProbs: Float32Array; // (n, 5)
  };
  gates: { names: string[]; left: Float32Array[]; right: Float32Array[] }; // per layer: (gates, H) fractions
  signals: { name: string; description: string; best: PageCellRef[] }[];
}

/** The page anchor that shows a cell: #L2-tanh_c-117 is layer 2 (counting from 1), tanh(c), cell 117. */
export function viewAnchor(c: { layer: number; quantity: string; cell: number }): string {
  return `#L${c.layer + 1}-${c.quantity}-${c.cell}`;
}

/** Standard base64 of bytes (browser-safe; no Buffer). */
export function base64(bytes: Uint8Array): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 3 * 8192) {
    let s = '';
    const end = Math.min(bytes.length, i + 3 * 8192);
    for (let k = i; k < end; k += 3) {
      const a = bytes[k]!, b = k + 1 < end ? bytes[k + 1]! : 0, c = k + 2 < end ? bytes[k + 2]! : 0;
      s += A[a >> 2]! + A[((a & 3) << 4) | (b >> 4)]! + (k + 1 < end ? A[((b & 15) << 2) | (c >> 6)]! : '=') + (k + 2 < end ? A[c & 63]! : '=');
    }
    parts.push(s);
  }
  return parts.join('');
}

/** Activations in [-1, 1] as int8 (value * 127, clamped). */
export function quantize(a: Float32Array): Int8Array {
  return Int8Array.from(a, (v) => Math.round(127 * Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0))));
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const qLabel = (q: string) => (q === 'tanh_c' ? 'tanh(c)' : q);
const LAYER_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** One gate's saturation scatter: per cell, x = fraction left-saturated, y = right-saturated. */
function scatter(d: CellsPageData, g: number): string {
  const S = 200, P = 30, H = d.model.hidden, x = (f: number) => P + f * S, y = (f: number) => P + S - f * S;
  let dots = '';
  d.gates.left.forEach((left, l) => {
    const right = d.gates.right[l]!, col = LAYER_COLORS[l % LAYER_COLORS.length]!;
    for (let j = 0; j < H; j++) {
      const a = left[g * H + j]!, b = right[g * H + j]!;
      dots += `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="2.5" fill="${col}" fill-opacity="0.6" data-cell="${l},${j}">` +
        `<title>layer ${l + 1} cell ${j}: ${(100 * a).toFixed(1)}% left, ${(100 * b).toFixed(1)}% right-saturated</title></circle>`;
    }
  });
  const ticks = [0, 0.5, 1].map((f) => `<text x="${x(f)}" y="${P + S + 14}" text-anchor="middle">${f}</text>` +
    `<text x="${P - 4}" y="${y(f) + 4}" text-anchor="end">${f}</text>`).join('');
  return `<svg width="${S + 2 * P}" height="${S + 2 * P + 10}" class="scatter">` +
    `<text x="${P + S / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(d.gates.names[g]!)} gate</text>` +
    `<rect x="${P}" y="${P}" width="${S}" height="${S}" fill="none" stroke="#999"/>` +
    `<line x1="${x(0)}" y1="${y(1)}" x2="${x(1)}" y2="${y(0)}" stroke="#ccc" stroke-dasharray="3 3"/>${ticks}` +
    `<text x="${P + S / 2}" y="${P + S + 30}" text-anchor="middle">left-saturated (&lt; 0.1)</text>` +
    `<text transform="translate(10 ${P + S / 2}) rotate(-90)" text-anchor="middle">right-saturated (&gt; 0.9)</text>${dots}</svg>`;
}

function signalTable(d: CellsPageData): string {
  if (!d.signals.length) return '<p>No signals.</p>';
  const rows = d.signals.map((s) => {
    const cells = s.best.map((c) => `<a href="${viewAnchor(c)}">L${c.layer + 1} ${qLabel(c.quantity)} ${c.cell}</a> ` +
      `<span class="${c.r >= 0 ? 'pos' : 'neg'}">${c.r >= 0 ? '+' : '&minus;'}${Math.abs(c.r).toFixed(3)}</span>`).join('<br>');
    return `<tr><td><b>${esc(s.name)}</b><br><small>${esc(s.description)}</small></td><td>${cells || '&mdash;'}</td></tr>`;
  }).join('');
  return `<table><tr><th>signal</th><th>best cells (Pearson r over all ${d.chars.toLocaleString('en')} characters)</th></tr>${rows}</table>`;
}

const CSS = `body{font:14px system-ui,sans-serif;margin:0;color:#222}header{padding:8px 16px;background:#f4f4f4;border-bottom:1px solid #ddd}
h1{font-size:18px;margin:0 0 4px}main{display:flex;gap:16px;padding:8px 16px}#left{flex:3;min-width:0}#right{flex:2;min-width:320px}
#controls{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #eee;z-index:1}#controls input[type=number]{width:5em}
#text{font:13px/1.45 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all;max-height:min(75vh,680px);overflow:auto;border:1px solid #ddd;padding:6px}
#text span.nl{color:#bbb}#text span.mark{outline:2px solid #000}#tip{position:fixed;display:none;background:#fff;border:1px solid #888;padding:6px;
font:12px ui-monospace,monospace;box-shadow:2px 2px 6px #0003;pointer-events:none;z-index:2;max-width:230px}.hit{font-weight:bold;color:#080}
table{border-collapse:collapse;width:100%}td,th{border-top:1px solid #ddd;padding:4px;vertical-align:top;text-align:left}.pos{color:#b00}.neg{color:#00b}
.legend{display:inline-block;width:120px;height:10px;background:linear-gradient(90deg,#00f,#fff,#f00);vertical-align:middle;border:1px solid #999}
.scatter{font-size:11px;margin-right:24px}#gates{padding:0 16px 16px}.scatter circle{cursor:pointer}h2{font-size:15px;margin:14px 0 6px}#current{font-weight:bold}`;

/** The complete HTML document. */
export function cellsPage(d: CellsPageData, opts: { title?: string } = {}): string {
  const title = opts.title ?? 'rnnkit cells';
  const n = [...d.shown.text].length, H = d.model.hidden;
  const json: PageJson = {
    layers: d.model.layers, H, quantities: d.quantities, vocab: d.model.vocab, start: d.shown.start, text: d.shown.text,
    acts: d.shown.acts.map((a) => { const q = quantize(a); return base64(new Uint8Array(q.buffer, q.byteOffset, q.byteLength)); }),
    topIds: Array.from(d.shown.topIds), topProbs: Array.from(d.shown.topProbs, (p) => Math.round(p * 1000) / 1000),
  };
  const data = JSON.stringify(json).replace(/</g, '\\u003c');
  const m = d.model, shownEnd = d.shown.start + n;
  const shownNote = n < d.chars ? `showing characters ${d.shown.start.toLocaleString('en')}-${shownEnd.toLocaleString('en')} of ${d.chars.toLocaleString('en')} (at most ${d.maxShown.toLocaleString('en')} are shown; the statistics cover all)` : `all ${n.toLocaleString('en')} characters shown`;
  const gates = d.gates.names.length ? d.gates.names.map((_, g) => scatter(d, g)).join('') +
    `<p>${d.gates.left.map((_, l) => `<span style="color:${LAYER_COLORS[l % LAYER_COLORS.length]}">&#9679;</span> layer ${l + 1}`).join(' ')}; click a cell to view it (its h).</p>`
    : '<p>This cell type has no gates.</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head><body>
<header><h1>${esc(title)}</h1>${esc(m.cell)} ${m.layers}&times;${H}, vocabulary ${m.vocab.length}; ${d.chars.toLocaleString('en')} characters analysed` +
  `${d.skipped ? ` (${d.skipped.toLocaleString('en')} not in the vocabulary skipped)` : ''}, loss ${d.lossNats.toFixed(4)} nats/char; ${shownNote}.</header>
<main><div id="left"><div id="controls"><select id="layer"></select> <select id="quantity"></select> cell <button id="prev">&#9664;</button><input id="cell" type="number" min="0" value="0"><button id="next">&#9654;</button>
&nbsp; <span id="current"></span> &nbsp; <small>&minus;1</small> <span class="legend"></span> <small>+1</small></div>
<pre id="text"></pre><div id="tip"></div></div>
<div id="right"><h2>Best cells per signal</h2><div id="signals">${signalTable(d)}</div>
<h2>Reverse search (LSTMVis)</h2><p>Select a span of the text where the cell is on, then <button id="find">find similar</button>
(on: activation &ge; <input id="threshold" type="number" value="0.5" step="0.1" min="-1" max="1" style="width:4em">, this layer and quantity).</p><div id="found"></div>
</div></main>
<section id="gates"><h2>Gate saturation</h2><p>Per cell, the fraction of steps each gate is left-saturated (&lt; 0.1) and right-saturated (&gt; 0.9), as in Karpathy et al. (2015), figure 3.</p>${gates}</section>
<script type="application/json" id="cells-data">${data}</script>
<script>(${cellsPageMain.toString()})(${similarSpans.toString()});</script>
</body></html>
`;
}
