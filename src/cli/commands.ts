// rnnkit sample and rnnkit eval.
import { parse, num, positionals } from './args.js';
import { UserError } from '../core/errors.js';
import { readTextFile } from '../node/files.js';
import { readCheckpointFile } from '../node/checkpoint-file.js';
import { LanguageModel } from '../models/language-model.js';

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

Mean cross-entropy of predicting each character of the file from all characters
before it (zero initial state, state carried through the whole file; the first
character is not predicted), in nats and bits per character.

  --json            print one JSON object: loss_nats, bits_per_char, predicted_chars, ...
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
  const { values: v, positionals: pos } = parse('eval', argv, { json: { type: 'boolean' }, backend: { type: 'string' } });
  if (v['help']) { process.stdout.write(EVAL_HELP); return 0; }
  const [path, file] = positionals('eval', pos, ['checkpoint', 'text-file']);
  const { model, vocab } = await readCheckpointFile(path!);
  const text = await readTextFile(file!, 'text file');
  const lm = new LanguageModel(model, vocab);
  vocab.encode(text, file!); // lists unknown characters before any work
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
