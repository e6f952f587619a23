// End-to-end tests of the CLI's handling of bad input: every case must exit 1 with
// exactly one `rnnkit: ...` line on stderr, nothing on stdout and no stack trace.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from '../src/io/safetensors.js';
import { cliRunner, assertUserError, ROOT } from './cli-helpers.js';

const run = cliRunner(() => dir);
const FIXTURE = join(ROOT, 'test', 'fixtures', 'lstm_l1.safetensors');

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(n: number, seed = 12345): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The fixture checkpoint re-encoded with its metadata and tensors edited. */
async function variant(name: string, edit: (meta: Record<string, string>, tensors: TensorEntry[]) => void): Promise<void> {
  const { tensors, metadata } = decodeSafetensors(await readFile(FIXTURE), FIXTURE);
  const list: TensorEntry[] = [...tensors].filter(([n]) => !n.startsWith('fixture.')).map(([n, t]) => ({ name: n, shape: t.shape, data: t.data }));
  const meta = { ...metadata };
  delete meta['fixture'];
  edit(meta, list);
  await writeFile(join(dir, name), encodeSafetensors(list, meta));
}

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnkit-cli-errors-'));
  const all = await readFile(join(ROOT, 'data', 'tinyshakespeare.txt'), 'utf8');
  const w = (name: string, data: string | Uint8Array) => writeFile(join(dir, name), data);
  const real = await readFile(FIXTURE);
  await Promise.all([
    w('t.txt', all.slice(0, 3000)),
    w('short.txt', all.slice(0, 100)),
    w('empty.txt', ''),
    w('bom-only.txt', '\uFEFF'),
    w('nul.txt', Buffer.concat([Buffer.from('hello world\n'), Buffer.from([0, 1, 2, 0]), Buffer.from('more text\n')])),
    w('latin1.txt', Buffer.from('caf\xe9 cr\xe8me\n', 'latin1')),
    mkdir(join(dir, 'adir')),
    w('empty.safetensors', ''),
    w('truncated.safetensors', real.subarray(0, 100)),
    w('cut.safetensors', real.subarray(0, real.length - 10)),
    w('random.safetensors', noise(4096)),
    w('config.json', JSON.stringify({ cell: 'lstm', hidden_size: 16 }, null, 2) + '\n'),
    variant('v2.safetensors', (m) => { m['format'] = 'rnnkit/2'; }),
    variant('noformat.safetensors', (m) => { delete m['format']; }),
    variant('nan.safetensors', (_m, t) => { t.find((x) => x.name === 'head.bias')!.data[0] = NaN; }),
    variant('missing-tensor.safetensors', (_m, t) => { t.splice(t.findIndex((x) => x.name === 'head.weight'), 1); }),
    variant('bad-config.safetensors', (m) => { m['config'] = JSON.stringify({ ...JSON.parse(m['config']!), cell: 'transformer' }); }),
    variant('bad-shape.safetensors', (m) => { const c = JSON.parse(m['config']!); m['config'] = JSON.stringify({ ...c, hidden_size: c.hidden_size + 1 }); }),
    variant('bad-vocab.safetensors', (m) => { m['vocab'] = '{"a": 1'; }),
  ]);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---- cases: [description, args, pattern for the message] ----

/** train runs get an --out that must stay empty (checked at the end). */
const withOut = (args: string[]) => (args[0] === 'train' ? ['train', '--out', 'never', ...args.slice(1)] : args);

const TEXT_FILES: [string, string[], RegExp][] = [
  ['missing text file', ['train', 'missing.txt'], /^rnnkit: missing\.txt: no such file\n$/],
  ['missing directory in the path', ['train', 'nodir/t.txt'], /^rnnkit: nodir\/t\.txt: no such file\n$/],
  ['empty text file', ['train', 'empty.txt'], /^rnnkit: empty\.txt: file is empty\n$/],
  ['text file holding only a BOM', ['train', 'bom-only.txt'], /^rnnkit: bom-only\.txt: file is empty\n$/],
  ['directory as text file', ['train', 'adir'], /^rnnkit: adir: is a directory, not a text file\n$/],
  ['binary text file (NUL bytes)', ['train', 'nul.txt'], /^rnnkit: nul\.txt: NUL byte at line 2 \(byte offset \d+\): not a text file \(binary, or UTF-16\? rnnkit reads UTF-8\)\n$/],
  ['text file that is not UTF-8', ['train', 'latin1.txt'], /^rnnkit: latin1\.txt: not valid UTF-8 at line \d+ \(byte offset \d+, 0x[0-9a-f]{2}\)/],
  ['text too short for batch*seq', ['train', 'short.txt'], /training text is too short: 90 characters, need at least batch\*seq\+1 = 2049/],
  ['text too short for a given batch*seq', ['train', 't.txt', '--batch', '64', '--seq', '64'], /training text is too short: 2700 characters, need at least batch\*seq\+1 = 4097/],
  ['eval: missing text file', ['eval', FIXTURE, 'missing.txt'], /^rnnkit: missing\.txt: no such file\n$/],
  ['eval: binary text file', ['eval', FIXTURE, 'nul.txt'], /nul\.txt: NUL byte at line/],
  ['eval: directory as text file', ['eval', FIXTURE, 'adir'], /adir: is a directory, not a text file/],
];

