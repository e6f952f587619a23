// Corpus BLEU: hand-computed examples, then agreement with sacreBLEU on the committed
// example (test/fixtures/bleu/example.json, written by scripts/make_bleu_fixture.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { corpusBleu, bleuFromStats, closestLength, sacreBleu, tokenize13a, type SacreBleuOptions, type BleuSmoothing } from '../src/metrics/bleu.js';
import { UserError } from '../src/core/errors.js';

const w = (s: string): string[] => s.split(' ').filter((x) => x !== '');
const close = (a: number, e: number, rel = 1e-12): void => {
  assert.ok(Math.abs(a - e) <= rel * Math.abs(e), `${a} vs ${e}`);
};

test('Papineni et al.: "the the the ..." is clipped at the count in the references', () => {
  // hypothesis: 7 x "the"; "the" occurs at most twice in one reference, so the modified
  // unigram precision is 2/7. The closest reference length is 7 (ref2), so BP = 1.
  const hyp = w('the the the the the the the');
  const refs = [w('the cat is on the mat'), w('there is a cat on the mat')];
  const b1 = corpusBleu([hyp], [refs], { maxOrder: 1 });
  assert.deepEqual(b1.counts, [2]);
  assert.deepEqual(b1.totals, [7]);
  assert.equal(b1.bp, 1);
  assert.equal(b1.refLen, 7);
  close(b1.bleu, (100 * 2) / 7);
  // BLEU-4: counts [2,0,0,0] of totals [7,6,5,4]. With the default exp smoothing the
  // k-th empty order gets 100 / (2^k total): precisions 200/7, 100/12, 100/20, 100/32,
  // BLEU = (200/7 * 100/12 * 5 * 100/32)^(1/4) = (10^7 / 2688)^(1/4) ~ 7.81.
  const b4 = corpusBleu([hyp], [refs]);
  assert.deepEqual(b4.counts, [2, 0, 0, 0]);
  assert.deepEqual(b4.totals, [7, 6, 5, 4]);
  close(b4.precisions[1]!, 100 / 12);
  close(b4.precisions[3]!, 100 / 32);
  close(b4.bleu, (1e7 / 2688) ** 0.25);
  // without smoothing an order with no match makes BLEU 0
  assert.equal(corpusBleu([hyp], [refs], { smooth: 'none' }).bleu, 0);
});

test('a perfect match is 100, no overlap at all is 0', () => {
  const s = w('le chat est assis sur le tapis .');
  const perfect = corpusBleu([s, w('oui')], [s, w('oui')]);
  close(perfect.bleu, 100);
  assert.equal(perfect.bp, 1);
  assert.deepEqual(perfect.precisions.map(Math.round), [100, 100, 100, 100]);
  // nothing in common: 0 for every smoothing, precisions all 0, BP still reported
  for (const smooth of ['none', 'exp', 'floor', 'add-k'] as BleuSmoothing[]) {
    const none = corpusBleu([w('x y z')], [w('a b c d e f')], { smooth });
    assert.equal(none.bleu, 0);
    assert.deepEqual(none.precisions, [0, 0, 0, 0]);
    close(none.bp, Math.exp(1 - 6 / 3));
  }
});

test('brevity penalty: a correct prefix of 6 of 8 tokens scores 100 exp(1 - 8/6)', () => {
  // every n-gram of the hypothesis is in the reference: precisions 100, BLEU = 100 BP
  const r = corpusBleu([w('a b c d e f')], [w('a b c d e f g h')]);
  assert.deepEqual(r.precisions.map((p) => Math.round(p * 1e9) / 1e9), [100, 100, 100, 100]);
  close(r.bp, Math.exp(-1 / 3));
  close(r.bleu, 100 * Math.exp(-1 / 3)); // ~ 71.65
  assert.equal(r.sysLen, 6);
  assert.equal(r.refLen, 8);
  // longer than the reference: no penalty (precision pays for it instead)
  assert.equal(corpusBleu([w('a b c d e f g h i')], [w('a b c d e f g h')]).bp, 1);
  // an empty corpus of hypotheses: BP 0
  assert.equal(corpusBleu([[]], [w('a b')]).bp, 0);
});

