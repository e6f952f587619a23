// The reverse search of the cell viewer, as in LSTMVis (Strobelt et al. 2018): select a
// span of the text; the cells that are on (activation >= threshold) over all of it are
// its pattern; the other spans where those cells show the most similar on/off pattern,
// and the other cells whose on/off pattern over the text is closest to the selected
// cells', are listed. It lives here, beside the page, because the page's script runs
// the very same function: cellsPage embeds similarSpans.toString(), so it must stay
// self-contained (no imports, no helpers outside its body).

export interface SpanSearchOptions {
  threshold?: number; // a cell is on at a step when its activation >= threshold (0.5)
  scale?: number;     // activation = acts[i] * scale (1; the page passes 1/127 for its int8 data)
  maxCells?: number;  // at most this many selected cells, the most specific first (10)
  maxSpans?: number;  // spans listed (10)
  maxRelated?: number; // other cells listed (10)
}

export interface SpanSearchResult {
  /** Cells on over the whole span, the most specific first (on least often over the text). */
  cells: { cell: number; onFraction: number }[];
  /** Other spans of the same length, best first, not overlapping each other or the selection. */
  spans: { start: number; end: number; score: number }[];
  /** Other cells by the Jaccard similarity of their on-steps to the steps where most selected cells are on. */
  related: { cell: number; score: number }[];
}

/**
 * acts: (T, H) row-major activations of one layer and quantity. The selected span is
 * steps [start, end). A span's score is the fraction of (selected cell, step) pairs whose
 * on/off state equals the selection's, over the span and one step either side (where
 * both exist), so a span scores 1 when the cells switch on and off exactly as there.
 */
export function similarSpans(acts: ArrayLike<number>, T: number, H: number, start: number, end: number, opts: SpanSearchOptions = {}): SpanSearchResult {
  const thr = opts.threshold ?? 0.5, scale = opts.scale ?? 1;
  const maxCells = opts.maxCells ?? 10, maxSpans = opts.maxSpans ?? 10, maxRelated = opts.maxRelated ?? 10;
  const none: SpanSearchResult = { cells: [], spans: [], related: [] };
  start = Math.max(0, Math.floor(start)); end = Math.min(T, Math.floor(end));
  if (!(end > start) || H < 1) return none;
  const on = (t: number, j: number): boolean => acts[t * H + j]! * scale >= thr;
  const onCount = new Int32Array(H);
  for (let t = 0; t < T; t++) for (let j = 0; j < H; j++) if (on(t, j)) onCount[j]++;
  const chosen: { cell: number; onFraction: number }[] = [];
  for (let j = 0; j < H; j++) {
    let all = true;
    for (let t = start; t < end && all; t++) all = on(t, j);
    if (all) chosen.push({ cell: j, onFraction: onCount[j]! / T });
  }
  chosen.sort((a, b) => a.onFraction - b.onFraction || a.cell - b.cell);
  const cells = chosen.slice(0, maxCells);
  if (!cells.length) return none;
  const len = end - start, S = cells.length;
  // the selection's pattern over offsets -1 .. len (outside the text: not compared)
  const pattern: (boolean | null)[][] = [];
  for (let k = -1; k <= len; k++) {
    const t = start + k;
    pattern.push(cells.map((c) => (t >= 0 && t < T ? on(t, c.cell) : null)));
  }
  const scored: { start: number; score: number }[] = [];
  for (let p = 0; p + len <= T; p++) {
    if (p < end && p + len > start) continue; // overlaps the selection
    let same = 0, total = 0;
    for (let k = -1; k <= len; k++) {
      const t = p + k;
      if (t < 0 || t >= T) continue;
      const row = pattern[k + 1]!;
      for (let q = 0; q < S; q++) {
        const want = row[q];
        if (want === null || want === undefined) continue;
        total++;
        if (on(t, cells[q]!.cell) === want) same++;
      }
    }
    if (total) scored.push({ start: p, score: same / total });
  }
  scored.sort((a, b) => b.score - a.score || a.start - b.start);
  const spans: SpanSearchResult['spans'] = [];
  for (const s of scored) {
    if (spans.length >= maxSpans) break;
    if (spans.some((o) => s.start < o.end && s.start + len > o.start)) continue;
    spans.push({ start: s.start, end: s.start + len, score: s.score });
  }
  // steps where most selected cells are on; other cells ranked by Jaccard similarity to them
  const major = new Uint8Array(T);
  let majorCount = 0;
  for (let t = 0; t < T; t++) {
    let c = 0;
    for (let q = 0; q < S; q++) if (on(t, cells[q]!.cell)) c++;
    if (2 * c > S) { major[t] = 1; majorCount++; }
  }
  const picked = new Set(cells.map((c) => c.cell)), related: SpanSearchResult['related'] = [];
  for (let j = 0; j < H; j++) {
    if (picked.has(j)) continue;
    let both = 0;
    for (let t = 0; t < T; t++) if (major[t] && on(t, j)) both++;
    const union = majorCount + onCount[j]! - both;
    if (both > 0) related.push({ cell: j, score: both / union });
  }
  related.sort((a, b) => b.score - a.score || a.cell - b.cell);
  return { cells, spans, related: related.slice(0, maxRelated) };
}
