// Dependency-free SVG line charts, for training curves and diagnostics. lineChart returns
// a standalone SVG document: open it in a browser, put it in Markdown, or turn it into a
// PNG with svgToPng (png.ts). Same input, same string: nothing depends on time or
// randomness, and every coordinate is rounded to 2 decimals.

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Draw this series dashed (when its automatic style would be solid). */
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  logX?: boolean;
  /** Size of the whole image in px (default 760 x 440); it grows if the legend needs room. */
  width?: number;
  height?: number;
  /** Fix the y range instead of fitting it to the data (lines are clipped to the plot). */
  yMin?: number;
  yMax?: number;
  /** One line of small print under the title (data source, settings). */
  note?: string;
}

export const FONT_FAMILY = 'DejaVu Sans, Helvetica, Arial, sans-serif';

// Okabe & Ito's colour-blind-safe palette, in an order that keeps the first few series far
// apart. Their yellow is left out: it is unreadable as a thin line on white.
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
// After every colour is used once, the next round repeats them with another dash pattern.
const DASHES = ['', '7 4', '2 3', '9 3 2 3'];

/** The stroke colour and dash pattern ('' = solid) of the i-th series. */
export function seriesStyle(i: number, dashed = false): { color: string; dash: string } {
  const color = COLORS[i % COLORS.length]!;
  let dash = DASHES[Math.floor(i / COLORS.length) % DASHES.length]!;
  if (dashed && dash === '') dash = DASHES[1]!;
  return { color, dash };
}

// ---- axes ----

// Loops, not Math.min(...v): spreading a long training curve overflows the stack.
function minOf(v: number[]): number { let m = Infinity; for (const x of v) if (x < m) m = x; return m; }
function maxOf(v: number[]): number { let m = -Infinity; for (const x of v) if (x > m) m = x; return m; }

interface Tick { v: number; label: string } // v in axis units: log10(value) on a log axis
interface Axis { lo: number; hi: number; ticks: Tick[]; minor: number[] }

/** A "nice" step (1, 2 or 5 times a power of ten) that cuts span into about n pieces. */
function niceStep(span: number, n: number): number {
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

function linearAxis(data: number[], fixedLo?: number, fixedHi?: number): Axis {
  let lo = fixedLo ?? (data.length ? minOf(data) : 0);
  let hi = fixedHi ?? (data.length ? maxOf(data) : 1);
  if (!(hi > lo)) { // one value (or an inverted fixed range): open it up around the value
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    if (fixedLo === undefined) lo -= pad;
    if (fixedHi === undefined) hi += pad;
    if (!(hi > lo)) hi = lo + pad;
  }
  const step = niceStep(hi - lo, 6);
  // A fitted range ends on ticks; a fixed one is kept as asked.
  if (fixedLo === undefined) lo = Math.floor(lo / step + 1e-9) * step;
  if (fixedHi === undefined) hi = Math.ceil(hi / step - 1e-9) * step;
  const vs: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9); k++) vs.push(k * step);
  // One format for the whole axis, so labels line up: exponents only for huge or tiny values.
  const big = Math.max(...vs.map(Math.abs));
  const exp = big >= 1e6 || (big > 0 && big < 1e-3);
  const stepExp = Math.floor(Math.log10(step) + 1e-9);
  const decimals = Math.max(0, Math.min(12, -stepExp));
  // enough mantissa digits that neighbouring ticks differ: 2.5e6, not 3e6
  const digits = Math.max(0, Math.min(15, Math.floor(Math.log10(big) + 1e-9) - stepExp));
  const fmt = (v: number): string => {
    if (Math.abs(v) < step * 1e-6) return '0'; // also avoids "-0" and 1e-17 from rounding
    if (!exp) return v.toFixed(decimals);
    return v.toExponential(digits).replace(/\.?0+e/, 'e').replace('e+', 'e'); // 2.50e+6 -> 2.5e6
  };
  return { lo, hi, ticks: vs.map((v) => ({ v, label: fmt(v) })), minor: [] };
}

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹',
};
/** 10⁻⁸ for e = -8. */
export function powerOfTen(e: number): string {
  return '10' + [...String(e)].map((c) => SUPERSCRIPT[c] ?? c).join('');
}

