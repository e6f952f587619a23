// rnnkit sample and rnnkit eval.
import { expectPositionals, flagHelp, parseFlags, type FlagTable } from './flags.js';
import { UserError } from '../core/errors.js';
import { readTextFile } from '../node/files.js';
import { readCheckpointFile } from '../node/checkpoint-file.js';
import { LanguageModel } from '../models/language-model.js';
import type { CharLM } from '../models/char-lm.js';
import type { Vocab } from '../data/vocab.js';
import { warmStartAccuracy } from '../train/warm-start.js';
import { Progress, formatDuration } from './progress.js';

const SAMPLE_FLAGS: FlagTable = {
  length: { arg: 'N', help: 'characters to generate', def: 1000, int: true, min: 0 },
  temperature: { arg: 'T', help: '< 1: safer, > 1: more surprising', def: 1, min: 0, above: true },
  'top-k': { arg: 'K', help: 'draw only among the K most likely characters (default: all)', int: true, min: 0 },
  argmax: { help: 'always take the most likely character' },
  prime: { arg: 'TEXT', help: 'text to start from, printed first (default: a newline)' },
  seed: { arg: 'S', help: 'random seed', def: 0, int: true, min: 0 },
};

export const SAMPLE_HELP = `Usage: rnnkit sample <checkpoint> [options]

Runs the prime text through the network (warm-start), then draws characters one
at a time, feeding each back in, and streams them to stdout.

${flagHelp(SAMPLE_FLAGS)}`;

const EVAL_FLAGS: FlagTable = {
  'warm-start': { arg: 'K', help: 'true characters given before predicting (warm-start mode)', int: true, min: 1 },
  horizon: { arg: 'M', help: 'characters predicted free-running after them', def: 20, int: true, min: 1 },
  positions: { arg: 'N', help: 'start positions, at most one per character', def: 1000, int: true, min: 1 },
  json: { help: 'print one JSON object: loss_nats, bits_per_char, predicted_chars, ... (warm-start mode: perStep, overall, teacherForced, unigram, ...)' },
};

export const EVAL_HELP = `Usage: rnnkit eval <checkpoint> <text-file> [--json]
       rnnkit eval <checkpoint> <text-file> --warm-start K [--horizon M] [--positions N] [--json]

Mean cross-entropy of predicting each character of the file from all characters
before it (zero initial state, state carried through the whole file; the first
character is not predicted), in nats and bits per character.

With --warm-start, measures free-running prediction instead: at each of N start
positions spread evenly over the file, the network reads K true characters from
the zero state, then predicts M characters on its own, each most likely (argmax)
prediction fed back as the next input. Prints the accuracy at each horizon step
and overall against the file, next to the teacher-forced accuracy at the same
characters (the true previous character fed instead, so mistakes cannot compound)
and a baseline that always predicts the file's most frequent character.

${flagHelp(EVAL_FLAGS)}`;

export async function sampleCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals: pos, help } = parseFlags('sample', argv, SAMPLE_FLAGS);
  if (help) { process.stdout.write(SAMPLE_HELP); return 0; }
  const [path] = expectPositionals('sample', pos, ['checkpoint']);
  const opts = {
    length: f.num('length'),
    temperature: f.num('temperature'),
    topK: f.set('top-k') ? f.num('top-k') : 0,
    argmax: f.bool('argmax'),
    seed: f.num('seed'),
  };
  const { model, vocab } = await readCheckpointFile(path!);
  const lm = new LanguageModel(model, vocab);
  const prime = f.str('prime');
  if (prime !== undefined) {
    const unknown = [...new Set(prime)].filter((ch) => !vocab.has(ch));
    if (unknown.length) throw new UserError(`--prime has character(s) not in the model's vocabulary: ${unknown.map((c) => JSON.stringify(c)).join(' ')}`);
  }
  const out = process.stdout;
  let closed = false;
  out.on('error', () => { closed = true; }); // e.g. piped into head
  if (prime) out.write(prime);
  let buf = '', last = prime ? prime.slice(-1) : '';
  for (const ch of lm.generate(prime === undefined ? opts : { ...opts, prime })) {
    if (closed) break;
    buf += ch;
    last = ch;
    // stream as it comes, without a syscall per character
    if (buf.length >= 64 || ch === '\n') {
      out.write(buf); buf = '';
      // a write error (EPIPE) is only reported on a later tick: yield so it can set closed
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (!closed) out.write(last === '\n' ? buf : buf + '\n');
  return 0;
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals: pos, help } = parseFlags('eval', argv, EVAL_FLAGS);
  if (help) { process.stdout.write(EVAL_HELP); return 0; }
  const [path, file] = expectPositionals('eval', pos, ['checkpoint', 'text-file']);
  const warm = f.set('warm-start');
  for (const name of ['horizon', 'positions']) {
    if (!warm && f.set(name)) throw new UserError(`--${name} needs --warm-start K (warm-start evaluation; see rnnkit eval --help)`);
  }
  const ws = warm ? {
    warmStart: f.num('warm-start'),
    horizon: f.num('horizon'),
    positions: f.num('positions'),
  } : null;
  const { model, vocab } = await readCheckpointFile(path!);
  const text = await readTextFile(file!, 'text file');
  const lm = new LanguageModel(model, vocab);
  const ids = vocab.encode(text, file!); // lists unknown characters before any work
  if (ws) return warmStartEval(model, vocab, ids, ws, path!, file!, f.bool('json'));
  const t0 = Date.now();
  const s = lm.evaluateStats(text);
  if (f.bool('json')) {
    process.stdout.write(JSON.stringify({ ...s, checkpoint: path, file, seconds: (Date.now() - t0) / 1000 }) + '\n');
  } else {
    process.stdout.write(`${file}: ${s.predicted_chars.toLocaleString('en')} characters predicted, ` +
      `loss ${s.loss_nats.toFixed(4)} nats/char, ${s.bits_per_char.toFixed(4)} bits/char\n`);
  }
  return 0;
}

