// Encoder-decoder (Sutskever et al. 2014) with optional Luong attention
// (docs/models.md, `seq2seq`):
//   source -> encoder stack (optionally bidirectional, optionally read reversed)
//   final states -> bridge -> decoder initial state
//   <s> y_1..y_n -> decoder stack -> [attention over the encoder outputs] -> dropout -> linear -> softmax
// Training is teacher-forced; decoding is greedy or beam search (beam.ts).
import { ParamSet, type Arr, type DType, type ParamSpec } from '../core/params.js';
import type { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';
import { CELL_TYPES, type CellType } from '../nn/recurrent.js';
import { linearForward, linearBackward, linearSpecs, uniformInit } from '../nn/linear.js';
import { DropoutLayer } from '../nn/dropout.js';
import { GlobalAttention, type AttentionRows, type AttentionWeights } from '../nn/attention.js';
import { flags, forgetBias, oneOf, positiveInts, rates, tokenIds } from './config-checks.js';
import { SequenceEncoder, encoderParamSpecs, type EncoderConfig } from './encoder.js';
import { beamSearch, type Hypothesis, type StepDecoder } from './beam.js';
import { checkFinite } from './sample.js';
import { logSoftmaxRows, reorderState } from './generator.js';

/** none; luong: global attention, general score; additive: global attention, Bahdanau et al.'s additive score. */
export type AttentionKind = 'none' | 'luong' | 'additive';
export const ATTENTIONS: readonly AttentionKind[] = ['none', 'luong', 'additive'];

export interface Seq2SeqConfig {
  cell: CellType;
  src_vocab_size: number;
  tgt_vocab_size: number;
  embedding_size: number;
  hidden_size: number;
  num_layers: number;
  bidirectional: boolean;     // the encoder
  dropout: number;
  layer_norm: boolean;
  attention: AttentionKind;
  reverse_source: boolean;    // read the source last token first (Sutskever et al.)
  bos: number; eos: number;   // target ids of <s> and </s>
  forget_bias: number | null;
}

export function seq2seqConfig(c: Partial<Seq2SeqConfig> & Pick<Seq2SeqConfig, 'src_vocab_size' | 'tgt_vocab_size'>): Seq2SeqConfig {
  const cfg: Seq2SeqConfig = {
    cell: c.cell ?? 'lstm', src_vocab_size: c.src_vocab_size, tgt_vocab_size: c.tgt_vocab_size, embedding_size: c.embedding_size ?? 64,
    hidden_size: c.hidden_size ?? 256, num_layers: c.num_layers ?? 1, bidirectional: c.bidirectional ?? false, dropout: c.dropout ?? 0,
    layer_norm: c.layer_norm ?? false, attention: c.attention ?? 'luong', reverse_source: c.reverse_source ?? false,
    bos: c.bos ?? 1, eos: c.eos ?? 2, forget_bias: c.forget_bias === undefined ? 1 : c.forget_bias,
  };
  const f = cfg as unknown as Record<string, unknown>, what = 'seq2seq';
  oneOf(f, 'cell', CELL_TYPES, what);
  oneOf(f, 'attention', ATTENTIONS, what);
  positiveInts(f, ['src_vocab_size', 'tgt_vocab_size', 'embedding_size', 'hidden_size', 'num_layers'], what);
  rates(f, ['dropout'], what);
  flags(f, ['bidirectional', 'layer_norm', 'reverse_source'], what);
  forgetBias(f, what);
  tokenIds(f, ['bos', 'eos'], cfg.tgt_vocab_size, what);
  return cfg;
}

function side(c: Seq2SeqConfig, which: 'encoder' | 'decoder'): EncoderConfig {
  return {
    input: 'tokens', vocab_size: which === 'encoder' ? c.src_vocab_size : c.tgt_vocab_size, embedding_size: c.embedding_size, input_size: 0,
    cell: c.cell, hidden_size: c.hidden_size, num_layers: c.num_layers, bidirectional: which === 'encoder' && c.bidirectional,
    dropout: c.dropout, layer_norm: c.layer_norm,
  };
}

export function seq2seqParamSpecs(c: Seq2SeqConfig): ParamSpec[] {
  const H = c.hidden_size, We = (c.bidirectional ? 2 : 1) * H, enc = encoderParamSpecs(side(c, 'encoder'), 'encoder.'), dec = encoderParamSpecs(side(c, 'decoder'), 'decoder.');
  const bridge: ParamSpec[] = [];
  if (c.bidirectional) {
    bridge.push(...linearSpecs('bridge', H, 2 * H));
    if (c.cell === 'lstm') bridge.push(...linearSpecs('bridge_c', H, 2 * H));
  }
  const att: ParamSpec[] = c.attention === 'luong' ? [{ name: 'attention.weight', shape: [H, We] }]
    : c.attention === 'additive' ? [{ name: 'attention.query.weight', shape: [H, H] }, { name: 'attention.key.weight', shape: [H, We] }, { name: 'attention.v', shape: [H] }] : [];
  if (c.attention !== 'none') att.push({ name: 'attention.combine.weight', shape: [H, We + H] });
  return [...enc.core, ...bridge, ...dec.core, ...att, ...linearSpecs('head', c.tgt_vocab_size, H), ...enc.extra, ...dec.extra];
}

/** A source and its target token ids (without <s> and </s>). */
export interface Seq2SeqExample { source: Int32Array; target: Int32Array }

export class Seq2Seq {
  readonly kind = 'seq2seq';
  readonly config: Seq2SeqConfig;
  readonly params: ParamSet;
  readonly grads: ParamSet;
  readonly encoder: SequenceEncoder;
  readonly decoder: SequenceEncoder;
  private attention: GlobalAttention | null;
  private hN: Arr; private cN: Arr; private dhN: Arr; private dcN: Arr; // encoder final states (sorted)
  private xb: Arr; private xc: Arr; private h0: Arr; private c0: Arr; private dpre: Arr; private dx: Arr; // bridge, (L*B, ·)
  private logits: Arr; private probs: Arr; private dlogits: Arr; private dH: Arr; private dDec: Arr; private dEnc: Arr;
  private targets = new Int32Array(0);
  private drop: DropoutLayer;
  private head = { a: allocArray(0), off: 0 }; // the output layer's input of the last forward
  private rows: AttentionRows = { enc: [], dec: [] };
  private B = 0; private Nd = 0;

  constructor(config: Partial<Seq2SeqConfig> & Pick<Seq2SeqConfig, 'src_vocab_size' | 'tgt_vocab_size'>, readonly dtype: DType = 'float32') {
    this.config = seq2seqConfig(config);
    this.params = new ParamSet(seq2seqParamSpecs(this.config), dtype);
    this.grads = this.params.like();
    this.encoder = new SequenceEncoder(side(this.config, 'encoder'), this.params, this.grads, 'encoder.', dtype);
    this.decoder = new SequenceEncoder(side(this.config, 'decoder'), this.params, this.grads, 'decoder.', dtype);
    const H = this.config.hidden_size;
    this.attention = this.config.attention === 'none' ? null : new GlobalAttention(this.config.attention === 'luong' ? 'general' : 'additive', H, this.encoder.width, dtype);
    const F = () => allocArray(0, dtype);
    this.hN = F(); this.cN = F(); this.dhN = F(); this.dcN = F(); this.xb = F(); this.xc = F(); this.h0 = F(); this.c0 = F(); this.dpre = F(); this.dx = F();
    this.logits = F(); this.probs = F(); this.dlogits = F(); this.dH = F(); this.dDec = F(); this.dEnc = F();
    this.drop = new DropoutLayer(this.config.dropout, dtype);
  }

  init(rng: Rng): this {
    const c = this.config, H = c.hidden_size;
    const lin = (n: string, fanIn: number) => uniformInit(this.params.get(n), fanIn, rng);
    this.encoder.init(rng, c.forget_bias);
    if (c.bidirectional) for (const n of ['bridge', ...(c.cell === 'lstm' ? ['bridge_c'] : [])]) { lin(`${n}.weight`, 2 * H); lin(`${n}.bias`, 2 * H); }
    this.decoder.init(rng, c.forget_bias);
    if (c.attention === 'luong') lin('attention.weight', this.encoder.width);
    if (c.attention === 'additive') { lin('attention.query.weight', H); lin('attention.key.weight', this.encoder.width); lin('attention.v', H); }
    if (this.attention) lin('attention.combine.weight', this.encoder.width + H);
    lin('head.weight', H); lin('head.bias', H);
    return this;
  }

  zeroGrad(): void {
    this.grads.zero();
  }

  /** Source as the encoder reads it (reversed when configured). */
  private encoderInput(src: Int32Array): Int32Array {
    return this.config.reverse_source ? src.slice().reverse() : src;
  }

  /**
   * Encodes sources and sets the decoder's initial state h0, c0 ((L, B, H) in batch
   * order): the encoder's final states, through the bridge when bidirectional.
   */
  private encode(sources: readonly Int32Array[], opts: { train?: boolean; rng?: Rng | undefined }): void {
    const c = this.config, B = sources.length, L = c.num_layers, H = c.hidden_size, enc = this.encoder, U = enc.stack.units, lstm = c.cell === 'lstm';
    enc.forward(sources.map((s) => this.encoderInput(s)), opts);
    const F = (n: number) => allocArray(n, this.dtype);
    if (this.hN.length < U * B * H) {
      this.hN = F(U * B * H); this.cN = F(U * B * H); this.dhN = F(U * B * H); this.dcN = F(U * B * H);
      this.xb = F(L * B * 2 * H); this.xc = F(L * B * 2 * H); this.h0 = F(L * B * H); this.c0 = F(L * B * H); this.dpre = F(L * B * H); this.dx = F(L * B * 2 * H);
    }
    enc.finalState(this.hN, this.cN);
    for (let i = 0; i < B; i++) {
      const b = enc.order[i]!;
      for (let l = 0; l < L; l++) {
        if (!c.bidirectional) {
          this.h0.set(this.hN.subarray((l * B + i) * H, (l * B + i + 1) * H), (l * B + b) * H);
          if (lstm) this.c0.set(this.cN.subarray((l * B + i) * H, (l * B + i + 1) * H), (l * B + b) * H);
          continue;
        }
        for (const [src, x] of lstm ? [[this.hN, this.xb], [this.cN, this.xc]] as const : [[this.hN, this.xb]] as const) {
          x.set(src.subarray((2 * l * B + i) * H, (2 * l * B + i + 1) * H), (l * B + b) * 2 * H);
          x.set(src.subarray(((2 * l + 1) * B + i) * H, ((2 * l + 1) * B + i + 1) * H), (l * B + b) * 2 * H + H);
        }
      }
    }
    if (c.bidirectional) {
      const be = getBackend();
      linearForward(this.h0, this.xb, 0, this.params.get('bridge.weight'), this.params.get('bridge.bias'), L * B, 2 * H, H);
      be.rnnStepForward(false, this.h0, 0, this.h0, 0, L * B * H);
      if (lstm) {
        linearForward(this.c0, this.xc, 0, this.params.get('bridge_c.weight'), this.params.get('bridge_c.bias'), L * B, 2 * H, H);
        be.rnnStepForward(false, this.c0, 0, this.c0, 0, L * B * H);
      }
    }
  }

  /** Teacher-forced loss: summed cross-entropy over all target tokens (</s> included) and their count. */
  forward(pairs: readonly Seq2SeqExample[], opts: { train?: boolean; rng?: Rng } = {}): { loss: number; count: number } {
    const c = this.config, B = pairs.length, H = c.hidden_size, V = c.tgt_vocab_size, enc = this.encoder, dec = this.decoder;
    this.encode(pairs.map((p) => p.source), opts);
    const inputs = pairs.map((p) => { const s = new Int32Array(p.target.length + 1); s[0] = c.bos; s.set(p.target, 1); return s; });
    dec.forward(inputs, { ...opts, h0: this.h0, c0: this.c0 });
    const Nd = dec.lay.N, s = dec.output();
    this.B = B; this.Nd = Nd;
    let top: Arr = s.a, topOff = s.off;
    if (this.attention) {
      this.rows = attentionRows(enc, dec, B);
      const e = enc.output();
      top = this.attention.forward(e.a, e.off, enc.lay.N, s.a, s.off, Nd, this.rows, this.attentionWeights_(this.params));
      topOff = 0;
    }
    if (this.logits.length < Nd * V) {
      const F = (n: number) => allocArray(n, this.dtype), cap = 2 * Nd;
      this.logits = F(cap * V); this.probs = F(cap * V); this.dlogits = F(cap * V); this.dH = F(cap * H); this.dDec = F(cap * H); this.targets = new Int32Array(cap);
    }
    this.head = this.drop.apply(top, topOff, Nd * H, !!opts.train, opts.rng);
    linearForward(this.logits, this.head.a, this.head.off, this.params.get('head.weight'), this.params.get('head.bias'), Nd, H, V);
    dec.eachRow((row, i, t) => { const y = pairs[dec.order[i]!]!.target; this.targets[row] = t < y.length ? y[t]! : c.eos; });
    for (let r = 0; r < Nd; r++) if (!(this.targets[r]! >= 0 && this.targets[r]! < V)) throw new Error(`seq2seq: target id ${this.targets[r]} outside the vocabulary`);
    return { loss: getBackend().softmaxXent(this.probs, this.logits, this.targets, Nd, V), count: Nd };
  }

  /** Gradient of the mean cross-entropy per target token of the last forward. */
  backward(): void {
    const c = this.config, { B, Nd } = this, H = c.hidden_size, V = c.tgt_vocab_size, L = c.num_layers, enc = this.encoder, dec = this.decoder;
    const be = getBackend(), lstm = c.cell === 'lstm';
    be.softmaxXentBackward(this.dlogits, this.probs, this.targets, Nd, V, 1 / Nd);
    const att = this.attention;
    linearBackward(this.dH, this.grads.get('head.weight'), this.grads.get('head.bias'), this.dlogits, this.head.a, this.head.off, this.params.get('head.weight'), Nd, H, V);
    this.drop.backward(this.dH, Nd * H);
    let dDec = this.dH;
    if (att) {
      const Ne = enc.lay.N, We = enc.width;
      if (this.dEnc.length < Ne * We) this.dEnc = allocArray(2 * Ne * We, this.dtype);
      this.dEnc.fill(0, 0, Ne * We); this.dDec.fill(0, 0, Nd * H);
      att.backward(this.dH, this.attentionWeights_(this.params), this.attentionWeights_(this.grads), this.dEnc, this.dDec);
      dDec = this.dDec;
    }
    dec.backward(dDec);
    // the decoder's dL/dh0 (sorted by target length) back to the encoder's final states (sorted by source length)
    const U = enc.stack.units;
    this.dhN.fill(0, 0, U * B * H); this.dcN.fill(0, 0, U * B * H);
    const encPos = inverse(enc.order);
    for (const which of lstm ? ['h', 'c'] as const : ['h'] as const) {
      const d0 = this.dpre; // (L, B, H) batch order: dL/dh0 (or dc0)
      for (let l = 0; l < L; l++) {
        const g = dec.initialGrad(l)[which];
        for (let i = 0; i < B; i++) d0.set(g.subarray(i * H, (i + 1) * H), (l * B + dec.order[i]!) * H);
      }
      const dN = which === 'h' ? this.dhN : this.dcN;
      if (!c.bidirectional) {
        for (let l = 0; l < L; l++) for (let b = 0; b < B; b++) dN.set(d0.subarray((l * B + b) * H, (l * B + b + 1) * H), (l * B + encPos[b]!) * H);
        continue;
      }
      const name = which === 'h' ? 'bridge' : 'bridge_c', out = which === 'h' ? this.h0 : this.c0, x = which === 'h' ? this.xb : this.xc;
      be.rnnStepBackward(false, d0, 0, d0, out, 0, L * B * H); // through tanh
      linearBackward(this.dx, this.grads.get(`${name}.weight`), this.grads.get(`${name}.bias`), d0, x, 0, this.params.get(`${name}.weight`), L * B, 2 * H, H);
      for (let l = 0; l < L; l++) for (let b = 0; b < B; b++) {
        const i = encPos[b]!, o = (l * B + b) * 2 * H;
        dN.set(this.dx.subarray(o, o + H), (2 * l * B + i) * H);
        dN.set(this.dx.subarray(o + H, o + 2 * H), ((2 * l + 1) * B + i) * H);
      }
    }
    enc.backward(att ? this.dEnc : null, { dhN: this.dhN, dcN: lstm ? this.dcN : null });
  }

  /** Internal: the attention tensors of ps (params or grads). */
  attentionWeights_(ps: ParamSet): AttentionWeights {
    const add = this.config.attention === 'additive';
    return {
      key: ps.get(add ? 'attention.key.weight' : 'attention.weight'), query: add ? ps.get('attention.query.weight') : null,
      v: add ? ps.get('attention.v') : null, combine: ps.get('attention.combine.weight'),
    };
  }

  /** Logits (Nd, V) of the last forward, packed decoder rows (see decoder.eachRow). */
  lastLogits(): Arr {
    return this.logits;
  }

  /** Attention weights of the last forward as (Td, B, Ts), 0 where padded (encoder step order). */
  attentionWeights(Td: number, Ts: number): Float32Array {
    const out = new Float32Array(Td * this.B * Ts);
    for (let b = 0; b < this.B; b++) {
      const w = this.attention!.weights(b), n = this.rows.dec[b]!.length, m = this.rows.enc[b]!.length;
      for (let t = 0; t < n; t++) for (let j = 0; j < m; j++) out[(t * this.B + b) * Ts + j] = w[t * m + j]!;
    }
    return out;
  }

  /**
   * Attention of target tokens on the source, (n+1, m) rows t = output step (the last
   * one emits </s>), columns in source order (un-reversed).
   */
  alignment(source: Int32Array, target: Int32Array): Float32Array {
    if (!this.attention) throw new Error('alignment: the model has no attention');
    this.forward([{ source, target }]);
    const w = this.attention.weights(0), m = source.length, n = target.length + 1;
    if (!this.config.reverse_source) return w;
    const out = new Float32Array(n * m);
    for (let t = 0; t < n; t++) for (let j = 0; j < m; j++) out[t * m + j] = w[t * m + (m - 1 - j)]!;
    return out;
  }

  /** Greedy (width 1) or beam-search translation of one source. */
  translate(source: Int32Array, o: { width?: number; maxLength?: number; alpha?: number } = {}): Hypothesis[] {
    return beamSearch(new Seq2SeqSteps(this, source), { bos: this.config.bos, eos: this.config.eos, width: o.width ?? 1, maxLength: o.maxLength ?? 2 * source.length + 10, alpha: o.alpha ?? 1 });
  }

  /** Internal (decoding): encodes one source; returns K copies of the decoder's initial state and its encoder outputs. */
  prepareDecoding(source: Int32Array): { h: Arr; c: Arr; enc: Arr; m: number } {
    this.encode([source], {});
    const H = this.config.hidden_size, L = this.config.num_layers, We = this.encoder.width, m = source.length, e = this.encoder.output();
    const enc = allocArray(m * We, this.dtype);
    enc.set(e.a.subarray(e.off, e.off + m * We)); // one sequence: rows are its steps
    const h = allocArray(L * H, this.dtype), c = allocArray(L * H, this.dtype);
    h.set(this.h0.subarray(0, L * H)); c.set(this.c0.subarray(0, L * H));
    return { h, c, enc, m };
  }
}

function inverse(order: Int32Array): Int32Array {
  const inv = new Int32Array(order.length);
  order.forEach((b, i) => { inv[b] = i; });
  return inv;
}

/** Each sequence's packed encoder rows (encoder step order) and decoder rows. */
function attentionRows(enc: SequenceEncoder, dec: SequenceEncoder, B: number): AttentionRows {
  const ep = inverse(enc.order), dp = inverse(dec.order);
  const rows: AttentionRows = { enc: [], dec: [] };
  for (let b = 0; b < B; b++) {
    const m = enc.lay.lengths[ep[b]!]!, n = dec.lay.lengths[dp[b]!]!;
    rows.enc.push(Int32Array.from({ length: m }, (_, j) => enc.lay.offsets[j]! + ep[b]!));
    rows.dec.push(Int32Array.from({ length: n }, (_, t) => dec.lay.offsets[t]! + dp[b]!));
  }
  return rows;
}

/** Beam-search adapter: K hypotheses of one source. */
class Seq2SeqSteps implements StepDecoder {
  private h!: Arr; private c!: Arr;
  private enc: Arr; private m: number;
  private h1: Arr; private c1: Arr;
  private attention: GlobalAttention | null;
  private rows: AttentionRows = { enc: [], dec: [] };
  private logits: Arr = allocArray(0);
  private lp = new Float64Array(0);

  constructor(private s: Seq2Seq, source: Int32Array) {
    const p = s.prepareDecoding(source), c = s.config;
    this.enc = p.enc; this.m = p.m; this.h1 = p.h; this.c1 = p.c;
    this.attention = c.attention === 'none' ? null : new GlobalAttention(c.attention === 'luong' ? 'general' : 'additive', c.hidden_size, s.encoder.width, s.dtype);
  }

  start(K: number): void {
    const L = this.s.config.num_layers, H = this.s.config.hidden_size, lstm = this.s.config.cell === 'lstm';
    this.h = allocArray(L * K * H, this.s.dtype); this.c = allocArray(lstm ? L * K * H : 0, this.s.dtype);
    for (let l = 0; l < L; l++) for (let k = 0; k < K; k++) {
      this.h.set(this.h1.subarray(l * H, (l + 1) * H), (l * K + k) * H);
      if (lstm) this.c.set(this.c1.subarray(l * H, (l + 1) * H), (l * K + k) * H);
    }
  }

  step(tokens: Int32Array, K: number): Float64Array {
    const s = this.s, c = s.config, H = c.hidden_size, V = c.tgt_vocab_size;
    s.decoder.step(tokens, K, this.h, this.c);
    const o = s.decoder.stepOutput();
    let top: Arr = o.a, off = o.off;
    if (this.attention) {
      // every hypothesis is a sequence of one decoder row over the same source rows
      if (this.rows.dec.length !== K) {
        const all = Int32Array.from({ length: this.m }, (_, j) => j);
        this.rows = { enc: Array.from({ length: K }, () => all), dec: Array.from({ length: K }, (_, k) => Int32Array.of(k)) };
      }
      top = this.attention.forward(this.enc, 0, this.m, o.a, o.off, K, this.rows, s.attentionWeights_(s.params));
      off = 0;
    }
    if (this.logits.length < K * V) this.logits = allocArray(K * V, s.dtype);
    linearForward(this.logits, top, off, s.params.get('head.weight'), s.params.get('head.bias'), K, H, V);
    checkFinite(this.logits, 0, K * V, 'while decoding');
    if (this.lp.length < K * V) this.lp = new Float64Array(K * V);
    return logSoftmaxRows(this.logits, K, V, 1, this.lp);
  }

  reorder(parents: Int32Array, K: number): void {
    const c = this.s.config;
    this.h = reorderState(this.h, parents, K, c.num_layers, c.hidden_size, this.s.dtype);
    if (this.c.length) this.c = reorderState(this.c, parents, K, c.num_layers, c.hidden_size, this.s.dtype);
  }
}
