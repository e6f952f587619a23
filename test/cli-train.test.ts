// End-to-end tests of `rnnkit train` (and --help / --version / info): the CLI is
// spawned as a child process on tiny models and a few KB of text in a temp dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { cliRunner, assertUserError, ROOT, SHAKESPEARE, TINY } from './cli-helpers.js';

const run = cliRunner(() => dir);

function tensorsOf(path: string) {
  return decodeSafetensors(readFileSync(path), path);
}

function trainMeta(path: string): { trainer: { step: number; epoch: number; chunk: number; lr: number; rng: unknown }; text: { name: string } } {
  return JSON.parse(tensorsOf(path).metadata['train']!);
}

/** Same tensor names, shapes and bytes. Returns the names. */
function assertSameTensors(aPath: string, bPath: string): string[] {
  const a = tensorsOf(aPath).tensors, b = tensorsOf(bPath).tensors;
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [name, ta] of a) {
    const tb = b.get(name)!;
    assert.deepEqual(tb.shape, ta.shape, name);
    assert.ok(Buffer.from(ta.data.buffer).equals(Buffer.from(tb.data.buffer)), `tensor ${name} differs`);
  }
  return [...a.keys()];
}

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-cli-train-'));
  const all = await readFile(SHAKESPEARE, 'utf8');
  await writeFile(join(dir, 't.txt'), all.slice(0, 6000));
  // 700 chars: 630 for training = 9 chunks of 4x16, so 12 steps cross an epoch boundary
  await writeFile(join(dir, 'small.txt'), all.slice(10_000, 10_700));
  // a finished 12-step run on t.txt, for the resume-error and NaN tests
  const r = await run(['train', 't.txt', ...TINY, '--steps', '12', '--eval-every', '6', '--quiet', '--out', 'base']);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---- tests ----

test('train writes latest and best checkpoints and logs plain lines when not on a terminal', async () => {
  const r = await run(['train', 't.txt', ...TINY, '--steps', '12', '--eval-every', '6', '--log-every', '4', '--sample-length', '20', '--out', 'basic']);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout + r.stderr;
  assert.ok(!out.includes('\r'), 'no carriage returns off a terminal');
  assert.ok(!out.includes('\x1b'), 'no escape sequences off a terminal');
  assert.match(out, /val loss \d+\.\d+ nats/);
  assert.match(out, /^step 4\/12 \| epoch /m);
  assert.match(out, /^step 8\/12 \| epoch /m);
  assert.match(out, /---- sample at step 6 ----\n[^\n]{20}\n----/);
  assert.match(out, /^done at step 12/m);
  for (const f of ['latest.safetensors', 'best.safetensors']) {
    const path = join(dir, 'basic', f);
    assert.ok(existsSync(path), f);
    const { metadata } = tensorsOf(path);
    assert.equal(metadata['format'], 'rnnkit/1');
    assert.equal(JSON.parse(metadata['config']!).hidden_size, 16);
  }
  assert.equal(trainMeta(join(dir, 'basic', 'latest.safetensors')).trainer.step, 12);
  assert.deepEqual((await readdir(join(dir, 'basic'))).sort(), ['best.safetensors', 'latest.safetensors'], 'no temp files left');
});