const CHECKPOINTS: [string, string, RegExp][] = [
  ['missing checkpoint', 'missing.safetensors', /^rnnkit: missing\.safetensors: no such file\n$/],
  ['empty checkpoint file', 'empty.safetensors', /^rnnkit: empty\.safetensors: file is empty, not a checkpoint\n$/],
  ['truncated checkpoint (first 100 bytes)', 'truncated.safetensors', /^rnnkit: truncated\.safetensors: truncated file \(100 bytes, need at least 8 \+ header length \d+\)\n$/],
  ['checkpoint missing its last bytes', 'cut.safetensors', /^rnnkit: cut\.safetensors: tensor '[^']+' data_offsets \[\d+,\d+\] outside the data section/],
  ['corrupt checkpoint (random bytes)', 'random.safetensors', /^rnnkit: random\.safetensors: not a safetensors file/],
  ['JSON file as checkpoint', 'config.json', /^rnnkit: config\.json: not a safetensors file/],
  ['text file as checkpoint', 't.txt', /^rnnkit: t\.txt: not a safetensors file/],
  ['directory as checkpoint', 'adir', /^rnnkit: adir: is a directory, not a file\n$/],
  ["checkpoint format 'rnnkit/2'", 'v2.safetensors', /^rnnkit: v2\.safetensors: checkpoint format 'rnnkit\/2' is not supported \(this rnnkit reads 'rnnkit\/1'\)\n$/],
  ['safetensors without format metadata', 'noformat.safetensors', /noformat\.safetensors: not an rnnkit checkpoint \(no "format" metadata\)/],
  ['checkpoint with a NaN weight', 'nan.safetensors', /nan\.safetensors: tensor 'head\.bias' contains NaN or infinite values/],
  ['checkpoint missing a tensor', 'missing-tensor.safetensors', /missing-tensor\.safetensors: tensor 'head\.weight' is missing/],
  ['checkpoint with an unknown cell', 'bad-config.safetensors', /bad-config\.safetensors: bad config: .*transformer/],
  ['checkpoint whose tensors do not fit its config', 'bad-shape.safetensors', /bad-shape\.safetensors: tensor '[^']+' has shape \[[\d,]+\], expected \[[\d,]+\]/],
  ['checkpoint with broken vocab JSON', 'bad-vocab.safetensors', /bad-vocab\.safetensors: "vocab" metadata is not valid JSON/],
];

