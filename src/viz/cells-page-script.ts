// The script of the cell viewer page (cells-page.ts). It is written here as a typed
// function and embedded with toString(), so it must be self-contained: it reads the
// page's data from the JSON element #cells-data and gets the reverse search (span-search.ts)
// as its argument. Browser only; nothing here runs in Node.
import type { similarSpans } from './span-search.js';

/** The JSON the page carries (cellsPage writes it). */
export interface PageJson {
  layers: number; H: number; quantities: string[]; vocab: string[];
  start: number; text: string; acts: string[]; // base64 int8 (n, H) per layer*Q + q, value * 127
  topIds: number[]; topProbs: number[];         // (n, 5)
}

export function cellsPageMain(search: typeof similarSpans): void {
  const $ = (id: string) => document.getElementById(id)!;
  const data = JSON.parse($('cells-data').textContent!) as PageJson;
  const { H, quantities: Q, vocab } = data, chars = Array.from(data.text), n = chars.length;
  const acts = data.acts.map((b64) => {
    const bin = atob(b64), a = new Int8Array(bin.length);
    for (let i = 0; i < bin.length; i++) a[i] = (bin.charCodeAt(i) << 24) >> 24;
    return a;
  });
  // diverging blue-white-red, one colour per int8 value
  const palette: string[] = [];
  for (let q = -128; q < 128; q++) {
    const v = Math.max(-1, Math.min(1, q / 127)), c = Math.round(255 * (1 - Math.abs(v)));
    palette.push(v >= 0 ? `rgb(255,${c},${c})` : `rgb(${c},${c},255)`);
  }
  const layerSel = $('layer') as HTMLSelectElement, qSel = $('quantity') as HTMLSelectElement, cellIn = $('cell') as HTMLInputElement;
  for (let l = 0; l < data.layers; l++) layerSel.add(new Option(`layer ${l + 1}`, String(l)));
  Q.forEach((q, i) => qSel.add(new Option(q === 'tanh_c' ? 'tanh(c)' : q, String(i))));
  cellIn.max = String(H - 1);
  const show = (ch: string) => (ch === '\n' ? '\u21b5\n' : ch === '\t' ? '\u2192\t' : ch);
  const view = $('text'), spans: HTMLSpanElement[] = [], index = new Map<Element, number>();
  const frag = document.createDocumentFragment();
  chars.forEach((ch, i) => {
    const s = document.createElement('span');
    s.textContent = show(ch);
    if (ch === '\n') s.className = 'nl';
    spans.push(s); index.set(s, i); frag.appendChild(s);
  });
  view.appendChild(frag);
  const cur = { l: 0, q: 0, j: 0 };
  const series = () => acts[cur.l * Q.length + cur.q]!;
  function paint(): void {
    const a = series();
    for (let i = 0; i < n; i++) spans[i]!.style.backgroundColor = palette[a[i * H + cur.j]! + 128]!;
    $('current').textContent = `layer ${cur.l + 1}, ${Q[cur.q] === 'tanh_c' ? 'tanh(c)' : Q[cur.q]}, cell ${cur.j}`;
  }
  function select(l: number, q: number, j: number, keepHash = false): void {
    cur.l = Math.max(0, Math.min(data.layers - 1, l)); cur.q = Math.max(0, Math.min(Q.length - 1, q)); cur.j = Math.max(0, Math.min(H - 1, j));
    layerSel.value = String(cur.l); qSel.value = String(cur.q); cellIn.value = String(cur.j);
    paint();
    const hash = `#L${cur.l + 1}-${Q[cur.q]}-${cur.j}`;
    if (!keepHash && location.hash !== hash) history.replaceState(null, '', hash);
  }
  /** Shows the view an anchor names (#L2-tanh_c-117); false if it names none. */
  function showView(hash: string, keepHash: boolean): boolean {
    const m = /^#L(\d+)-(\w+)-(\d+)$/.exec(hash);
    if (m) select(Number(m[1]) - 1, Math.max(0, Q.indexOf(m[2]!)), Number(m[3]), keepHash);
    return !!m;
  }
  const readSel = () => select(Number(layerSel.value), Number(qSel.value), Number(cellIn.value) || 0);
  layerSel.onchange = readSel; qSel.onchange = readSel; cellIn.onchange = readSel;
  $('prev').onclick = () => select(cur.l, cur.q, cur.j - 1);
  $('next').onclick = () => select(cur.l, cur.q, cur.j + 1);
  window.addEventListener('hashchange', () => { showView(location.hash, true); });
  document.querySelectorAll<SVGElement>('[data-cell]').forEach((el) => {
    el.addEventListener('click', () => { const [l, j] = el.dataset['cell']!.split(',').map(Number); select(l!, 0, j!); });
  });
  // hover: the model's top-5 guesses for the next character
  const tip = $('tip'), label = (ch: string) => JSON.stringify(ch);
  view.addEventListener('mousemove', (e) => {
    const i = index.get(e.target as Element);
    if (i === undefined) { tip.style.display = 'none'; return; }
    const a = series()[i * H + cur.j]! / 127;
    let html = `<b>${data.start + i}</b> read ${escapeHtml(label(chars[i]!))}, activation ${a.toFixed(3)}<br>next-character guesses:`;
    for (let k = 0; k < 5; k++) {
      const id = data.topIds[i * 5 + k]!;
      if (id < 0) continue;
      const next = chars[i + 1] === vocab[id] ? ' class="hit"' : '';
      html += `<br><span${next}>${escapeHtml(label(vocab[id]!))} ${(100 * data.topProbs[i * 5 + k]!).toFixed(1)}%</span>`;
    }
    tip.innerHTML = html;
    tip.style.display = 'block';
    tip.style.left = `${Math.min(e.clientX + 14, innerWidth - 240)}px`; tip.style.top = `${e.clientY + 14}px`;
  });
  view.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  function escapeHtml(s: string): string {
    return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  }
  // the reverse search over the selected text
  function flash(from: number, to: number): void {
    spans.forEach((s) => s.classList.remove('mark'));
    for (let i = from; i < to; i++) spans[i]!.classList.add('mark');
    spans[from]?.scrollIntoView({ block: 'center' });
  }
  $('find').onclick = () => {
    const sel = getSelection(), out = $('found');
    const ends = sel && sel.rangeCount ? [sel.anchorNode, sel.focusNode].map((nd) => index.get((nd?.nodeType === 3 ? nd.parentElement : nd) as Element)) : [];
    if (ends.length !== 2 || ends[0] === undefined || ends[1] === undefined) { out.textContent = 'Select a span of the text above first.'; return; }
    const from = Math.min(ends[0], ends[1]), to = Math.max(ends[0], ends[1]) + 1;
    const thr = Number(($('threshold') as HTMLInputElement).value);
    const r = search(series(), n, H, from, to, { threshold: thr, scale: 1 / 127 });
    const quote = (a: number, b: number) => escapeHtml(label(chars.slice(a, b).join('')));
    const cellLink = (j: number) => `<a href="#L${cur.l + 1}-${Q[cur.q]}-${j}">${j}</a>`;
    if (!r.cells.length) { out.innerHTML = `No cell of this layer and quantity is &ge; ${thr} over all of ${quote(from, to)}.`; return; }
    out.innerHTML = `<p>Selected ${quote(from, to)} (${to - from} characters). On over all of it: ` +
      r.cells.map((c) => `cell ${cellLink(c.cell)} (on ${(100 * c.onFraction).toFixed(1)}% of the text)`).join(', ') + '</p>' +
      '<p>Most similar spans (share of matching on/off states):</p><ol>' +
      r.spans.map((s) => `<li><a href="#" data-span="${s.start},${s.end}">${quote(s.start, s.end)}</a> at ${data.start + s.start}, ${(100 * s.score).toFixed(0)}%</li>`).join('') +
      '</ol><p>Other cells on where these are (Jaccard): ' + r.related.map((c) => `${cellLink(c.cell)} ${c.score.toFixed(2)}`).join(', ') + '</p>';
    out.querySelectorAll<HTMLElement>('[data-span]').forEach((el) => {
      el.onclick = (e) => { e.preventDefault(); const [a, b] = el.dataset['span']!.split(',').map(Number); flash(a!, b!); };
    });
    flash(from, to);
  };
  // start at the view in the address, else at the first signal's best cell
  // (another anchor, e.g. #gates, only scrolls)
  const first = document.querySelector<HTMLAnchorElement>('#signals a');
  if (!showView(location.hash, true) && !showView(first?.hash ?? '', true)) select(0, 0, 0, true);
}
