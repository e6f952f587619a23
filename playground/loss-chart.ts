// The live loss chart: training loss per report and validation loss per evaluation, in
// bits per character, drawn with the library's lineChart (an SVG string) at most a few
// times a second.
import { lineChart, type Series } from 'rnnkit';

/** Points drawn per series at most (longer series are averaged in buckets). */
const MAX_POINTS = 300;
const REDRAW_MS = 400;

export class LossChart {
  private train = { x: [] as number[], y: [] as number[] };
  private val = { x: [] as number[], y: [] as number[] };
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly el: HTMLElement) {}

  clear(): void {
    this.train = { x: [], y: [] };
    this.val = { x: [], y: [] };
    this.el.replaceChildren();
  }

  addTrain(step: number, bpc: number): void {
    this.train.x.push(step); this.train.y.push(bpc);
    this.schedule();
  }

  addVal(step: number, bpc: number): void {
    if (!Number.isFinite(bpc)) return;
    this.val.x.push(step); this.val.y.push(bpc);
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => { this.timer = null; this.draw(); }, REDRAW_MS);
  }

  private draw(): void {
    const series: Series[] = [];
    if (this.train.x.length) series.push({ name: 'train', ...thin(this.train.x, this.train.y) });
    if (this.val.x.length) series.push({ name: 'validation', x: this.val.x, y: this.val.y });
    if (!series.length) return;
    const width = Math.max(360, Math.round(this.el.clientWidth || 640));
    this.el.innerHTML = lineChart(series, { title: 'Loss', xLabel: 'step', yLabel: 'bits per character', width, height: Math.round(width * 0.42) });
  }
}

/** At most MAX_POINTS points: means over equal buckets of steps. */
function thin(x: number[], y: number[]): { x: number[]; y: number[] } {
  if (x.length <= MAX_POINTS) return { x, y };
  const k = Math.ceil(x.length / MAX_POINTS), ox: number[] = [], oy: number[] = [];
  for (let i = 0; i < x.length; i += k) {
    const n = Math.min(k, x.length - i);
    let sx = 0, sy = 0;
    for (let j = i; j < i + n; j++) { sx += x[j]!; sy += y[j]!; }
    ox.push(sx / n); oy.push(sy / n);
  }
  return { x: ox, y: oy };
}
