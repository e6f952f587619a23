// rnnkit sample and rnnkit eval.
import { parse, num, positionals } from './args.js';
import { UserError } from '../core/errors.js';
import { readTextFile } from '../node/files.js';
import { readCheckpointFile } from '../node/checkpoint-file.js';
import { LanguageModel } from '../models/language-model.js';
import type { CharLM } from '../models/char-lm.js';
import type { Vocab } from '../data/vocab.js';
import { warmStartAccuracy } from '../train/warm-start.js';
import { Progress, formatDuration } from './progress.js';

export const SAMPLE_HELP = `Usage: rnnkit sample <checkpoint> [options]

Runs the prime text through the network (warm-start), then draws characters one
at a time, feeding each back in, and streams them to stdout.

  --length N        characters to generate                     (1000)
  --temperature T   < 1: safer, > 1: more surprising            (1)
  --top-k K         draw only among the K most likely characters (all)
  --argmax          always take the most likely character
  --prime TEXT      text to start from, printed first            (a newline)
  --seed S          random seed                                  (0)
  -h, --help
`;

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

  --warm-start K    true characters given before predicting (warm-start mode)
  --horizon M       characters predicted free-running after them  (20)
  --positions N     start positions, at most one per character    (1000)
  --json            print one JSON object: loss_nats, bits_per_char, predicted_chars, ...
                    (warm-start mode: perStep, overall, teacherForced, unigram, ...)
  -h, --help
`;

export async function sampleCommand(argv: string[]): Promise<number> {
  const { values: v, positionals: pos } = parse('sample', argv, {
    length: { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, argmax: { type: 'boolean' },
    prime: { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' },
  });
  if (v['help']) { process.stdout.write(SAMPLE_HELP); return 0; }
  const [path] = positionals('sample', pos, ['checkpoint']);
  const opts = {
    length: num(v, 'length', 1000, { int: true, min: 0 }),
    temperature: num(v, 'temperature', 1, { min: 0, minExclusive: true }),
    topK: num(v, 'top-k', 0, { int: true, min: 0 }),
    argmax: !!v['argmax'],
    seed: num(v, 'seed', 0, { int: true, min: 0 }),
  };
  const { model, vocab } = await readCheckpointFile(path!);
  const lm = new LanguageModel(model, vocab);
  const prime = v['prime'] as string | undefined;
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
  const { values: v, positionals: pos } = parse('eval', argv, {
    json: { type: 'boolean' }, backend: { type: 'string' },
    'warm-start': { type: 'string' }, horizon: { type: 'string' }, positions: { type: 'string' },
  });
  if (v['help']) { process.stdout.write(EVAL_HELP); return 0; }
  const [path, file] = positionals('eval', pos, ['checkpoint', 'text-file']);
  const warm = v['warm-start'] !== undefined;
  for (const name of ['horizon', 'positions']) {
    if (!warm && v[name] !== undefined) throw new UserError(`--${name} needs --warm-start K (warm-start evaluation; see rnnkit eval --help)`);
  }
  const ws = warm ? {
    warmStart: num(v, 'warm-start', 0, { int: true, min: 1 }),
    horizon: num(v, 'horizon', 20, { int: true, min: 1 }),
    positions: num(v, 'positions', 1000, { int: true, min: 1 }),
  } : null;
  const { model, vocab } = await readCheckpointFile(path!);
  const text = await readTextFile(file!, 'text file');
  const lm = new LanguageModel(model, vocab);
  const ids = vocab.encode(text, file!); // lists unknown characters before any work
  if (ws) return warmStartEval(model, vocab, ids, ws, path!, file!, !!v['json']);
  const t0 = Date.now();
  const s = lm.evaluateStats(text);
  if (v['json']) {
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