test('train --quiet prints nothing', async () => {
  const r = await run(['train', 't.txt', ...TINY, '--steps', '4', '--eval-every', '2', '--log-every', '1', '--quiet', '--out', 'quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, '');
  assert.ok(existsSync(join(dir, 'quiet', 'latest.safetensors')));
  assert.ok(existsSync(join(dir, 'quiet', 'best.safetensors')));
});

test('--epochs small enough to round to zero steps still trains one step and saves', async () => {
  const r = await run(['train', 't.txt', ...TINY, '--epochs', '0.001', '--quiet', '--out', 'tiny-epochs']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(trainMeta(join(dir, 'tiny-epochs', 'latest.safetensors')).trainer.step, 1);
});

test('--help for every command, --version and info', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const results = await Promise.all([
    ...['train', 'sample', 'eval'].flatMap((cmd) => [[cmd, '--help'], [cmd, '-h']]).map(async (args) => ({ args, r: await run(args) })),
    // --backend is main.ts's: every command accepts it, whether or not its help lists it
    ...[['train', '--backend', 'ref', '--help'], ['classify', 'train', '--backend=ref', '-h']].map(async (args) => ({ args, r: await run(args) })),
    ...[['--help'], ['help'], ['-h']].map(async (args) => ({ args, r: await run(args) })),
  ]);
  for (const { args, r } of results) {
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', args.join(' '));
    const cmd = args[0]!.startsWith('-') || args[0] === 'help' ? '<command>' : args[0]!;
    assert.ok(r.stdout.startsWith(`Usage: rnnkit ${cmd}`), `${args.join(' ')}: ${r.stdout.slice(0, 80)}`);
  }
  // no command at all: usage, but a failure exit code
  const none = await run([]);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /^Usage: rnnkit <command>/);
  for (const args of [['--version'], ['-v'], ['info']]) {
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    const m = new RegExp(`^rnnkit ${pkg.version.replace(/\./g, '\\.')} \\(node [^)]+\\), backend: (\\w+) \\(available: ([^)]*)\\)\\n`).exec(r.stdout);
    assert.ok(m, r.stdout);
    // the default is the fastest backend that loads here
    const available = m[2]!.split(', ');
    assert.ok(available.includes('ref'));
    assert.equal(m[1], ['native', 'wasm', 'ref'].find((n) => available.includes(n)));
    if (args[0] !== 'info') assert.equal(r.stdout.split('\n').length, 2, 'one line');
  }
  const b = await run(['info', '--backend', 'ref']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /backend: ref/);
});

test('same seed and options give byte-identical checkpoints; another seed does not', async () => {
  const args = (out: string, seed: string) => ['train', 't.txt', ...TINY, '--steps', '8', '--eval-every', '4', '--seed', seed, '--dropout', '0.2', '--layers', '2', '--quiet', '--out', out];
  const [a, b, c] = await Promise.all([run(args('det-a', '7')), run(args('det-b', '7')), run(args('det-c', '8'))]);
  for (const r of [a, b, c]) assert.equal(r.code, 0, r.stderr);
  for (const f of ['latest.safetensors', 'best.safetensors']) {
    const x = await readFile(join(dir, 'det-a', f)), y = await readFile(join(dir, 'det-b', f));
    assert.ok(x.equals(y), `${f} differs between two runs with the same seed`);
  }
  const z = await readFile(join(dir, 'det-c', 'latest.safetensors'));
  assert.ok(!z.equals(await readFile(join(dir, 'det-a', 'latest.safetensors'))), 'a different seed gives a different run');
});

/** Run A straight to 12 steps; run B to 6, then resumed to 12: B's final checkpoint equals A's. */
async function checkExactResume(name: string, text: string, opts: string[]): Promise<void> {
  const base = ['train', text, ...TINY, ...opts, '--eval-every', '6', '--log-every', '1'];
  const [a, b1] = await Promise.all([
    run([...base, '--steps', '12', '--out', `${name}-a`]),
    run([...base, '--steps', '6', '--out', `${name}-b`]),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b1.code, 0, b1.stderr);
  const b2 = await run(['train', text, '--resume', join(`${name}-b`, 'latest.safetensors'), '--steps', '12', '--eval-every', '6', '--log-every', '1', '--sample-length', '0', '--out', `${name}-c`]);
  assert.equal(b2.code, 0, b2.stderr);
  assert.match(b2.stderr, /resuming at step 6, training to step 12/);
  assert.doesNotMatch(b2.stderr, /^step [1-6]\//m, 'the resumed run starts at step 7');
  assert.match(b2.stderr, /^step 7\/12 /m);

  const aPath = join(dir, `${name}-a`, 'latest.safetensors'), cPath = join(dir, `${name}-c`, 'latest.safetensors');
  const names = assertSameTensors(aPath, cPath);
  assert.ok(names.some((n) => n.startsWith('optim.')), `optimizer tensors saved: ${names.join(' ')}`);
  assert.ok(names.includes('train.state.h') && names.includes('train.state.c'), 'carried LSTM state saved');
  // the run's position, learning rate and RNG state agree too; in fact the whole file does
  const ma = tensorsOf(aPath).metadata, mc = tensorsOf(cPath).metadata;
  assert.deepEqual(mc, ma);
  assert.ok((await readFile(aPath)).equals(await readFile(cPath)), 'whole checkpoint byte-identical');
  // and resuming really continued from step 6 (not a fresh run that happens to agree)
  assert.equal(trainMeta(join(dir, `${name}-b`, 'latest.safetensors')).trainer.step, 6);
  assert.ok(!(await readFile(join(dir, `${name}-b`, 'latest.safetensors'))).equals(await readFile(aPath)));
}

test('resume continues exactly: adam', async () => {
  await checkExactResume('resume-adam', 't.txt', ['--optimizer', 'adam']);
  const m = trainMeta(join(dir, 'resume-adam-c', 'latest.safetensors'));
  assert.equal(m.trainer.step, 12);
});

test('resume continues exactly: sgd with momentum, dropout, lr decay and an epoch boundary', async () => {
  await checkExactResume('resume-sgd', 'small.txt', ['--optimizer', 'sgd', '--lr', '0.5', '--momentum', '0.9', '--layers', '2', '--dropout', '0.3', '--lr-decay', '0.5']);
  const m = trainMeta(join(dir, 'resume-sgd-c', 'latest.safetensors'));
  assert.equal(m.trainer.epoch, 1, 'crossed an epoch boundary (9 chunks per epoch)');
  assert.equal(m.trainer.chunk, 3);
  assert.equal(m.trainer.lr, 0.25, 'lr decayed once');
});

test('resume continues exactly: TBPTT(16, 24), scheduled sampling, noisy initial state, recurrent dropout, an epoch boundary', async () => {
  await checkExactResume('resume-options', 'small.txt', ['--bptt', '24', '--feed', 'scheduled', '--schedule-steps', '4',
    '--init-state', 'noisy', '--recurrent-dropout', '0.2', '--layers', '2']);
  const m = trainMeta(join(dir, 'resume-options-c', 'latest.safetensors'));
  assert.equal(m.trainer.epoch, 1, 'crossed an epoch boundary');
});

test('resume continues exactly: learned initial state, layer norm, summed outputs', async () => {
  await checkExactResume('resume-learned', 'small.txt', ['--init-state', 'learned', '--layer-norm', '--sum-outputs', '--layers', '2']);
  const names = [...tensorsOf(join(dir, 'resume-learned-c', 'latest.safetensors')).tensors.keys()];
  for (const n of ['init.h0', 'init.c0', 'rnn.ln_c_weight_l1', 'optim.m.init.h0']) assert.ok(names.includes(n), `${n} saved`);
});

test('resume errors are one line', async () => {
  const ckpt = join('base', 'latest.safetensors'); // 12 steps on t.txt
  const original = await readFile(join(dir, 't.txt'), 'utf8');
  // same characters and length, different text
  await writeFile(join(dir, 'shuffled.txt'), original.slice(3000) + original.slice(0, 3000));
  // a character the checkpoint's vocabulary lacks
  await writeFile(join(dir, 'new-char.txt'), original + '§');
  const fixture = join(ROOT, 'test', 'fixtures', 'lstm_l1.safetensors');
  const cases: [string[], RegExp][] = [
    [['train', 'shuffled.txt', '--resume', ckpt, '--steps', '20'], /shuffled\.txt: not the text this checkpoint was trained on \(t\.txt, 6000 characters\)/],
    [['train', 'new-char.txt', '--resume', ckpt, '--steps', '20'], /not in the model's vocabulary: "§"/],
    [['train', 't.txt', '--resume', ckpt, '--steps', '20', '--hidden', '32'], /--hidden cannot be changed when resuming/],
    [['train', 't.txt', '--resume', ckpt, '--steps', '20', '--lr', '0.1'], /--lr cannot be changed when resuming/],
    [['train', 't.txt', '--resume', fixture, '--steps', '20'], /lstm_l1\.safetensors: checkpoint has no training state to resume/],
    [['train', 't.txt', '--resume', ckpt, '--steps', '12'], /already at step 12; pass a larger --steps/],
    [['train', 't.txt', '--resume', ckpt, '--steps', '5'], /already at step 12/],
    [['train', 't.txt', '--resume', 'nope/latest.safetensors', '--steps', '20'], /nope\/latest\.safetensors: no such file/],
  ];
  const results = await Promise.all(cases.map(([args]) => run([...args, '--out', 'resume-errors'])));
  results.forEach((r, i) => assertUserError(r, cases[i]![1]));
  assert.ok(!existsSync(join(dir, 'resume-errors')), 'nothing written');
});

test('resume refuses corrupt training state with a one-line error before allocating from it', async () => {
  const base = tensorsOf(join(dir, 'base', 'latest.safetensors'));
  const meta = JSON.parse(base.metadata['train']!) as { trainer: Record<string, unknown> & { config: Record<string, unknown> } };
  const edit = (f: (m: typeof meta) => void): string => { const m = structuredClone(meta); f(m); return JSON.stringify(m); };
  const cases: [string, string, RegExp][] = [
    ['not-json', '{"trainer": ', /'train' metadata\) is not valid JSON$/m],
    ['huge-batch', edit((m) => { m.trainer.config['batch'] = 1e12; }), /not a valid run: batch, seq and bptt must be integers up to 65536/],
    ['huge-window', edit((m) => { m.trainer.config['batch'] = 65536; m.trainer.config['seq'] = 65536; }), /batch x steps is over/],
    ['string-lr', edit((m) => { m.trainer.config['lr'] = '0.1'; }), /trainer\.config\.lr is not a finite number/],
    ['missing-feed', edit((m) => { delete m.trainer.config['feed']; }), /trainer\.config\.feed is not a string/],
    ['bad-rng', edit((m) => { m.trainer['rng'] = { s: [1, 2], spare: null }; }), /trainer\.rng\.s is not four 32-bit integers/],
    ['negative-step', edit((m) => { m.trainer['step'] = -3; }), /trainer\.step is not a non-negative integer/],
    ['array', '[]', /not an object with trainer and text/],
  ];
  const tensors = [...base.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data as Float32Array }));
  for (const [name, train] of cases) {
    await writeFile(join(dir, `corrupt-${name}.safetensors`), encodeSafetensors(tensors, { ...base.metadata, train }));
  }
  const results = await Promise.all(cases.map(([name]) => run(['train', 't.txt', '--resume', `corrupt-${name}.safetensors`, '--steps', '20', '--out', 'corrupt-out'])));
  results.forEach((r, i) => assertUserError(r, cases[i]![2]));
  assert.ok(!existsSync(join(dir, 'corrupt-out')), 'nothing written');
});

test('a loss that blows up stops with an error and leaves earlier checkpoints untouched', async () => {
  // A ReLU RNN with a huge SGD step overflows at step 2 (an LSTM saturates and stays finite).
  const good = join(dir, 'base', 'latest.safetensors');
  const out = join(dir, 'nan');
  await rm(out, { recursive: true, force: true });
  await mkdir(out);
  await copyFile(good, join(out, 'latest.safetensors'));
  await copyFile(good, join(out, 'best.safetensors'));
  const before = await readFile(good);
  const r = await run(['train', 't.txt', ...TINY, '--cell', 'rnn_relu', '--optimizer', 'sgd', '--lr', '1e8', '--clip', '0', '--momentum', '0',
    '--steps', '50', '--eval-every', '40', '--log-every', '1', '--out', 'nan']);
  const ctx = r.stderr;
  assert.notEqual(r.code, 0, ctx);
  assert.equal(r.code, 1, ctx);
  const lines = r.stderr.trimEnd().split('\n');
  const last = lines[lines.length - 1]!;
  assert.match(last, /^rnnkit: loss became NaN at step \d+ \(every parameter is finite: the forward pass overflowed, first in layer 0's hidden state at time step \d+ of 16\); stopping without saving/, ctx);
  assert.match(last, /checkpoints in nan are from earlier steps and untouched$/, ctx);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  for (const f of ['latest.safetensors', 'best.safetensors']) {
    assert.ok((await readFile(join(out, f))).equals(before), `${f} unchanged`);
  }
  assert.deepEqual((await readdir(out)).sort(), ['best.safetensors', 'latest.safetensors'], 'no temp files left');
});

test('Ctrl-C stops after the current step, saves latest and exits 130', async () => {
  let sent = false;
  const r = await run(['train', 't.txt', ...TINY, '--steps', '100000', '--eval-every', '100000', '--log-every', '1', '--out', 'sigint'], {
    onOutput(all, child) {
      if (!sent && /^step 3\/100000 /m.test(all)) { sent = true; child.kill('SIGINT'); }
    },
  });
  assert.ok(sent, `training never got to step 3: ${r.stderr}`);
  assert.equal(r.signal, null, 'exits by itself, not killed by the signal');
  assert.equal(r.code, 130, r.stderr);
  const out = r.stdout + r.stderr;
  assert.match(out, /stopping after this step/);
  const m = /interrupted at step (\d+); saved (\S+)\nresume with: rnnkit train t\.txt --resume (\S+)\n/.exec(out);
  assert.ok(m, out.slice(-500));
  const step = Number(m[1]);
  assert.ok(step >= 3, `step ${step}`);
  assert.equal(m[2], join('sigint', 'latest.safetensors'));
  const latest = join(dir, 'sigint', 'latest.safetensors');
  assert.equal(trainMeta(latest).trainer.step, step);
  assert.ok(!existsSync(join(dir, 'sigint', 'best.safetensors')), 'no evaluation happened, so no best');
  // the interrupted run resumes with the command it printed, writing next to its checkpoint
  const again = await run(['train', 't.txt', '--resume', m[3]!, '--steps', String(step + 2), '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(trainMeta(latest).trainer.step, step + 2);
});
