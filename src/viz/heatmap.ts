// A labelled heat map as SVG (attention weights: output tokens down, source tokens
// across). Darker is larger; each cell shows its value when there is room.
import { FONT_FAMILY, escapeXml } from './chart.js';

export interface HeatmapOptions {
  title?: string;
  cell?: number;     // cell size in px (28)
  values?: boolean;  // print each cell's value (when >= 0.1)
}

export function heatmap(rows: readonly string[], cols: readonly string[], values: ArrayLike<number>, o: HeatmapOptions = {}): string {
  const n = rows.length, m = cols.length, c = o.cell ?? 28;
  if (values.length !== n * m) throw new Error(`heatmap: ${values.length} values for ${n} x ${m}`);
  // label widths at ~9 px a character of 12 px DejaVu Sans (wide letters such as m are 11)
  const left = 16 + 9 * Math.max(3, ...rows.map((r) => [...r].length)), top = (o.title ? 30 : 8) + 8 * Math.max(3, ...cols.map((s) => [...s].length));
  const grid = left + m * c + 16, titleW = o.title ? 7 * [...o.title].length + 24 : 0;
  const width = Math.ceil(Math.max(grid, titleW)), height = Math.ceil(top + n * c + 12);
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  if (o.title) out.push(`<text x="12" y="18" font-size="13">${escapeXml(o.title)}</text>`);
  for (let j = 0; j < m; j++) {
    const x = left + j * c + c / 2 + 4;
    out.push(`<text transform="translate(${x},${top - 6}) rotate(-60)" text-anchor="start">${escapeXml(cols[j]!)}</text>`);
  }
  for (let i = 0; i < n; i++) {
    out.push(`<text x="${left - 6}" y="${top + i * c + c / 2 + 4}" text-anchor="end">${escapeXml(rows[i]!)}</text>`);
    for (let j = 0; j < m; j++) {
      const v = values[i * m + j]!, t = max > 0 ? v / max : 0, g = Math.round(255 * (1 - t));
      out.push(`<rect x="${left + j * c}" y="${top + i * c}" width="${c}" height="${c}" fill="rgb(${g},${g},${Math.round(255 - 0.6 * (255 - g))})" stroke="#dddddd" stroke-width="0.5"/>`);
      if (o.values && v >= 0.1) out.push(`<text x="${left + j * c + c / 2}" y="${top + i * c + c / 2 + 4}" text-anchor="middle" font-size="9" fill="${t > 0.5 ? '#ffffff' : '#000000'}">${v.toFixed(2).replace(/^0/, '')}</text>`);
    }
  }
  out.push('</svg>');
  return out.join('\n');
}
