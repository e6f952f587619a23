// The checkpoint fuzzer's harness, shared by the seeded test (checkpoint-fuzz.test.ts)
// and the long campaign (scripts/fuzz-checkpoints.mjs): valid small checkpoints of every
// model kind, built with the library's own encoders, and one case = a mutation of one of
// them fed to readModel, then, if it loaded, the model used. Every case must end as a
// one-line UserError naming the source, or a model that works (finite outputs, or a
// one-line UserError when used); anything else is a bug.
import { Rng } from '../src/core/rng.js';
import { UserError } from '../src/core/errors.js';
import { setAllocator } from '../src/core/alloc.js';
import { CharLM, type CharLMConfig } from '../src/models/char-lm.js';
import { Vocab } from '../src/data/vocab.js';
import { TokenVocab } from '../src/data/tokens.js';
import { LanguageModel } from '../src/models/language-model.js';
import { Classifier } from '../src/models/classifier.js';
import { Tagger } from '../src/models/tagger.js';
import { Generator } from '../src/models/generator.js';
import { Seq2Seq } from '../src/models/seq2seq.js';
import { encodeCheckpoint } from '../src/models/charlm-checkpoint.js';
import { encodeClassifier } from '../src/models/classifier-checkpoint.js';
import { encodeGenerator, encodeSeq2Seq, encodeTagger } from '../src/models/task-checkpoints.js';
import { readModel, type LoadedModel } from '../src/models/checkpoints.js';
import { Trainer } from '../src/train/trainer.js';
import { mutateCheckpoint, MUTATION_KINDS, type Mutant, type MutationKind } from '../src/testing/checkpoint-mutations.js';

export interface Seed { name: string; bytes: Uint8Array }

const CHARS = ['\n', ' ', 'a', 'b', 'c', 'd', 'e'];
const TOKENS = ['<unk>', '<s>', '</s>', 'a', 'b', 'c'];
const TOK = { units: 'words', lowercase: false } as const;

function charlm(name: string, cfg: Partial<CharLMConfig>, seed: number): Seed {
  const model = new CharLM({ vocab_size: CHARS.length, embedding_size: 4, hidden_size: 5, ...cfg }).init(new Rng(seed));
  return { name, bytes: encodeCheckpoint(model, new Vocab(CHARS)) };
}

/** A training checkpoint as `rnnkit train` writes one: optimizer moments, carried state, train metadata. */
function trainingCheckpoint(): Seed {
  const model = new CharLM({ vocab_size: CHARS.length, cell: 'lstm', embedding_size: 4, hidden_size: 5 }).init(new Rng(9));
  const ids = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % CHARS.length);
  const trainer = new Trainer(model, ids, { batch: 2, seq: 8, optimizer: 'adam' });
  trainer.trainStep();
  const snap = trainer.snapshot();
  const train = JSON.stringify({ trainer: snap.meta, text: { name: 'fuzz.txt', chars: ids.length, hash: '00000000' } });
  return { name: 'charlm training checkpoint (adam, carried state)', bytes: encodeCheckpoint(model, new Vocab(CHARS), snap.tensors, { train }) };
}