const OPTIONS: [string, string[], RegExp][] = [
  ['unknown option', ['train', 't.txt', '--bogus'], /^rnnkit: train: Unknown option '--bogus' \(see rnnkit train --help\)\n$/],
  ['unknown short option', ['sample', FIXTURE, '-x'], /^rnnkit: sample: Unknown option '-x'/],
  ['boolean option given a value', ['train', 't.txt', '--quiet=yes'], /^rnnkit: train: Option '--quiet' does not take an argument/],
  ['option without its value', ['train', 't.txt', '--hidden'], /^rnnkit: train: Option '--hidden <value>' argument missing/],
  ['option followed by another option', ['train', 't.txt', '--hidden', '--layers', '1'], /^rnnkit: train: Option '--hidden' argument is ambiguous\. Did you forget to specify the option argument for '--hidden'\?/],
  ['--hidden abc', ['train', 't.txt', '--hidden', 'abc'], /^rnnkit: --hidden must be an integer, got 'abc'\n$/],
  ['--hidden 1.5', ['train', 't.txt', '--hidden', '1.5'], /^rnnkit: --hidden must be an integer, got '1\.5'\n$/],
  ['--hidden empty', ['train', 't.txt', '--hidden='], /^rnnkit: --hidden must be an integer, got ''\n$/],
  ['--lr -1 (looks like an option)', ['train', 't.txt', '--lr', '-1'], /^rnnkit: train: Option '--lr' argument is ambiguous\. Did you forget to specify the option argument for '--lr'\? To specify an option argument starting with a dash use '--lr=-XYZ'\. \(see rnnkit train --help\)\n$/],
  ['--lr=-1', ['train', 't.txt', '--lr=-1'], /^rnnkit: --lr must be greater than 0, got -1\n$/],
  ['--lr 0', ['train', 't.txt', '--lr', '0'], /^rnnkit: --lr must be greater than 0, got 0\n$/],
  ['--lr NaN', ['train', 't.txt', '--lr', 'NaN'], /^rnnkit: --lr must be a number, got 'NaN'\n$/],
  ['--lr Infinity', ['train', 't.txt', '--lr', 'Infinity'], /^rnnkit: --lr must be a number, got 'Infinity'\n$/],
  ['--layers 0', ['train', 't.txt', '--layers', '0'], /^rnnkit: --layers must be at least 1, got 0\n$/],
  ['--dropout 1', ['train', 't.txt', '--dropout', '1'], /^rnnkit: --dropout must be at most 0\.99, got 1\n$/],
  ['--momentum 2', ['train', 't.txt', '--momentum', '2'], /^rnnkit: --momentum must be at most 1, got 2\n$/],
  ['--steps 0', ['train', 't.txt', '--steps', '0'], /^rnnkit: --steps must be at least 1, got 0\n$/],
  ['--epochs 0', ['train', 't.txt', '--epochs', '0'], /^rnnkit: --epochs must be greater than 0, got 0\n$/],
  ['--eval-every 0', ['train', 't.txt', '--eval-every', '0'], /^rnnkit: --eval-every must be at least 1, got 0\n$/],
  ['unknown --cell', ['train', 't.txt', '--cell', 'transformer'], /^rnnkit: --cell must be one of rnn_tanh, rnn_relu, lstm, gru, got 'transformer'\n$/],
  ['unknown --optimizer', ['train', 't.txt', '--optimizer', 'adamw'], /^rnnkit: --optimizer must be one of sgd, adagrad, rmsprop, adam, got 'adamw'\n$/],
  ['unknown --preset', ['train', 't.txt', '--preset', 'huge'], /^rnnkit: --preset must be one of demo, got 'huge'\n$/],
  ['unknown --backend', ['train', 't.txt', '--backend', 'webgpu'], /^rnnkit: unknown backend 'webgpu' \(backends: auto, native, wasm, ref\)\n$/],
  ['unknown --backend=', ['eval', FIXTURE, 't.txt', '--backend=cuda'], /^rnnkit: unknown backend 'cuda' \(backends: auto, native, wasm, ref\)\n$/],
  ['--backend without a name', ['sample', FIXTURE, '--backend'], /^rnnkit: --backend needs a name \(auto, native, wasm or ref\)\n$/],
  ['unknown command', ['trian', 't.txt'], /^rnnkit: unknown command 'trian' \(commands: train, sample, eval, [a-z, ]*info; see rnnkit --help\)\n$/],
  ['train: missing positional', ['train'], /^rnnkit: train: expected <text-file>, got 0 argument\(s\) \(see rnnkit train --help\)\n$/],
  ['train: extra positional', ['train', 't.txt', 'short.txt'], /^rnnkit: train: expected <text-file>, got 2 argument\(s\)/],
  ['sample: missing positional', ['sample'], /^rnnkit: sample: expected <checkpoint>, got 0 argument\(s\)/],
  ['eval: missing positional', ['eval', FIXTURE], /^rnnkit: eval: expected <checkpoint> <text-file>, got 1 argument\(s\)/],
  ['sample --temperature 0', ['sample', FIXTURE, '--temperature', '0'], /^rnnkit: --temperature must be greater than 0, got 0\n$/],
  ['sample --top-k=-1', ['sample', FIXTURE, '--top-k=-1'], /^rnnkit: --top-k must be at least 0, got -1\n$/],
  ['sample --length abc', ['sample', FIXTURE, '--length', 'abc'], /^rnnkit: --length must be an integer, got 'abc'\n$/],
  ['sample --seed 1.5', ['sample', FIXTURE, '--seed', '1.5'], /^rnnkit: --seed must be an integer, got '1\.5'\n$/],
  ['train --quiet still reports errors', ['train', 'missing.txt', '--quiet'], /^rnnkit: missing\.txt: no such file\n$/],
];

// Each case is its own process; run a few at a time.
describe('every bad input is one line on stderr and exit code 1', { concurrency: 4 }, () => {
  for (const [name, args, pattern] of TEXT_FILES) {
    test(name, async () => assertUserError(await run(withOut(args)), pattern));
  }
  for (const [name, file, pattern] of CHECKPOINTS) {
    test(`sample: ${name}`, async () => assertUserError(await run(['sample', file, '--length', '5']), pattern));
  }
  // the same checkpoint checks apply to eval and to train --resume
  for (const [name, file, pattern] of CHECKPOINTS.filter(([n]) => /random|rnnkit\/2|truncated|missing checkpoint/.test(n))) {
    test(`eval: ${name}`, async () => assertUserError(await run(['eval', file, 't.txt']), pattern));
    test(`train --resume: ${name}`, async () => assertUserError(await run(['train', 't.txt', '--resume', file, '--out', 'never']), pattern));
  }
  for (const [name, args, pattern] of OPTIONS) {
    test(name, async () => assertUserError(await run(withOut(args)), pattern));
  }
});

test('nothing was written by the failed runs', async () => {
  await assert.rejects(readFile(join(dir, 'never', 'latest.safetensors')), { code: 'ENOENT' });
});