test('corpus BLEU sums the statistics over segments instead of averaging sentence BLEU', () => {
  // segment 1 matches fully (4/4, 3/3, 2/2, 1/1); segment 2 "e f g h" vs "e f x y"
  // matches 2/4, 1/3, 0/2, 0/1. Sums: 6/8, 4/6, 2/4, 1/2, product 1/8, BLEU 100 (1/8)^(1/4).
  const r = corpusBleu([w('a b c d'), w('e f g h')], [w('a b c d'), w('e f x y')]);
  assert.deepEqual(r.counts, [6, 4, 2, 1]);
  assert.deepEqual(r.totals, [8, 6, 4, 2]);
  close(r.bleu, 100 * 2 ** -0.75); // ~ 59.46, while the mean of sentence BLEUs is ~ 50
});

test('several references: clip at the most in any one reference; closest length, ties to the shorter', () => {
  // "the" appears twice in ref 2: unigrams 3/3, bigrams "the the" + "the cat" 2/2,
  // trigram 0/1 -> exp smoothing gives 100/2. BLEU-3 = (100 * 100 * 50)^(1/3) ~ 79.37.
  const r = corpusBleu([w('the the cat')], [[w('the cat'), w('the the dog')]], { maxOrder: 3 });
  assert.deepEqual(r.counts, [3, 2, 0]);
  close(r.bleu, 5e5 ** (1 / 3));
  assert.equal(r.refLen, 3);
  // the clip is per reference, not the sum over references: "a" twice in each -> 2, not 4
  assert.deepEqual(corpusBleu([w('a a a a')], [[w('a a'), w('a a')]], { maxOrder: 1 }).counts, [2]);

  assert.equal(closestLength(5, [4, 6]), 4);
  assert.equal(closestLength(5, [6, 4]), 4);
  assert.equal(closestLength(5, [7, 3, 9]), 3);
  assert.equal(closestLength(5, [8, 7]), 7);
  // hyp 5, refs 7 and 3: refLen 3, so no penalty
  assert.equal(corpusBleu([w('a b c d e')], [[w('a b c d e f g'), w('a b c')]]).bp, 1);
});

test('smoothing methods from corpus sums (Chen & Cherry 2014, as sacreBLEU)', () => {
  // counts [3,1,0,0] of totals [4,3,2,1], no brevity penalty
  const s = (smooth: BleuSmoothing, smoothValue?: number) =>
    bleuFromStats([3, 1, 0, 0], [4, 3, 2, 1], 4, 4, smoothValue === undefined ? { smooth } : { smooth, smoothValue });
  // exp: the first empty order gets 100/(2*2), the second 100/(4*1)
  close(s('exp').bleu, (75 * (100 / 3) * 25 * 25) ** 0.25);
  assert.deepEqual(s('exp').precisions.map((p) => +p.toFixed(9)), [75, 33.333333333, 25, 25]);
  // floor 0.1: 100 * 0.1 / total
  close(s('floor').bleu, (75 * (100 / 3) * 5 * 10) ** 0.25);
  close(s('floor', 0.5).bleu, (75 * (100 / 3) * 25 * 50) ** 0.25);
  // add-k (k=1) above unigrams: 3/4, 2/4, 1/3, 1/2
  close(s('add-k').bleu, (75 * 50 * (100 / 3) * 50) ** 0.25);
  assert.deepEqual(s('add-k').counts, [3, 1, 0, 0]); // the sums themselves are left alone
  assert.equal(s('none').bleu, 0);
  // effective order: orders the hypotheses are too short for are left out of the average
  assert.equal(bleuFromStats([2, 1, 0, 0], [2, 1, 0, 0], 2, 2).bleu, 0);
  close(bleuFromStats([2, 1, 0, 0], [2, 1, 0, 0], 2, 2, { effectiveOrder: true }).bleu, 100);
});

test('tokenize13a: mteval-v13a rules', () => {
  assert.deepEqual(tokenize13a('Hello, world!'), ['Hello', ',', 'world', '!']);
  assert.deepEqual(tokenize13a('3.14 and 1,000 but 5-6.'), ['3.14', 'and', '1,000', 'but', '5', '-', '6', '.']);
  assert.deepEqual(tokenize13a("L'homme, aujourd'hui : « oui » ?"), ["L'homme", ',', "aujourd'hui", ':', '«', 'oui', '»', '?']);
  assert.deepEqual(tokenize13a('Tom &amp; Jerry &quot;x&quot; &amp;lt;'), ['Tom', '&', 'Jerry', '"', 'x', '"', '<']);
  assert.deepEqual(tokenize13a('a-\nb <skipped>c\nd  \n'), ['ab', 'c', 'd']);
  assert.deepEqual(tokenize13a('   '), []);
});

