// Grayscale PNG images (an image grid: digits drawn by a model). The encoder is the
// PNG format itself (signature, IHDR, IDAT of filtered scanlines, IEND, CRC-32 per
// chunk); the zlib compression is passed in (Node: zlib.deflateSync), so this file
// stays browser-safe.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** PNG bytes of a width x height 8-bit grayscale image, pixels row by row (0 = black). */
export function encodeGrayPng(width: number, height: number, pixels: Uint8Array, deflate: (raw: Uint8Array) => Uint8Array): Uint8Array {
  if (pixels.length !== width * height) throw new Error(`encodeGrayPng: ${pixels.length} pixels for ${width}x${height}`);
  const raw = new Uint8Array(height * (width + 1)); // filter byte 0 (none) before each row
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const ihdr = new Uint8Array(13), dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width); dv.setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, grayscale, deflate, adaptive filtering, no interlace
  const chunks = [chunk('IHDR', ihdr), chunk('IDAT', deflate(raw)), chunk('IEND', new Uint8Array(0))];
  const sig = [137, 80, 78, 71, 13, 10, 26, 10], out = new Uint8Array(8 + chunks.reduce((n, c) => n + c.length, 0));
  out.set(sig, 0);
  let o = 8;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const c = new Uint8Array(12 + data.length), dv = new DataView(c.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) c[4 + i] = type.charCodeAt(i);
  c.set(data, 8);
  dv.setUint32(8 + data.length, crc32(c, 4, 8 + data.length));
  return c;
}

/**
 * Tiles images (each h x w values in [0, 1], 1 = ink) into a grid of `cols` columns
 * with a gap, ink dark on white, each tile magnified by `scale`.
 */
export function imageGrid(images: readonly ArrayLike<number>[], h: number, w: number, cols: number, scale = 2, gap = 2): { width: number; height: number; pixels: Uint8Array } {
  const rows = Math.ceil(images.length / cols), tw = w * scale + gap, th = h * scale + gap;
  const width = cols * tw + gap, height = rows * th + gap, pixels = new Uint8Array(width * height).fill(255);
  images.forEach((img, k) => {
    const x0 = gap + (k % cols) * tw, y0 = gap + Math.floor(k / cols) * th;
    for (let y = 0; y < h * scale; y++) for (let x = 0; x < w * scale; x++) {
      const v = Math.min(1, Math.max(0, img[Math.floor(y / scale) * w + Math.floor(x / scale)]!));
      pixels[(y0 + y) * width + x0 + x] = Math.round(255 * (1 - v));
    }
  });
  return { width, height, pixels };
}