/** Valid small checkpoints of every model kind and the variants that change their tensors. */
export function seedCheckpoints(): Seed[] {
  const rng = new Rng(1), vocab = new TokenVocab(TOKENS);
  return [
    charlm('charlm rnn_tanh', { cell: 'rnn_tanh' }, 1),
    charlm('charlm rnn_relu, 2 layers', { cell: 'rnn_relu', num_layers: 2 }, 2),
    charlm('charlm lstm, layer norm', { cell: 'lstm', layer_norm: true }, 3),
    charlm('charlm gru, learned initial state, sum outputs', { cell: 'gru', num_layers: 2, initial_state: 'learned', sum_outputs: true }, 4),
    trainingCheckpoint(),
    { name: 'classifier tokens lstm', bytes: encodeClassifier({
      model: new Classifier({ num_classes: 3, vocab_size: vocab.size, embedding_size: 4, hidden_size: 5 }).init(rng), labels: ['neg', 'neu', 'pos'], vocab, tokenizer: TOK,
    }) },
    { name: 'classifier float rows, bidirectional gru, mean pool', bytes: encodeClassifier({
      model: new Classifier({ num_classes: 2, input: 'float', input_size: 3, cell: 'gru', hidden_size: 4, bidirectional: true, pool: 'mean' }).init(rng), labels: ['0', '1'], vocab: null, tokenizer: null,
    }) },
    { name: 'tagger bidirectional lstm', bytes: encodeTagger({
      model: new Tagger({ num_classes: 2, vocab_size: vocab.size, embedding_size: 4, hidden_size: 3 }).init(rng), vocab, tokenizer: { units: 'chars', lowercase: true }, tags: ['X', 'Y'],
      baseline: Int32Array.from(TOKENS, (_, i) => i % 2),
    }) },
    { name: 'generator tokens lstm', bytes: encodeGenerator({
      model: new Generator({ output: 'tokens', cond_size: 3, vocab_size: vocab.size, embedding_size: 4, hidden_size: 5 }).init(rng), vocab, tokenizer: TOK,
    }) },
    { name: 'generator bernoulli rows gru', bytes: encodeGenerator({
      model: new Generator({ output: 'bernoulli', cond_size: 2, input_size: 3, cell: 'gru', hidden_size: 4 }).init(rng), vocab: null, tokenizer: null,
    }) },
    ...(['luong', 'additive', 'none'] as const).map((attention, i) => ({
      name: `seq2seq ${attention} attention${i === 0 ? ', bidirectional lstm' : i === 1 ? ', gru, layer norm' : ', rnn_tanh, reversed source'}`,
      bytes: encodeSeq2Seq({
        model: new Seq2Seq({
          src_vocab_size: vocab.size, tgt_vocab_size: vocab.size, embedding_size: 4, hidden_size: 4, attention,
          cell: (['lstm', 'gru', 'rnn_tanh'] as const)[i]!, bidirectional: i === 0, layer_norm: i === 1, reverse_source: i === 2,
        }).init(rng),
        source: vocab, target: vocab, sourceTokenizer: TOK, targetTokenizer: TOK,
      }),
    })),
  ];
}

const finite = (a: ArrayLike<number>): boolean => { for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false; return true; };

/** Uses a loaded model the way its command would; returns whether every output is finite. */
export function exercise(m: LoadedModel): boolean {
  const ids = (n: number, V: number) => Int32Array.from({ length: n }, (_, i) => (i * 3 + 1) % V);
  switch (m.kind) {
    case 'charlm': {
      const lm = new LanguageModel(m.charlm.model, m.charlm.vocab), text = lm.vocab.chars.join('').repeat(2);
      const sample = lm.sample({ length: 12, seed: 1 });
      return Number.isFinite(lm.evaluate(text)) && [...sample].every((ch) => lm.vocab.has(ch));
    }
    case 'classifier': {
      const c = m.classifier.model, cfg = c.config;
      const seq = cfg.input === 'tokens' ? ids(5, cfg.vocab_size) : Float32Array.from({ length: 4 * cfg.input_size }, (_, i) => (i % 3) / 3);
      const best = c.predict([seq]);
      return finite(c.probabilities()) && best[0]! >= 0 && best[0]! < m.classifier.labels.length;
    }
    case 'tagger': {
      const t = m.tagger.model;
      t.forward([ids(6, t.config.vocab_size)], null);
      const tags = t.predictions()[0]!; // as tag predict: refuses non-finite logits
      return finite(t.lastLogits()) && tags.every((y) => y >= 0 && y < m.tagger.tags.length);
    }
    case 'generator': {
      const g = m.generator.model, cond = Float32Array.from({ length: g.config.cond_size }, (_, i) => (i + 1) / 4);
      if (g.config.output === 'bernoulli') return finite(g.draw(cond, 3));
      return g.generate(cond, { width: 2, maxLength: 6 }).every((h) => Number.isFinite(h.score) && h.tokens.every((x) => x >= 0 && x < g.config.vocab_size));
    }
    case 'seq2seq': {
      const s = m.seq2seq.model;
      return s.translate(ids(5, s.config.src_vocab_size), { width: 2, maxLength: 8 }).every((h) => Number.isFinite(h.score) && h.tokens.every((x) => x >= 0 && x < s.config.tgt_vocab_size));
    }
  }
}

