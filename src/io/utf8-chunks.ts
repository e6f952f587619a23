// UTF-8 decoded chunk by chunk, with exactly the rules of decodeText (src/node/files.ts)
// for a whole file: a byte order mark at offset 0 dropped, CRLF read as LF (also when CR
// and LF fall in different chunks; a lone CR stays), and the first fault noted by its
// offset in the whole input. decodeText reports a NUL byte anywhere before invalid UTF-8,
// so after invalid UTF-8 the rest is still searched for a NUL.
// Code points go straight into a Uint32Array: no strings, so a corpus of any size
// decodes in the memory of one chunk.

export class Utf8Chunks {
  /** Offset of the next byte pushed. */
  offset = 0;
  /** Offset of the first NUL byte, or -1. */
  nul = -1;
  /** Offset of the first byte that does not start a well-formed sequence, or -1 (firstInvalidUtf8's answer). */
  invalid = -1;
  /** The byte at `invalid`. */
  invalidByte = 0;
  // an unfinished sequence: continuation bytes still needed, bits so far, the next byte's range, its lead byte and offset
  private need = 0;
  private cp = 0;
  private lo = 0x80;
  private hi = 0xbf;
  private lead = 0;
  private start = 0;
  private cr = false; // a CR was read and not yet written: it is dropped if LF follows

  get failed(): boolean {
    return this.nul >= 0 || this.invalid >= 0;
  }

  /**
   * Decodes the next bytes into out (room for b.length + 1 code points) and returns how
   * many it wrote. Once failed, nothing more is decoded (what was written is void).
   */
  push(b: Uint8Array, out: Uint32Array): number {
    const base = this.offset;
    this.offset += b.length;
    if (this.nul >= 0) return 0;
    if (this.invalid >= 0) { this.findNul(b, 0, base); return 0; }
    let need = this.need, cp = this.cp, lo = this.lo, hi = this.hi, cr = this.cr, n = 0;
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (need === 0) {
        if (c < 0x80) {
          if (c === 0) { this.nul = base + i; return 0; }
          if (cr) { cr = false; if (c !== 0x0a) out[n++] = 0x0d; }
          if (c === 0x0d) cr = true;
          else out[n++] = c;
          continue;
        }
        // the second byte's range excludes overlong forms, surrogates and code points past U+10FFFF
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; lo = c === 0xe0 ? 0xa0 : 0x80; hi = c === 0xed ? 0x9f : 0xbf; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; lo = c === 0xf0 ? 0x90 : 0x80; hi = c === 0xf4 ? 0x8f : 0xbf; }
        else { this.fail(base + i, c, b, i + 1, base); return 0; }
        this.lead = c; this.start = base + i;
        continue;
      }
      if (c < lo || c > hi) {
        if (c === 0) this.nul = base + i;
        else this.fail(this.start, this.lead, b, i + 1, base);
        return 0;
      }
      cp = (cp << 6) | (c & 0x3f);
      lo = 0x80; hi = 0xbf;
      if (--need === 0) {
        if (cp === 0xfeff && this.start === 0) continue; // the byte order mark
        if (cr) { cr = false; out[n++] = 0x0d; }
        out[n++] = cp;
      }
    }
    this.need = need; this.cp = cp; this.lo = lo; this.hi = hi; this.cr = cr;
    return n;
  }

  /** The end of the input: an unfinished sequence is invalid; a CR still held is written. Returns the code points written (0 or 1). */
  finish(out: Uint32Array): number {
    if (this.failed) return 0;
    if (this.need > 0) { this.invalid = this.start; this.invalidByte = this.lead; return 0; }
    if (!this.cr) return 0;
    this.cr = false;
    out[0] = 0x0d;
    return 1;
  }

  private fail(at: number, byte: number, b: Uint8Array, from: number, base: number): void {
    this.invalid = at; this.invalidByte = byte;
    this.findNul(b, from, base);
  }

  private findNul(b: Uint8Array, from: number, base: number): void {
    const z = b.indexOf(0, from);
    if (z >= 0) this.nul = base + z;
  }
}