// Works in log10 units: ticks at whole decades, light minor lines at 2..9 times each.
function logAxis(data: number[], fixedLo?: number, fixedHi?: number): Axis {
  if (fixedLo !== undefined && !(fixedLo > 0)) fixedLo = undefined; // no log of <= 0
  if (fixedHi !== undefined && !(fixedHi > 0)) fixedHi = undefined;
  let lo = fixedLo !== undefined ? Math.log10(fixedLo) : data.length ? Math.floor(Math.log10(minOf(data))) : 0;
  let hi = fixedHi !== undefined ? Math.log10(fixedHi) : data.length ? Math.ceil(Math.log10(maxOf(data))) : 1;
  if (!(hi > lo)) {
    if (fixedHi === undefined) hi = lo + 1; else lo = hi - 1;
  }
  const first = Math.ceil(lo - 1e-9), last = Math.floor(hi + 1e-9);
  const decades = Math.ceil(hi - 1e-9) - Math.floor(lo + 1e-9);
  const every = Math.max(1, Math.ceil(decades / 10)); // label at most ~10 decades
  const ticks: Tick[] = [];
  for (let e = first; e <= last; e++) ticks.push({ v: e, label: ((e % every) + every) % every === 0 ? powerOfTen(e) : '' });
  const minor: number[] = [];
  if (decades <= 8) {
    for (let e = Math.floor(lo + 1e-9); e < Math.ceil(hi - 1e-9); e++) {
      for (let m = 2; m <= 9; m++) {
        const v = e + Math.log10(m);
        if (v >= lo - 1e-9 && v <= hi + 1e-9) minor.push(v);
      }
    }
  }
  // A fixed range inside one decade has no decade tick to read: label 2x and 5x instead.
  if (ticks.length < 2) {
    for (const v of minor) {
      const m = Math.round(10 ** (v - Math.floor(v + 1e-9)));
      if (m === 2 || m === 5) ticks.push({ v, label: String(Number((10 ** v).toPrecision(2))) });
    }
    ticks.sort((a, b) => a.v - b.v);
  }
  return { lo, hi, ticks, minor };
}

// ---- SVG text ----

/** A coordinate or length, rounded to 2 decimals; never "-0". */
function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return r === 0 ? '0' : String(r);
}

/** Escapes text for XML and drops the control characters XML 1.0 does not allow. */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '') // lone surrogates
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

// No font metrics without a renderer: estimate widths (DejaVu Sans is about 0.58 em per
// character on average) to size the margins and the legend.
const textWidth = (s: string, size: number): number => [...s].length * size * 0.58;

function clip(s: string, max: number): string {
  const cs = [...s];
  return cs.length <= max ? s : cs.slice(0, max - 1).join('') + '…';
}

// ---- the chart ----

