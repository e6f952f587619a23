#!/usr/bin/env node
// The playground's training speed as the page shows it: serves the static build
// (dist-playground/, `npm run build:playground`) with its _headers (threads) or without
// (one thread), trains the page's default model (LSTM 1x128, embedding 32, batch 32,
// seq 64) on the whole of Shakespeare in headless Chromium, and prints the median of the
// tokens/s readings. Compare with the CLI on the same model:
//   node dist/src/cli/main.js bench --config lstm-32-64-128-1 --embedding 32 --vocab 65 --only train --backend wasm
//   node scripts/playground-speed.mjs [--no-headers] [--seconds 20]
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const site = `${ROOT}dist-playground`;
const headers = !process.argv.includes('--no-headers');
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 20;
if (!existsSync(`${site}/index.html`)) throw new Error(`${site} is missing: run npm run build:playground`);
const { serveFolder } = await import(`${ROOT}dist/test/static-server.js`);

const server = await serveFolder(site, { headers });
const browser = await chromium.launch({ executablePath: process.env.RNNKIT_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.locator('#threads').filter({ hasText: 'thread' }).waitFor({ timeout: 30_000 });
  await page.selectOption('#corpus', 'shakespeare');
  await page.fill('#eval-every', '10000'); // (the most the form takes) no evaluations while timing
  await page.click('#start');
  await page.waitForTimeout(5000); // warm-up
  const readings = [];
  for (let t = 0; t < seconds; t += 2) {
    await page.waitForTimeout(2000);
    readings.push(Number((await page.locator('#tokens').innerText()).replace(/,/g, '')));
  }
  readings.sort((a, b) => a - b);
  const median = readings[Math.floor(readings.length / 2)];
  console.log(`playground: ${await page.locator('#threads').innerText()}; ${await page.locator('#model').innerText()}, ` +
    `batch 32, seq 64: ${median.toLocaleString('en')} tokens/s (median of ${readings.length} readings, ${readings[0]}-${readings.at(-1)})`);
} finally {
  await browser.close();
  await server.close();
}
