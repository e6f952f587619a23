// Preloaded into a CLI child by test/long-run.test.ts (node --expose-gc --import): every
// 100 ms, after a full garbage collection, appends "rss heapUsed arrayBuffers" (bytes)
// to the file named by RNNKIT_MEMORY_PROBE. Collecting first makes the live set
// visible: a leak shows as a rising line, V8's lazy heap sizing does not.
import { appendFileSync } from 'node:fs';

const out = process.env['RNNKIT_MEMORY_PROBE'];
const gc = (globalThis as { gc?: () => void }).gc;
if (out && gc) {
  setInterval(() => {
    gc();
    const m = process.memoryUsage();
    appendFileSync(out, `${m.rss} ${m.heapUsed} ${m.arrayBuffers}\n`);
  }, 100).unref();
}
