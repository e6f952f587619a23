// The wasm backend's allocator: blocks of the one shared WebAssembly.Memory, 16-byte
// aligned, handed out as byte offsets. Best fit over a free list kept sorted by
// address with neighbours merged; the top of the heap is bumped (growing the memory)
// when nothing fits. Freed blocks are zeroed when reused, so alloc() always returns
// zeros like `new Float32Array(n)`.

const ALIGN = 16;
const PAGE = 65536;

export class WasmHeap {
  /** Free blocks [offset, size] sorted by offset, never adjacent (merged). */
  private free: { off: number; size: number }[] = [];
  private used = new Map<number, number>();
  private top: number;
  /** Everything at or above this offset has never been written since the memory was created. */
  private fresh: number;

  /**
   * @param start first byte of the heap
   * @param slack bytes kept readable past the last block: kernels may read (never
   *   write) a few lanes past the end of an array
   * @param onGrow called after the memory grew (its buffer is a new SharedArrayBuffer)
   */
  constructor(private readonly memory: WebAssembly.Memory, start: number, private readonly slack: number,
    private readonly onGrow: () => void) {
    this.top = align(start);
    this.fresh = this.top;
    this.ensure(this.top);
  }

  /** Bytes in use (blocks handed out and not freed). */
  get bytesInUse(): number {
    let s = 0;
    for (const v of this.used.values()) s += v;
    return s;
  }

  /** End of the highest block ever handed out. */
  get heapTop(): number {
    return this.top;
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, align(bytes));
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i]!;
      if (f.size >= size && (best < 0 || f.size < this.free[best]!.size)) {
        best = i;
        if (f.size === size) break;
      }
    }
    let off: number;
    if (best >= 0) {
      const f = this.free[best]!;
      off = f.off;
      if (f.size === size) this.free.splice(best, 1);
      else { f.off += size; f.size -= size; }
    } else {
      // the last free block may end at the top: extend it instead of leaving a gap
      const last = this.free[this.free.length - 1];
      if (last && last.off + last.size === this.top) {
        this.free.pop();
        off = last.off;
      } else off = this.top;
      this.ensure(off + size);
      this.top = off + size;
    }
    this.used.set(off, size);
    if (off < this.fresh) new Uint8Array(this.memory.buffer, off, Math.min(size, this.fresh - off)).fill(0);
    if (off + size > this.fresh) this.fresh = off + size;
    return off;
  }

  /** Gives a block back (unknown offsets are ignored). */
  release(off: number): void {
    const size = this.used.get(off);
    if (size === undefined) return;
    this.used.delete(off);
    let lo = 0, hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.off < off) lo = mid + 1; else hi = mid;
    }
    let block = { off, size };
    const prev = this.free[lo - 1], next = this.free[lo];
    if (next && off + size === next.off) { block.size += next.size; this.free.splice(lo, 1); }
    if (prev && prev.off + prev.size === off) { prev.size += block.size; block = prev; }
    else this.free.splice(lo, 0, block);
    // a free block at the top gives its space back to the bump pointer
    if (block.off + block.size === this.top) {
      this.free.splice(this.free.indexOf(block), 1);
      this.top = block.off;
    }
  }

  /** Grows the memory so that [0, end + slack) is addressable. */
  private ensure(end: number): void {
    const need = end + this.slack, have = this.memory.buffer.byteLength;
    if (need <= have) return;
    // grow by at least a quarter so that few SharedArrayBuffer objects exist
    const pages = Math.max(Math.ceil((need - have) / PAGE), Math.ceil(have / PAGE / 4));
    try {
      this.memory.grow(pages);
    } catch {
      try {
        this.memory.grow(Math.ceil((need - have) / PAGE));
      } catch {
        throw new Error(`wasm backend: out of memory (needed ${Math.ceil(need / 2 ** 20)} MiB of WebAssembly memory)`);
      }
    }
    this.onGrow();
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
