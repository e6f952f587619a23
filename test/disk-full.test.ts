// A checkpoint write that fails (docs/reliability.md, "Crash safety"): a disk that
// fills up, faked (test/crash-preload.ts makes the write fail half-way with an errno
// code) and real (a small tmpfs, where mount works). The run stops with exit code 1
// and one line naming the file and the cause; the previous checkpoint keeps its bytes
// and no temp file is left; once there is room, --resume carries on exactly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHAKESPEARE, TINY, assertUserError } from './cli-helpers.js';
import { runChild, tempFiles } from './crash-harness.js';
import { writeProblem } from '../src/node/checkpoint-safety.js';
import { Rng } from '../src/core/rng.js';

let dir = '';
const noSteps = { stepOf: () => null };
const run = (args: string[], fault?: string) => runChild(args, dir, fault ? { ...noSteps, fault } : noSteps);
const bytes = (f: string) => readFileSync(join(dir, f));
const CHAR = (steps: number, out: string) => ['train', 't.txt', ...TINY, '--steps', String(steps), '--eval-every', '3', '--quiet', '--out', out];
const CLASSIFY = (epochs: number, out: string) => ['classify', 'train', 'c.tsv', '--hidden', '12', '--embedding', '8', '--batch', '8', '--seed', '4', '--epochs', String(epochs), '--quiet', '--out', out];
const FULL = /^rnnkit: cannot write checkpoint \S+\/(latest|best)\.safetensors: no space left on device \(ENOSPC\); the previous checkpoint is intact\n$/;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rnnkit-disk-full-'));
  writeFileSync(join(dir, 't.txt'), readFileSync(SHAKESPEARE, 'utf8').slice(0, 6000));
  const rng = new Rng(11), words = ['good', 'great', 'bad', 'awful', 'the', 'movie', 'was', 'very'];
  writeFileSync(join(dir, 'c.tsv'), Array.from({ length: 60 }, () => {
    const ws = Array.from({ length: 2 + rng.int(5) }, () => words[rng.int(words.length)]!);
    return `${ws.filter((w) => w === 'good' || w === 'great').length >= ws.filter((w) => w === 'bad' || w === 'awful').length ? 'pos' : 'neg'}\t${ws.join(' ')}`;
  }).join('\n') + '\n');
  // the checkpoints the failing runs must leave: those of runs that end where the failure came (a
  // classifier's checkpoint holds --epochs, so its reference is a 3-epoch run killed at its third write)
  const refs = await Promise.all([run(CHAR(3, 'char-3')), run(CHAR(9, 'char-9')), run(CLASSIFY(3, 'cls-1'), '*:3:open'), run(CLASSIFY(3, 'cls-3'))]);
  assert.equal(refs[2]!.signal, 'SIGKILL');
  for (const r of [refs[0]!, refs[1]!, refs[3]!]) assert.equal(r.code, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** `out` holds best and latest, byte for byte those in `ref`, and no temp file. */
function assertIntact(out: string, ref: string): void {
  assert.deepEqual(readdirSync(join(dir, out)).sort(), ['best.safetensors', 'latest.safetensors'], `${out} holds two checkpoints, no temp file`);
  for (const f of ['latest.safetensors', 'best.safetensors']) assert.ok(bytes(join(out, f)).equals(bytes(join(ref, f))), `${out}/${f} is unchanged`);
}

test('rnnkit train: a write that runs out of space stops the run with one line; the previous checkpoint is intact; resume then finishes exactly', async () => {
  // writes: best 3?, latest 3, best 6?, latest 6 <- fails half-way
  const r = await run(CHAR(9, 'char-full'), 'latest.safetensors:2:error-ENOSPC');
  assertUserError(r, FULL);
  assert.match(r.stderr, /char-full\/latest\.safetensors/);
  // best may be at step 6 (it is written first); latest is step 3's, byte for byte
  assert.ok(bytes('char-full/latest.safetensors').equals(bytes('char-3/latest.safetensors')));
  assert.deepEqual(tempFiles(join(dir, 'char-full')), []);
  const again = await run(['train', 't.txt', '--resume', 'char-full/latest.safetensors', '--steps', '9', '--eval-every', '3', '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assertIntact('char-full', 'char-9');
});

test('rnnkit train: the first write failing says there was no earlier checkpoint; other errno codes are named in words', async () => {
  const r = await run(CHAR(9, 'char-first'), '*:1:error-ENOSPC');
  assertUserError(r, /^rnnkit: cannot write checkpoint char-first\/(best|latest)\.safetensors: no space left on device \(ENOSPC\); no earlier checkpoint was there\n$/);
  assert.deepEqual(readdirSync(join(dir, 'char-first')), [], 'nothing left behind');
  const [quota, ro] = await Promise.all([run(CHAR(9, 'char-quota'), '*:3:error-EDQUOT'), run(CHAR(9, 'char-ro'), '*:3:error-EROFS')]);
  assertUserError(quota, /: disk quota exceeded \(EDQUOT\); the previous checkpoint is intact\n$/);
  assertUserError(ro, /: read-only file system \(EROFS\); the previous checkpoint is intact\n$/);
  for (const [code, words] of [['ENOSPC', 'no space left on device'], ['EDQUOT', 'disk quota exceeded'], ['EFBIG', 'file too large for the file system'],
    ['EROFS', 'read-only file system'], ['EACCES', 'permission denied'], ['EPERM', 'permission denied'], ['EIO', 'input/output error'], ['EWHATEVER', '']] as const) {
    assert.equal(writeProblem(Object.assign(new Error('x'), { code })), words ? `${words} (${code})` : code);
  }
});

test('rnnkit classify train: a write that runs out of space stops the run with one line; the previous checkpoint is intact; resume then finishes exactly', async () => {
  const r = await run(CLASSIFY(3, 'cls-full'), 'latest.safetensors:2:error-ENOSPC');
  assertUserError(r, FULL);
  assert.ok(bytes('cls-full/latest.safetensors').equals(bytes('cls-1/latest.safetensors')));
  assert.deepEqual(tempFiles(join(dir, 'cls-full')), []);
  const again = await run(['classify', 'train', 'c.tsv', '--resume', 'cls-full/latest.safetensors', '--epochs', '3', '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assertIntact('cls-full', 'cls-3');
});

test('a real full disk (a small tmpfs): train and classify train stop with one line and keep their checkpoints', async (t) => {
  const mnt = join(dir, 'tmpfs');
  mkdirSync(mnt);
  // room for two checkpoints and a half: the first evaluation's best and latest fit, the next write does not
  const size = (ref: string) => { const pages = Math.ceil(statSync(join(dir, ref, 'latest.safetensors')).size / 4096); return Math.floor(2.5 * pages) * 4096; };
  const mount = (sub: string, bytesFree: number) => {
    mkdirSync(join(mnt, sub));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytesFree}`, 'tmpfs', join(mnt, sub)], { stdio: 'pipe' });
  };
  try {
    mount('char', size('char-3'));
  } catch (e) {
    t.skip(`cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n')[0]}`);
    return;
  }
  try {
    mount('cls', size('cls-1'));
    const [c, k] = await Promise.all([run(CHAR(9, 'tmpfs/char/out')), run(CLASSIFY(3, 'tmpfs/cls/out'))]);
    assertUserError(c, FULL);
    assertUserError(k, FULL);
    assertIntact('tmpfs/char/out', 'char-3');
    assertIntact('tmpfs/cls/out', 'cls-1');
  } finally {
    for (const sub of ['char', 'cls']) if (existsSync(join(mnt, sub))) try { execFileSync('umount', [join(mnt, sub)], { stdio: 'pipe' }); } catch { /* not mounted */ }
  }
});