test('sacreBleu takes one reference string or a list per hypothesis, and checks its input', () => {
  const hyps = ['Le chat est assis.', 'Il fait beau.'];
  const one = sacreBleu(hyps, ['Le chat est assis.', 'Il fait très beau.']);
  const listed = sacreBleu(hyps, [['Le chat est assis.'], ['Il fait très beau.']]);
  assert.deepEqual(one, listed);
  assert.throws(() => sacreBleu(hyps, ['x']), UserError);
  assert.throws(() => sacreBleu(hyps, [['x'], []]), /no references/);
  assert.throws(() => corpusBleu([w('a')], [w('a')], { maxOrder: 0 }), UserError);
  assert.throws(() => corpusBleu([w('a'), w('b')], [[w('a')], w('b')] as string[][][]), UserError);
  assert.throws(() => sacreBleu(hyps, hyps, { tokenize: 'intl' as '13a' }), /unknown BLEU tokenizer/);
});

interface FixtureResult { score: number; precisions: number[]; counts: number[]; totals: number[]; bp: number; sys_len: number; ref_len: number }
interface Fixture {
  sacrebleu_version: string;
  hypotheses: string[];
  references: string[][];
  cases: { name: string; options: Record<string, string | number | boolean>; segments: number[]; num_refs: number; result: FixtureResult }[];
  tokenizer_13a: { text: string; tokens: string[] }[];
}
const fixture = JSON.parse(readFileSync(new URL('../../test/fixtures/bleu/example.json', import.meta.url), 'utf8')) as Fixture;

/** sacreBLEU's keyword arguments as sacreBleu() options. */
function options(o: Record<string, string | number | boolean>): SacreBleuOptions {
  const out: SacreBleuOptions = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'tokenize') out.tokenize = v as '13a' | 'none';
    else if (k === 'lowercase') out.lowercase = v as boolean;
    else if (k === 'smooth_method') out.smooth = v as BleuSmoothing;
    else if (k === 'smooth_value') out.smoothValue = v as number;
    else if (k === 'effective_order') out.effectiveOrder = v as boolean;
    else if (k === 'max_ngram_order') out.maxOrder = v as number;
    else throw new Error(`fixture option ${k} not mapped`);
  }
  return out;
}

const relClose = (a: number, e: number, what: string): void => {
  assert.ok(e === 0 ? a === 0 : Math.abs(a - e) <= 1e-9 * Math.abs(e), `${what}: ${a} vs sacreBLEU ${e}`);
};

test(`agrees with sacreBLEU ${fixture.sacrebleu_version} on the example corpus`, () => {
  assert.match(fixture.sacrebleu_version, /^\d+\.\d+/);
  assert.ok(fixture.hypotheses.length >= 20);
  assert.ok(fixture.cases.length >= 4);
  for (const c of fixture.cases) {
    const hyps = c.segments.map((i) => fixture.hypotheses[i]!);
    const refs = c.segments.map((i) => fixture.references[i]!);
    const opts = options(c.options);
    const r = c.num_refs === 1 ? sacreBleu(hyps, refs.map((x) => x[0]!), opts) : sacreBleu(hyps, refs.map((x) => x.slice(0, c.num_refs)), opts);
    const e = c.result;
    relClose(r.bleu, e.score, `${c.name} score`);
    relClose(r.bp, e.bp, `${c.name} bp`);
    assert.equal(r.sysLen, e.sys_len, `${c.name} sys_len`);
    assert.equal(r.refLen, e.ref_len, `${c.name} ref_len`);
    e.precisions.forEach((p, n) => relClose(r.precisions[n]!, p, `${c.name} precision ${n + 1}`));
    // sacreBLEU reports add-k's counts and totals with k already added above unigrams
    const k = opts.smooth === 'add-k' ? (opts.smoothValue ?? 1) : 0;
    assert.deepEqual(r.counts.map((x, n) => (n > 0 ? x + k : x)), e.counts, `${c.name} counts`);
    assert.deepEqual(r.totals.map((x, n) => (n > 0 ? x + k : x)), e.totals, `${c.name} totals`);
  }
  const names = fixture.cases.map((c) => c.name);
  for (const n of ['default', 'tokenize-none', 'two-references']) assert.ok(names.includes(n), n);
});

test(`tokenize13a matches sacreBLEU ${fixture.sacrebleu_version}'s 13a tokenizer`, () => {
  assert.ok(fixture.tokenizer_13a.length > 10);
  for (const { text, tokens } of fixture.tokenizer_13a) assert.deepEqual(tokenize13a(text), tokens, JSON.stringify(text));
});
