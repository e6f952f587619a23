// The Cells panel's document. cellViewHtml is the one place the page gets it from: a
// complete HTML document (shown in an iframe's srcdoc) for the model and a held-out text.
//
// INTERIM: until `rnnkit cells` (analyzeCells, cellsPage) is merged, this is a small view
// of its own: the held-out text coloured by the hidden state h of the last layer's most
// active cells, computed from the model. With that merged, the body of cellViewHtml becomes
//   return cellsPage(analyzeCells(lm, text), { title: 'rnnkit playground: cells' });
// and the rest of this file goes.
import type { LanguageModel } from 'rnnkit';

const SHOW_CELLS = 4, SHOW_CHARS = 700;

export function cellViewHtml(lm: LanguageModel, text: string): string {
  const known = Array.from(text).filter((ch) => lm.vocab.has(ch)).join('');
  const ids = lm.vocab.encode(known.slice(0, SHOW_CHARS) || lm.vocab.chars[0]!);
  const { num_layers: L, hidden_size: H } = lm.config, T = ids.length;
  lm.net.forward(ids, null, T, 1, lm.net.newState(1));
  const hs = lm.net.hiddenStates(L - 1); // block t+1 is h after reading ids[t]
  const h = (t: number, j: number) => hs[(t + 1) * H + j]!;
  // the cells whose h varies most over the text
  const spread = Array.from({ length: H }, (_, j) => {
    let s = 0, s2 = 0;
    for (let t = 0; t < T; t++) { s += h(t, j); s2 += h(t, j) ** 2; }
    return { j, sd: Math.sqrt(Math.max(0, s2 / T - (s / T) ** 2)) };
  }).sort((a, b) => b.sd - a.sd).slice(0, SHOW_CELLS);
  const chars = Array.from(known.slice(0, SHOW_CHARS));
  const blocks = spread.map(({ j, sd }) => {
    const spans = chars.map((ch, t) => `<span style="background:${shade(h(t, j))}" title="h = ${h(t, j).toFixed(3)}">${glyph(ch)}</span>`).join('');
    return `<h2>layer ${L}, cell ${j} <small>(std of h ${sd.toFixed(3)})</small></h2><p class="text">${spans}</p>`;
  });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rnnkit playground: cells</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:12px;color:#222}h1{font-size:16px;margin:0 0 4px}h2{font-size:14px;margin:14px 0 4px}
small,.note{color:#666}.text{font:13px/1.5 ui-monospace,monospace;white-space:pre-wrap;word-break:break-all;margin:0}
.key span{padding:0 6px}</style></head><body id="cell-view">
<h1>Hidden state of the ${SHOW_CELLS} most active cells</h1>
<p class="note">${lm.config.cell} ${L}x${H}, on the first ${chars.length} held-out characters. Each character is coloured by the cell's
h after reading it: <span class="key"><span style="background:${shade(-1)}">−1</span><span style="background:${shade(0)}">0</span><span style="background:${shade(1)}">+1</span></span>.
The full cell view and search arrive with <code>rnnkit cells</code>.</p>
${blocks.join('\n')}</body></html>`;
}

/** Blue for negative, red for positive, white at 0 (h of tanh cells lies in [-1, 1]). */
function shade(v: number): string {
  const a = Math.min(1, Math.abs(v));
  const fade = (c: number) => Math.round(255 - a * (255 - c));
  return v < 0 ? `rgb(${fade(33)},${fade(102)},${fade(172)})` : `rgb(${fade(214)},${fade(96)},${fade(77)})`;
}

function glyph(ch: string): string {
  if (ch === '\n') return '↵\n';
  return ch.replace(/[&<>"]/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot' }[c]};`);
}
