// Terminal output for long work: a live status line on a TTY (rewritten in place),
// plain log lines elsewhere (files, pipes, CI).
export class Progress {
  private shown = false;
  private lastDraw = 0;

  constructor(private out: NodeJS.WriteStream = process.stderr, readonly live = !!out.isTTY) {}

  /** Redraws the status line (at most 10 times a second). */
  status(line: string, force = false): void {
    if (!this.live) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = this.out.columns || 100;
    this.out.write(`\r${line.slice(0, width - 1)}\x1b[K`);
    this.shown = true;
  }

  /** A permanent line, printed above the status line. */
  log(text: string): void {
    this.clear();
    this.out.write(text.endsWith('\n') ? text : text + '\n');
  }

  clear(): void {
    if (this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
  }
}

/** Bytes in decimal units: 950 B, 12.3 MB, 1.00 GB. */
export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  const [d, u] = n < 1e6 ? [1e3, 'kB'] : n < 1e9 ? [1e6, 'MB'] : [1e9, 'GB'];
  const x = n / d;
  return `${x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0)} ${u}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