export function lineChart(series: Series[], opts: ChartOptions): string {
  const logX = opts.logX ?? false, logY = opts.logY ?? false;

  // Points that cannot be drawn (non-finite, or <= 0 on a log axis) break the line.
  const ok = (v: number, log: boolean): boolean => Number.isFinite(v) && (!log || v > 0);
  const xs: number[] = [], ys: number[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new Error(`lineChart: series "${s.name}" has ${s.x.length} x values and ${s.y.length} y values`);
    for (let i = 0; i < s.x.length; i++) {
      if (ok(s.x[i]!, logX) && ok(s.y[i]!, logY)) { xs.push(s.x[i]!); ys.push(s.y[i]!); }
    }
  }
  const xa = logX ? logAxis(xs) : linearAxis(xs);
  const fixed = (v: number | undefined): number | undefined => (v !== undefined && Number.isFinite(v) ? v : undefined);
  const yMin = fixed(opts.yMin), yMax = fixed(opts.yMax);
  const ya = logY ? logAxis(ys, yMin, yMax) : linearAxis(ys, yMin, yMax);

  // Layout: title (and note) on top, y label and tick labels on the left, legend on the
  // right of the plot so it never covers data, x tick labels and x label below.
  const names = series.map((s) => clip(s.name, 40));
  const legendW = series.length ? 16 + 28 + Math.max(...names.map((n) => textWidth(n, 12))) + 12 : 16;
  const top = opts.note ? 58 : 42, bottom = 56;
  const left = 30 + Math.max(0, ...ya.ticks.map((t) => textWidth(t.label, 11))) + 10;
  const width = Math.max(opts.width ?? 760, left + legendW + 160);
  const height = Math.max(opts.height ?? 440, top + bottom + 120, top + series.length * 18 + 12 + bottom);
  const pw = width - left - legendW, ph = height - top - bottom;

  const BIG = 1e6; // keeps far-off points (fixed yMin/yMax) out of exponent notation
  const cl = (v: number): number => Math.max(-BIG, Math.min(BIG, v));
  const px = (v: number): number => cl(left + ((logX ? Math.log10(v) : v) - xa.lo) / (xa.hi - xa.lo) * pw);
  const py = (v: number): number => cl(top + ph - ((logY ? Math.log10(v) : v) - ya.lo) / (ya.hi - ya.lo) * ph);
  const ax = (t: number): string => num(left + (t - xa.lo) / (xa.hi - xa.lo) * pw); // axis units
  const ay = (t: number): string => num(top + ph - (t - ya.lo) / (ya.hi - ya.lo) * ph);
  const bottomY = num(top + ph), rightX = num(left + pw);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${FONT_FAMILY}">`);
  out.push(`<title>${escapeXml(opts.title)}</title>`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  // The id depends only on the plot rectangle, so two charts inlined in one page that share
  // an id also share the same clip rectangle.
  const clipId = `plot-${num(left)}-${num(top)}-${num(pw)}-${num(ph)}`.replace(/\./g, '_');
  // 2 px of slack, so a line along the plot's edge is not cut in half
  out.push(`<defs><clipPath id="${clipId}"><rect x="${num(left - 2)}" y="${num(top - 2)}" width="${num(pw + 4)}" height="${num(ph + 4)}"/></clipPath></defs>`);

  // Grid: minor lines lightest, then major lines; drawn first so data sits on top.
  const grid: string[] = [];
  for (const t of xa.minor) grid.push(`<line class="minor" x1="${ax(t)}" y1="${num(top)}" x2="${ax(t)}" y2="${bottomY}" stroke="#f0f0f0"/>`);
  for (const t of ya.minor) grid.push(`<line class="minor" x1="${num(left)}" y1="${ay(t)}" x2="${rightX}" y2="${ay(t)}" stroke="#f0f0f0"/>`);
  for (const t of xa.ticks) grid.push(`<line x1="${ax(t.v)}" y1="${num(top)}" x2="${ax(t.v)}" y2="${bottomY}" stroke="#dcdcdc"/>`);
  for (const t of ya.ticks) grid.push(`<line x1="${num(left)}" y1="${ay(t.v)}" x2="${rightX}" y2="${ay(t.v)}" stroke="#dcdcdc"/>`);
  out.push(`<g class="grid" stroke-width="1">${grid.join('')}</g>`);

  // Axes, tick marks and tick labels.
  const axes: string[] = [];
  axes.push(`<line x1="${num(left)}" y1="${bottomY}" x2="${rightX}" y2="${bottomY}"/>`);
  axes.push(`<line x1="${num(left)}" y1="${num(top)}" x2="${num(left)}" y2="${bottomY}"/>`);
  for (const t of xa.ticks) axes.push(`<line x1="${ax(t.v)}" y1="${bottomY}" x2="${ax(t.v)}" y2="${num(top + ph + 4)}"/>`);
  for (const t of ya.ticks) axes.push(`<line x1="${num(left - 4)}" y1="${ay(t.v)}" x2="${num(left)}" y2="${ay(t.v)}"/>`);
  out.push(`<g class="axes" stroke="#444444" stroke-width="1">${axes.join('')}</g>`);
  const xl = xa.ticks.filter((t) => t.label).map((t) => `<text class="tick-x" x="${ax(t.v)}" y="${num(top + ph + 18)}">${escapeXml(t.label)}</text>`);
  out.push(`<g font-size="11" fill="#333333" text-anchor="middle">${xl.join('')}</g>`);
  const yl = ya.ticks.filter((t) => t.label).map((t) => `<text class="tick-y" x="${num(left - 7)}" y="${num(Number(ay(t.v)) + 4)}">${escapeXml(t.label)}</text>`);
  out.push(`<g font-size="11" fill="#333333" text-anchor="end">${yl.join('')}</g>`);

  // Title, note and axis labels.
  const cx = num(left + pw / 2), cy = num(top + ph / 2);
  out.push(`<text class="title" x="${cx}" y="24" font-size="15" font-weight="bold" fill="#111111" text-anchor="middle">${escapeXml(opts.title)}</text>`);
  if (opts.note) out.push(`<text class="note" x="${cx}" y="42" font-size="11" fill="#666666" text-anchor="middle">${escapeXml(opts.note)}</text>`);
  out.push(`<text class="xlabel" x="${cx}" y="${num(top + ph + 42)}" font-size="12" fill="#111111" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`);
  out.push(`<text class="ylabel" x="16" y="${cy}" transform="rotate(-90 16 ${cy})" font-size="12" fill="#111111" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`);

  // Data: one path per series, split where a point cannot be drawn; a point with no drawable
  // neighbour gets a dot, or it would not show at all.
  const lines: string[] = [];
  series.forEach((s, si) => {
    const { color, dash } = seriesStyle(si, s.dashed);
    const d: string[] = [], dots: string[] = [];
    let run: [string, string][] = [];
    const flush = (): void => {
      if (run.length === 1) dots.push(`<circle cx="${run[0]![0]}" cy="${run[0]![1]}" r="2.5" fill="${color}" stroke="none"/>`);
      else if (run.length > 1) d.push('M' + run.map(([x, y]) => `${x} ${y}`).join('L'));
      run = [];
    };
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!, y = s.y[i]!;
      if (ok(x, logX) && ok(y, logY)) run.push([num(px(x)), num(py(y))]);
      else flush();
    }
    flush();
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    lines.push(`<g class="series" stroke="${color}"${dashAttr}>` +
      (d.length ? `<path d="${d.join('')}"/>` : '') + dots.join('') + '</g>');
  });
  out.push(`<g clip-path="url(#${clipId})" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">${lines.join('')}</g>`);

  // Legend: a short line in each series' style, then its name.
  const lx = left + pw + 16;
  const legend = series.map((s, i) => {
    const { color, dash } = seriesStyle(i, s.dashed);
    const y = top + 10 + i * 18;
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    return `<g class="legend-item"><line x1="${num(lx)}" y1="${num(y)}" x2="${num(lx + 24)}" y2="${num(y)}" stroke="${color}" stroke-width="2.5"${dashAttr}/>` +
      `<text x="${num(lx + 30)}" y="${num(y + 4)}">${escapeXml(names[i]!)}</text></g>`;
  });
  if (legend.length) out.push(`<g class="legend" font-size="12" fill="#111111">${legend.join('')}</g>`);

  out.push('</svg>');
  return out.join('\n') + '\n';
}
