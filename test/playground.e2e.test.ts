// The playground in a real browser: builds the static site, serves it on 127.0.0.1 with
// its _headers (cross-origin isolated) and without, and drives Chromium (playwright-core,
// headless) through it: train a small LSTM until the displayed loss falls and a sample
// shows, open the cell view, download the checkpoint, sample from it and resume it with
// the CLI, upload it back and go on training, reject a bad upload.
// Skipped when Chromium is missing, unless RNNKIT_REQUIRE_BROWSER=1 (CI). Browser:
// RNNKIT_CHROMIUM (default /usr/bin/chromium, Debian's `chromium` package).
// RNNKIT_PLAYGROUND_SCREENSHOT=FILE also saves a screenshot of the page mid-training.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveFolder, type StaticServer } from './static-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env['RNNKIT_CHROMIUM'] || '/usr/bin/chromium';
const required = process.env['RNNKIT_REQUIRE_BROWSER'] === '1';
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium, or set RNNKIT_CHROMIUM)`;
if (skip && required) throw new Error(`RNNKIT_REQUIRE_BROWSER=1 but ${skip}`);

/** Seconds any one wait in the page may take. */
const WAIT_S = 45;

test('the playground trains, samples, shows cells, and its checkpoints work with the CLI', { skip, timeout: 150_000 }, async (t) => {
  const { chromium } = await import('playwright-core');
  const tmp = mkdtempSync(join(tmpdir(), 'rnnkit-playground-'));
  const site = join(tmp, 'site');
  const servers: StaticServer[] = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  t.after(async () => {
    await browser.close();
    for (const s of servers) await s.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const built = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'playground/vite.config.ts', '--outDir', site, '--logLevel', 'error'],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(built.status, 0, `vite build failed:\n${built.stdout}${built.stderr}`);

  const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const wait = async (what: string, fn: () => Promise<unknown>) => {
    try { await fn(); } catch (e) { throw new Error(`playground: ${what} (within ${WAIT_S} s): ${(e as Error).message.split('\n')[0]}\npage errors: ${errors.join('; ') || 'none'}`); }
  };
  const text = (sel: string) => page.locator(sel).innerText();
  const number = async (sel: string) => Number((await text(sel)).replace(/,/g, ''));
  const timeout = WAIT_S * 1000;

  // without the headers: one thread, and the page says so
  servers.push(await serveFolder(site, { headers: false }));
  await page.goto(servers[0]!.url);
  await wait('the status line shows the backend', () => page.locator('#threads').filter({ hasText: 'thread' }).waitFor({ timeout }));
  assert.match(await text('#threads'), /^wasm backend, 1 thread \(not cross-origin isolated\)/);

  // with them (as the static build ships them): threads
  servers.push(await serveFolder(site, { headers: true }));
  await page.goto(servers[1]!.url);
  await wait('the status line shows the backend', () => page.locator('#threads').filter({ hasText: 'thread' }).waitFor({ timeout }));
  assert.ok(await page.evaluate(() => crossOriginIsolated), 'the page is cross-origin isolated');
  const threads = Math.min(16, await page.evaluate(() => navigator.hardwareConcurrency));
  assert.match(await text('#threads'), new RegExp(`^wasm backend, ${threads} threads? \\(cross-origin isolated\\)$`));

  // a small fast model on the 50,000-character Shakespeare excerpt
  await page.selectOption('#corpus', 'shakespeare-50k');
  await page.selectOption('#cell', 'lstm');
  for (const [id, v] of [['layers', 1], ['hidden', 64], ['embedding', 16], ['seq', 32], ['batch', 16], ['lr', 0.01], ['eval-every', 15]] as const) {
    await page.fill(`#${id}`, String(v));
  }
  await page.click('#start');
  await wait('training starts', () => page.locator('#train-bpc').filter({ hasText: /\d/ }).waitFor({ timeout }));
  const first = await number('#train-bpc');
  assert.ok(first > 3, `first displayed loss ${first} bpc (log2 of the vocabulary is about 6)`);
  await wait('the loss falls by a bit per character', () => page.waitForFunction((f) => Number(document.querySelector('#train-bpc')!.textContent) < f - 1, first, { timeout }));
  await wait('a sample appears', () => page.locator('#sample').filter({ hasText: /\S{3}/ }).waitFor({ timeout }));
  await wait('a validation loss appears', () => page.locator('#val-bpc').filter({ hasText: /\d/ }).waitFor({ timeout }));
  assert.ok(await number('#train-bpc') < first, 'the displayed loss is lower than at the start');
  assert.ok(await number('#tokens') > 0, 'tokens/s shown');
  await wait('the loss chart is drawn', () => page.locator('#chart svg').waitFor({ timeout }));
  const shot = process.env['RNNKIT_PLAYGROUND_SCREENSHOT'];
  if (shot) { // a little further into training, for the docs
    await wait('step 300 for the screenshot', () => page.waitForFunction(() => Number(document.querySelector('#step')!.textContent!.replace(/,/g, '')) >= 300, null, { timeout }));
    await page.screenshot({ path: shot });
  }

  await page.click('#pause');
  await wait('training pauses', () => page.locator('body[data-state="paused"]').waitFor({ timeout }));
  const stepAtPause = await number('#step');

  // the cell view: a complete document from the worker, shown in the iframe
  await page.click('#cells-button');
  await wait('the cell view loads', () => page.locator('#cells-status').filter({ hasText: 'step' }).waitFor({ timeout }));
  assert.match(await page.locator('#cells-frame').getAttribute('srcdoc') ?? '', /^<!doctype html>/i);
  assert.ok((await page.frameLocator('#cells-frame').locator('body').innerText()).trim().length > 100, 'the cell view shows something');

  // download: the CLI samples from the file
  const [download] = await Promise.all([page.waitForEvent('download', { timeout }), page.click('#download')]);
  const ckpt = join(tmp, download.suggestedFilename());
  await download.saveAs(ckpt);
  assert.match(download.suggestedFilename(), /^rnnkit-lstm-1x64-step\d+\.safetensors$/);
  const cli = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'sample', ckpt, '--length', '50', '--seed', '3'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(cli.status, 0, `rnnkit sample on the download failed:\n${cli.stderr}`);
  assert.ok(cli.stdout.length >= 50, `rnnkit sample printed ${JSON.stringify(cli.stdout)}`);
  // and `rnnkit train --resume` continues the run on the same text (the excerpt the page trained on)
  const excerpt = join(tmp, 'excerpt.txt');
  writeFileSync(excerpt, readFileSync(join(ROOT, 'data/tinyshakespeare.txt'), 'utf8').slice(0, 50000));
  const resumed = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'train', excerpt, '--resume', ckpt, '--steps', String(stepAtPause + 3),
    '--out', join(tmp, 'resumed'), '--quiet'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(resumed.status, 0, `rnnkit train --resume on the download failed:\n${resumed.stderr}`);

  // upload it back: it samples, and training goes on exactly from the saved step
  await page.setInputFiles('#upload', ckpt);
  await wait('the upload is loaded', () => page.locator('#message').filter({ hasText: `loaded ${download.suggestedFilename()}` }).waitFor({ timeout }));
  assert.equal(await number('#step'), stepAtPause);
  await wait('the uploaded model samples', () => page.locator('#sample').filter({ hasText: /\S{3}/ }).waitFor({ timeout }));
  await page.click('#pause'); // reads "Resume"
  await wait('training resumes from the upload', () => page.waitForFunction((s) => Number(document.querySelector('#step')!.textContent!.replace(/,/g, '')) > s + 5, stepAtPause, { timeout }));
  await page.click('#pause');
  await wait('training pauses', () => page.locator('body[data-state="paused"]').waitFor({ timeout }));

  // a bad upload is refused with a message, and the model stays
  const bad = join(tmp, 'bad.safetensors');
  writeFileSync(bad, 'this is not a checkpoint');
  await page.setInputFiles('#upload', bad);
  await wait('a bad upload is refused', () => page.locator('#message.error').filter({ hasText: 'bad.safetensors' }).waitFor({ timeout }));
  assert.equal(await page.locator('#download').isEnabled(), true);
  assert.deepEqual(errors, [], 'no uncaught errors in the page');
  if (shot) assert.ok(statSync(shot).size > 0);
});
