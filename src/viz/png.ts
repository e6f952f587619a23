// SVG -> PNG through @resvg/resvg-js, an optional dependency (a native Rust renderer).
// It is loaded only when a PNG is asked for, so the rest of rnnkit, and its browser build,
// never needs it.
import { UserError } from '../core/errors.js';

// The few parts of resvg's API used here, typed locally: the import specifier is a variable
// (so TypeScript and bundlers do not try to resolve a package that may be absent), which
// also leaves it untyped.
interface ResvgModule {
  Resvg: new (svg: string, opts: object) => { render(): { asPng(): Uint8Array } };
}

let loading: Promise<ResvgModule> | undefined;

function loadResvg(): Promise<ResvgModule> {
  const name = '@resvg/resvg-js';
  loading ??= (import(/* @vite-ignore */ name) as Promise<ResvgModule>).catch((e: unknown) => {
    loading = undefined; // let a later call retry, e.g. after an install
    throw new UserError('PNG output needs the optional package @resvg/resvg-js (npm install @resvg/resvg-js); SVG output works without it', { cause: e });
  });
  return loading;
}

/** Renders an SVG document to PNG bytes; scale 2 gives twice the pixels in each direction. */
export async function svgToPng(svg: string, opts: { scale?: number } = {}): Promise<Uint8Array> {
  const { Resvg } = await loadResvg();
  const scale = opts.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new UserError(`svgToPng: scale must be a positive number, got ${scale}`);
  const r = new Resvg(svg, {
    // Text renders only with fonts loaded: use the system's, preferring DejaVu Sans (the
    // chart's first choice, and on CI via Debian's fonts-dejavu-core).
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    fitTo: { mode: 'zoom', value: scale },
    background: '#ffffff',
  });
  const png = r.render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
