// SVG line charts (src/viz/chart.ts) and their PNG rendering (src/viz/png.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineChart, powerOfTen, type Series, type ChartOptions } from '../src/viz/chart.js';
import { svgToPng } from '../src/viz/png.js';

const steps = Array.from({ length: 50 }, (_, i) => i * 10);
const curve = (f: (t: number) => number): number[] => steps.map(f);
const opts: ChartOptions = { title: 'Loss & friends', xLabel: 'step', yLabel: 'loss (nats)' };

/** Checks that every tag is closed in order and returns the element names seen. */
function checkBalanced(svg: string): string[] {
  const stack: string[] = [], seen: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the open element`);
    else {
      seen.push(name!);
      if (!selfClose) stack.push(name!);
    }
  }
  assert.deepEqual(stack, [], 'all elements closed');
  return seen;
}

/** The text content of the <text class="cls"> elements, unescaped. */
function texts(svg: string, cls: string): string[] {
  return [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) =>
    m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
}

/** (stroke, dasharray) of each series group, in order. */
function seriesStyles(svg: string): string[] {
  return [...svg.matchAll(/<g class="series" stroke="([^"]+)"(?: stroke-dasharray="([^"]+)")?>/g)].map((m) => `${m[1]}|${m[2] ?? ''}`);
}

function assertCleanNumbers(svg: string): void {
  assert.ok(!/NaN|Infinity|undefined/.test(svg), 'no NaN, Infinity or undefined');
  // attribute values hold at most 2 decimals (tick labels, being text, may hold more)
  for (const m of svg.matchAll(/="([^"]*)"/g)) assert.ok(!/\d\.\d{3}/.test(m[1]!), `rounded: ${m[1]}`);
}

test('a chart is a standalone SVG with title, axis labels and legend', () => {
  const svg = lineChart([
    { name: 'train', x: steps, y: curve((t) => 4 * Math.exp(-t / 100) + 1.5) },
    { name: 'val <held-out> & "test"', x: steps, y: curve((t) => 4 * Math.exp(-t / 120) + 1.6), dashed: true },
  ], { ...opts, note: 'lr 3e-3' });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  const names = checkBalanced(svg);
  for (const el of ['title', 'text', 'path', 'line', 'clipPath']) assert.ok(names.includes(el), el);
  assert.match(svg, /<title>Loss &amp; friends<\/title>/);
  assert.deepEqual(texts(svg, 'title'), ['Loss & friends']);
  assert.deepEqual(texts(svg, 'xlabel'), ['step']);
  assert.deepEqual(texts(svg, 'ylabel'), ['loss (nats)']);
  assert.deepEqual(texts(svg, 'note'), ['lr 3e-3']);
  assert.ok(svg.includes('>train</text>'));
  assert.ok(svg.includes('>val &lt;held-out&gt; &amp; &quot;test&quot;</text>'), 'legend names are escaped');
  assert.ok(lineChart([{ name: 'x\u0001\ud800y', x: [1], y: [1] }], opts).includes('>xy</text>'), 'characters XML cannot hold are dropped');
  assert.match(svg, /font-family="DejaVu Sans, Helvetica, Arial, sans-serif"/);
  assert.deepEqual(seriesStyles(svg).map((s) => s.split('|')[1] !== ''), [false, true], 'dashed: true is dashed');
  assertCleanNumbers(svg);
});

test('linear axes get nice ticks that span the data', () => {
  const svg = lineChart([{ name: 'a', x: [3, 487], y: [0.137, 0.871] }], opts);
  for (const axis of ['tick-x', 'tick-y']) {
    const v = texts(svg, axis).map(Number);
    assert.ok(v.length >= 4 && v.length <= 12, `${axis}: ${v}`);
    const step = v[1]! - v[0]!;
    const mant = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert.ok([1, 2, 5].some((m) => Math.abs(mant - m) < 1e-6), `${axis}: step ${step} is 1, 2 or 5 x 10^k`);
    for (let i = 1; i < v.length; i++) assert.ok(Math.abs(v[i]! - v[i - 1]! - step) < 1e-9, `${axis}: even steps`);
  }
  const y = texts(svg, 'tick-y').map(Number), x = texts(svg, 'tick-x').map(Number);
  assert.ok(y[0]! <= 0.137 && y.at(-1)! >= 0.871, `y ticks ${y}`);
  assert.ok(x[0]! <= 3 && x.at(-1)! >= 487, `x ticks ${x}`);
  assert.deepEqual(texts(svg, 'tick-y'), ['0.1', '0.2', '0.3', '0.4', '0.5', '0.6', '0.7', '0.8', '0.9']);
  // huge and tiny values switch to exponents, with enough digits to tell ticks apart
  const big = texts(lineChart([{ name: 'a', x: [1, 2], y: [2.1e6, 3.9e6] }], opts), 'tick-y');
  assert.deepEqual(big, ['2e6', '2.5e6', '3e6', '3.5e6', '4e6']);
  const tiny = texts(lineChart([{ name: 'a', x: [1, 2], y: [-2e-5, 5e-5] }], opts), 'tick-y');
  assert.ok(tiny.includes('0') && tiny.includes('-1e-5') && tiny.includes('5e-5'), tiny.join(' '));
});

test('a log axis has decade ticks spanning the data and minor grid lines', () => {
  const svg = lineChart([{ name: 'err', x: steps, y: curve((t) => 0.4 * 10 ** (-t / 70)) }], { ...opts, logY: true });
  // 0.4 .. 0.4e-7 = 4e-8: decades 1e-8 .. 1e0
  const want = Array.from({ length: 9 }, (_, i) => powerOfTen(-8 + i));
  assert.deepEqual(texts(svg, 'tick-y'), want);
  assert.equal(powerOfTen(-8), '10⁻⁸');
  assert.equal(powerOfTen(12), '10¹²');
  assert.ok((svg.match(/class="minor"/g) ?? []).length >= 8 * 8, 'minor lines at 2..9 x 10^k');
  assertCleanNumbers(svg);

  const x = lineChart([{ name: 'lr', x: [1e-5, 3e-2], y: [1, 2] }], { ...opts, logX: true });
  assert.deepEqual(texts(x, 'tick-x'), [-5, -4, -3, -2, -1].map(powerOfTen));
});

test('points that cannot be drawn break the line, with no NaN in the SVG', () => {
  const y = [1, 0.5, 0, 0.2, 0.1, -1, NaN, 0.05, 0.02, Infinity, 0.01];
  const x = y.map((_, i) => i);
  const svg = lineChart([{ name: 's', x, y }], { ...opts, logY: true });
  assertCleanNumbers(svg);
  const d = /<g class="series"[^>]*><path d="([^"]+)"/.exec(svg)![1]!;
  assert.equal(d.split('M').length - 1, 3, 'three runs: [1, 0.5], [0.2, 0.1], [0.05, 0.02]');
  assert.equal((svg.match(/<circle /g) ?? []).length, 1, 'the lone 0.01 is a dot');
  // decades for the drawable values 0.01 .. 1 only
  assert.deepEqual(texts(svg, 'tick-y'), [-2, -1, 0].map(powerOfTen));

  // on a linear axis only non-finite values break the line
  const lin = lineChart([{ name: 's', x, y }], opts);
  assertCleanNumbers(lin);
  const dl = /<g class="series"[^>]*><path d="([^"]+)"/.exec(lin)![1]!;
  assert.equal(dl.split('M').length - 1, 2);

  // nothing drawable at all, and no series at all, still give a valid chart
  for (const s of [lineChart([{ name: 'bad', x: [1, 2], y: [0, -1] }], { ...opts, logY: true }), lineChart([], opts)]) {
    checkBalanced(s);
    assertCleanNumbers(s);
  }
});

test('more series than colours still get distinct styles, in plot and legend', () => {
  const series: Series[] = Array.from({ length: 16 }, (_, k) => ({ name: `run ${k}`, x: steps, y: curve((t) => k + t / 100) }));
  const svg = lineChart(series, opts);
  const styles = seriesStyles(svg);
  assert.equal(styles.length, 16);
  assert.equal(new Set(styles).size, 16, styles.join(', '));
  const legend = [...svg.matchAll(/<g class="legend-item"><line [^>]*stroke="([^"]+)" stroke-width="[\d.]+"(?: stroke-dasharray="([^"]+)")?\/>/g)]
    .map((m) => `${m[1]}|${m[2] ?? ''}`);
  assert.deepEqual(legend, styles, 'each legend swatch matches its line');
  // the legend sits right of the plot: every legend x is beyond the plot's clip rectangle
  const clip = /<clipPath id="[^"]+"><rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(svg)!;
  const plotRight = Number(clip[1]) + Number(clip[2]);
  for (const m of svg.matchAll(/<g class="legend-item"><line x1="([\d.]+)"/g)) assert.ok(Number(m[1]) > plotRight);
  // and the image grows to hold all 16 entries
  const h = Number(/height="([\d.]+)"/.exec(svg)![1]);
  const lastY = Math.max(...[...svg.matchAll(/<g class="legend-item"><line x1="[\d.]+" y1="([\d.]+)"/g)].map((m) => Number(m[1])));
  assert.ok(lastY < h, `${lastY} < ${h}`);
});

test('fixed y range: ticks stay inside it and data is clipped', () => {
  const svg = lineChart([{ name: 'a', x: [0, 1, 2], y: [0.5, 100, 1e12] }], { ...opts, yMin: 0, yMax: 3 });
  const y = texts(svg, 'tick-y').map(Number);
  assert.ok(y[0]! >= 0 && y.at(-1)! <= 3 && y.length >= 3, `${y}`);
  assert.match(svg, /clip-path="url\(#[^)]+\)"/);
  assertCleanNumbers(svg);
});

test('the same input gives the same string', () => {
  const make = (): string => lineChart([
    { name: 'a', x: new Float32Array([1, 2, 3]), y: new Float64Array([0.3, 0.2, 0.1]) },
    { name: 'b', x: [1, 2, 3], y: [0.1, 0.01, 0.001] },
  ], { ...opts, logY: true, width: 640, height: 360 });
  assert.equal(make(), make());
  assert.match(make(), /^<svg [^>]*width="640" height="360"/);
});

test('mismatched x and y lengths are an error', () => {
  assert.throws(() => lineChart([{ name: 'a', x: [1, 2], y: [1] }], opts), /"a" has 2 x values and 1 y values/);
});

// ---- PNG ----

async function resvgMissing(): Promise<boolean> {
  try {
    const name = '@resvg/resvg-js';
    await import(name);
    return false;
  } catch {
    return true;
  }
}

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at);

test('svgToPng renders a non-blank PNG of the right size, text included', async (t) => {
  if (await resvgMissing()) { t.skip('@resvg/resvg-js is not installed'); return; }
  const svg = lineChart([{ name: 'train', x: steps, y: curve((t) => 4 * Math.exp(-t / 100) + 1.5) }], opts);
  const png = await svgToPng(svg);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(new TextDecoder().decode(png.subarray(12, 16)), 'IHDR');
  assert.deepEqual([u32(png, 16), u32(png, 20)], [760, 440]);
  const png2 = await svgToPng(svg, { scale: 2 });
  assert.deepEqual([u32(png2, 16), u32(png2, 20)], [1520, 880]);

  // Not blank: a plain white image compresses to almost nothing, a chart does not. And text
  // must render (fonts found): a text-only image is larger than a blank one.
  const frame = (body: string): string =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="440"><rect width="100%" height="100%" fill="#ffffff"/>${body}</svg>`;
  const blank = await svgToPng(frame(''));
  const text = await svgToPng(frame('<text x="20" y="200" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="40">Loss &amp; friends 10⁻⁸</text>'));
  assert.ok(png.length > 5 * blank.length, `chart ${png.length} B vs blank ${blank.length} B`);
  assert.ok(text.length > blank.length + 500, `text ${text.length} B vs blank ${blank.length} B: were fonts found?`);
});
