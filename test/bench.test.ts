// Smoke test of `rnnkit bench`: tiny models and very short windows, checking only
// that the JSON has the promised fields (no timing assertions: CI machines vary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const TINY = ['--layers', '1', '--hidden', '8', '--embedding', '4', '--batch', '2', '--seq', '4', '--vocab', '7',
  '--seconds', '0.05', '--windows', '2', '--warmup', '0'];

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

const positive = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x) && x > 0, `${what} = ${String(x)}`);

for (const cell of ['lstm', 'gru', 'rnn']) {
  test(`bench --json (${cell}): one JSON object with positive rates`, async () => {
    const r = await run(['bench', '--cell', cell, ...TINY, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const j = JSON.parse(lines[0]!) as Record<string, unknown> & { config: Record<string, unknown>; train_windows: number[]; sample_windows: number[] };
    assert.equal(typeof j['backend'], 'string');
    assert.equal(j.config['cell'], cell === 'rnn' ? 'rnn_tanh' : cell);
    assert.equal(j.config['name'], `${cell}-2-4-8-1-e4-v7`);
    for (const k of ['train_tokens_per_s', 'sample_chars_per_s', 'peak_rss_mb', 'train_step_ms', 'parameters', 'cpu_s']) positive(j[k], k);
    assert.equal(j.train_windows.length, 2);
    assert.equal(j.sample_windows.length, 2);
  });
}

test('bench --config sets cell-B-T-H-L; --only train skips sampling; table line by default', async () => {
  const j = JSON.parse((await run(['bench', '--config', 'gru-3-5-6-2', '--embedding', '4', '--seconds', '0.05', '--windows', '1', '--warmup', '0', '--only', 'train', '--json'])).stdout);
  assert.deepEqual({ ...j.config }, { name: 'gru-3-5-6-2-e4', cell: 'gru', batch: 3, seq: 5, hidden: 6, layers: 2, embedding: 4, vocab: 65 });
  positive(j.train_tokens_per_s, 'train_tokens_per_s');
  assert.equal(j.sample_chars_per_s, null);
  const t = await run(['bench', ...TINY, '--only', 'sample']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^lstm-2-4-8-1-e4-v7 +backend \S+ +train +- +sample +[\d,]+ chars\/s +peak RSS \d+ MB/);
});

test('bench --list-backends and --help; bad options are one-line errors', async () => {
  const l = JSON.parse((await run(['bench', '--list-backends'])).stdout) as { available: string[]; auto: string };
  assert.ok(l.available.includes('ref'));
  assert.ok(l.available.includes(l.auto));
  assert.match((await run(['bench', '--help'])).stdout, /^Usage: rnnkit bench/);
  for (const [args, pattern] of [
    [['--windows', '0'], /--windows must be at least 1/],
    [['--config', 'lstm-32'], /--config must look like cell-B-T-H-L/],
    [['--backend', 'nope'], /nope/],
    [['--cell', 'transformer'], /--cell must be one of/],
  ] as const) {
    const r = await run(['bench', ...args]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^rnnkit: [^\n]*\n$/);
    assert.match(r.stderr, pattern);
  }
});