function warmStartEval(model: CharLM, vocab: Vocab, ids: Int32Array, o: { warmStart: number; horizon: number; positions: number },
  path: string, file: string, json: boolean): number {
  const { warmStart: K, horizon: M } = o;
  if (ids.length < K + M) {
    throw new UserError(`${file} has ${ids.length.toLocaleString('en')} characters; --warm-start ${K} + --horizon ${M} needs at least ${K + M}`);
  }
  // a live line on a terminal; elsewhere a line now and then, only once it takes a while
  const progress = new Progress(), t0 = Date.now();
  let lastLog = t0;
  const onProgress = (done: number, total: number) => {
    const now = Date.now(), secs = (now - t0) / 1000, eta = formatDuration((secs * (total - done)) / done);
    const line = `warm-start eval: ${done.toLocaleString('en')}/${total.toLocaleString('en')} positions, ${formatDuration(secs)}, ${eta} left`;
    if (progress.live) progress.status(line);
    else if (now - lastLog >= 10_000 && done < total) { progress.log(line); lastLog = now; }
  };
  const r = warmStartAccuracy(model, ids, { ...o, onProgress });
  progress.clear();
  const seconds = (Date.now() - t0) / 1000, unigramChar = vocab.chars[r.unigramId]!;
  if (json) {
    process.stdout.write(JSON.stringify({ mode: 'warm-start', checkpoint: path, file, ...r, unigramChar, seconds }) + '\n');
    return 0;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(6);
  const lines = [
    `${file}: warm-start ${K} characters, then ${M} predicted free-running (argmax fed back), ` +
    `at ${r.positions.toLocaleString('en')} positions (of ${r.possiblePositions.toLocaleString('en')})`,
    '  step  free-running  teacher-forced',
  ];
  for (const j of shownSteps(M)) lines.push(`  ${String(j).padStart(4)}  ${pct(r.perStep[j - 1]!).padStart(12)}  ${pct(r.teacherForcedPerStep[j - 1]!).padStart(14)}`);
  lines.push(
    `free-running accuracy (steps 1-${M}): ${pct(r.overall).trim()}`,
    `teacher-forced accuracy (same characters): ${pct(r.teacherForced).trim()}`,
    `unigram baseline (always ${JSON.stringify(unigramChar)}): ${pct(r.unigram).trim()}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** Horizon steps shown in the table: all up to 20; beyond, 1-10, then about ten more at a round stride, and the last. */
export function shownSteps(M: number): number[] {
  if (M <= 20) return Array.from({ length: M }, (_, i) => i + 1);
  let stride = 1;
  for (let p = 1; ; p *= 10) {
    const s = [2, 5, 10].map((x) => x * p).find((x) => (M - 10) / x <= 10);
    if (s !== undefined) { stride = s; break; }
  }
  const steps = Array.from({ length: 10 }, (_, i) => i + 1);
  for (let j = Math.ceil(11 / stride) * stride; j < M; j += stride) steps.push(j);
  steps.push(M);
  return steps;
}