/** How a case ended. The first three are the contract; the rest are bugs. */
export const OUTCOMES = ['rejected', 'works', 'refused on use', 'non-finite output', 'bad error message', 'crash', 'over allocation budget', 'slow', 'hang'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const GOOD_OUTCOMES: readonly Outcome[] = ['rejected', 'works', 'refused on use'];

export interface CaseResult { seed: string; kind: MutationKind; what: string; outcome: Outcome; detail: string; ms: number; bytes: Uint8Array }

class OverBudget extends Error {}

/** A one-line message that starts with the source and is not a wall of text. */
export function isGoodMessage(message: string, source: string): boolean {
  return message.startsWith(`${source}: `) && !/[\r\n\u2028\u2029]/.test(message) && message.length <= 600;
}

/**
 * Feeds bytes to readModel and uses what loads. Every float array allocated meanwhile is
 * counted: a reader that validates before allocating never needs more than a few times
 * the file's own size, so more is a bug even if the allocation would have succeeded.
 */
export function runBytes(bytes: Uint8Array, source: string, slowMs = 5000): { outcome: Outcome; detail: string; ms: number } {
  const budget = 4 * bytes.length + (1 << 20);
  let allocated = 0, over = '';
  const previous = setAllocator((n) => {
    allocated += n;
    // remembered as well as thrown: a reader might catch the error and report something else
    if (allocated > budget) throw new OverBudget(over ||= `asked for ${allocated} floats for a ${bytes.length}-byte file`);
    return previous(n);
  });
  const t0 = performance.now();
  let stage = 'load';
  try {
    const { loaded } = readModel(bytes, source);
    stage = 'use';
    const ok = exercise(loaded);
    const ms = performance.now() - t0;
    if (over) return { outcome: 'over allocation budget', detail: `use: ${over}`, ms };
    if (ms > slowMs) return { outcome: 'slow', detail: `${ms.toFixed(0)} ms`, ms };
    return { outcome: ok ? 'works' : 'non-finite output', detail: loaded.kind, ms };
  } catch (e) {
    const ms = performance.now() - t0, message = e instanceof Error ? e.message : String(e);
    if (over) return { outcome: 'over allocation budget', detail: `${stage}: ${over}`, ms };
    if (!(e instanceof UserError)) return { outcome: 'crash', detail: `${stage}: ${e instanceof Error ? e.name : typeof e}: ${message.slice(0, 200)}`, ms };
    // errors at use come from the model's code and need not name the file
    if (stage === 'load' && !isGoodMessage(message, source)) return { outcome: 'bad error message', detail: JSON.stringify(message.slice(0, 200)), ms };
    if (stage === 'use' && /[\r\n]/.test(message)) return { outcome: 'bad error message', detail: JSON.stringify(message.slice(0, 200)), ms };
    if (ms > slowMs) return { outcome: 'slow', detail: `${ms.toFixed(0)} ms`, ms };
    return { outcome: stage === 'load' ? 'rejected' : 'refused on use', detail: message.slice(source.length + 2, source.length + 82), ms };
  } finally {
    setAllocator(previous);
  }
}

/** Case i of campaign `seed`: kinds in turn, seeds in turn within a kind, an Rng of its own (so any case replays alone). */
export function caseMutant(seeds: readonly Seed[], seed: number, i: number): Mutant & { seed: string } {
  const kind = MUTATION_KINDS[i % MUTATION_KINDS.length]!, s = seeds[Math.floor(i / MUTATION_KINDS.length) % seeds.length]!;
  return { seed: s.name, ...mutateCheckpoint(s.bytes, new Rng(seed * 1_000_003 + i), kind) };
}

export function runCase(seeds: readonly Seed[], seed: number, i: number, slowMs?: number): CaseResult {
  const m = caseMutant(seeds, seed, i);
  return { ...m, ...runBytes(m.bytes, 'fuzz.safetensors', slowMs), bytes: m.bytes };
}

/** Counts by mutation kind and outcome. */
export function tally(results: Iterable<Pick<CaseResult, 'kind' | 'outcome'>>): Map<MutationKind, Map<Outcome, number>> {
  const t = new Map<MutationKind, Map<Outcome, number>>(MUTATION_KINDS.map((k) => [k, new Map()]));
  for (const r of results) { const row = t.get(r.kind)!; row.set(r.outcome, (row.get(r.outcome) ?? 0) + 1); }
  return t;
}
