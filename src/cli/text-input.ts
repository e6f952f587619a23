// Small input helpers of the task commands.
import { decodeText } from '../node/files.js';

/** FNV-1a over strings: tells a resumed run whether it got the same data. */
export function fingerprint(items: Iterable<string>): string {
  let h = 0x811c9dc5;
  for (const s of items) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 10, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The non-blank lines of a stream (standard input), decoded as files are (decodeText), without line ends. */
export async function readLines(stream: NodeJS.ReadableStream, source = 'standard input'): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer);
  return decodeText(Buffer.concat(chunks), source).split('\n').filter((l) => l.trim() !== '');
}

/** A note on stderr when an input has tokens the model never saw (they are read as <unk>). */
export function noteUnknown(what: string, unknown: readonly string[]): void {
  if (!unknown.length) return;
  const list = unknown.slice(0, 8).map((t) => JSON.stringify(t)).join(' ');
  process.stderr.write(`rnnkit: note: ${what}: ${unknown.length} token(s) the model never saw, read as <unk>: ${list}${unknown.length > 8 ? ' ...' : ''}\n`);
}
