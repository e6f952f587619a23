// One-to-many, conditioned generation (docs/models.md, `generator`): a vector c (image
// features, a one-hot class) sets every layer's initial state, h0 = tanh(W c + b), and
// the network then emits a sequence one piece at a time: tokens (softmax; captioning)
// or rows of values in [0, 1] (sigmoid; drawing an image row by row).
import { ParamSet, type Arr, type DType, type ParamSpec } from '../core/params.js';
import { Rng } from '../core/rng.js';
import { allocArray } from '../core/alloc.js';
import { getBackend } from '../backend/registry.js';
import { linearForward, linearBackward, linearSpecs, uniformInit } from '../nn/linear.js';
import { DropoutLayer } from '../nn/dropout.js';
import { bceWithLogitsBackward, bceWithLogitsForward } from '../nn/bce.js';
import { oneOf, positiveInts, tokenIds } from './config-checks.js';
import { SequenceEncoder, checkEncoderConfig, encoderParamSpecs, type EncoderConfig, type Sequence } from './encoder.js';
import { beamSearch, decodeOne, type Hypothesis, type StepDecoder } from './beam.js';
import { checkFinite } from './sample.js';

export type GeneratorOutput = 'tokens' | 'bernoulli';

export interface GeneratorConfig extends EncoderConfig {
  output: GeneratorOutput;
  cond_size: number;          // K
  bos: number; eos: number;   // tokens: ids of <s> and </s>
  forget_bias: number | null;
}

export function generatorConfig(c: Partial<GeneratorConfig> & Pick<GeneratorConfig, 'cond_size' | 'output'>): GeneratorConfig {
  const tokens = c.output === 'tokens';
  const cfg: GeneratorConfig = {
    input: tokens ? 'tokens' : 'float', vocab_size: c.vocab_size ?? 0, embedding_size: c.embedding_size ?? 32, input_size: c.input_size ?? 0,
    cell: c.cell ?? 'lstm', hidden_size: c.hidden_size ?? 128, num_layers: c.num_layers ?? 1, bidirectional: false,
    dropout: c.dropout ?? 0, layer_norm: c.layer_norm ?? false, output: c.output, cond_size: c.cond_size,
    bos: c.bos ?? 1, eos: c.eos ?? 2, forget_bias: c.forget_bias === undefined ? 1 : c.forget_bias,
  };
  const f = cfg as unknown as Record<string, unknown>;
  oneOf(f, 'output', ['tokens', 'bernoulli'], 'generator');
  checkEncoderConfig(cfg, 'generator');
  positiveInts(f, ['cond_size'], 'generator');
  if (tokens) tokenIds(f, ['bos', 'eos'], cfg.vocab_size, 'generator');
  return cfg;
}

export function generatorParamSpecs(c: GeneratorConfig): ParamSpec[] {
  const LH = c.num_layers * c.hidden_size, K = c.cond_size, out = c.output === 'tokens' ? c.vocab_size : c.input_size;
  const init = linearSpecs('init', LH, K);
  if (c.cell === 'lstm') init.push(...linearSpecs('init_c', LH, K));
  const { core, extra } = encoderParamSpecs(c);
  return [...init, ...core, ...linearSpecs('head', out, c.hidden_size), ...extra];
}

/** A condition and what it should produce: token ids (without <s>, </s>) or T rows of D values. */
export interface GeneratorExample { cond: Float32Array; tokens?: Int32Array; rows?: Float32Array }

export class Generator {
  readonly kind = 'generator';
  readonly config: GeneratorConfig;
  readonly params: ParamSet;
  readonly grads: ParamSet;
  readonly decoder: SequenceEncoder;
  private cond: Arr; private pre: Arr; private preC: Arr; // (B, K), (B, L*H) tanh outputs
  private h0: Arr; private c0: Arr;                      // (L, B, H) batch order
  private logits: Arr; private probs: Arr; private dlogits: Arr; private dOut: Arr; private y: Arr; private dpre: Arr;
  private targets = new Int32Array(0);
  private drop: DropoutLayer;
  private head = { a: allocArray(0), off: 0 }; // the output layer's input of the last forward
  private B = 0; private N = 0;

  constructor(config: Partial<GeneratorConfig> & Pick<GeneratorConfig, 'cond_size' | 'output'>, readonly dtype: DType = 'float32') {
    this.config = generatorConfig(config);
    this.params = new ParamSet(generatorParamSpecs(this.config), dtype);
    this.grads = this.params.like();
    this.decoder = new SequenceEncoder(this.config, this.params, this.grads, '', dtype);
    const F = () => allocArray(0, dtype);
    this.cond = F(); this.pre = F(); this.preC = F(); this.h0 = F(); this.c0 = F();
    this.logits = F(); this.probs = F(); this.dlogits = F(); this.dOut = F(); this.y = F(); this.dpre = F();
    this.drop = new DropoutLayer(this.config.dropout, dtype);
  }

  /** Width of an output step: V tokens or D values. */
  get outputs(): number {
    return this.config.output === 'tokens' ? this.config.vocab_size : this.config.input_size;
  }

  /** PyTorch's initialisation: nn.Linear U(±1/√fan_in) for init and head, the embedding N(0,1), the stack's own. */
  init(rng: Rng): this {
    const c = this.config, lin = (n: string, fanIn: number) => uniformInit(this.params.get(n), fanIn, rng);
    for (const n of ['init.weight', 'init.bias', ...(c.cell === 'lstm' ? ['init_c.weight', 'init_c.bias'] : [])]) lin(n, c.cond_size);
    this.decoder.init(rng, c.forget_bias);
    lin('head.weight', c.hidden_size); lin('head.bias', c.hidden_size);
    return this;
  }

  zeroGrad(): void {
    this.grads.zero();
  }

  /** h0 (and c0) of B conditions given as rows of `cond` (B, K), into (L, B, H). */
  private initialState(B: number): void {
    const { num_layers: L, hidden_size: H, cond_size: K, cell } = this.config, LH = L * H;
    const sets: [Arr, Arr, string][] = [[this.pre, this.h0, 'init']];
    if (cell === 'lstm') sets.push([this.preC, this.c0, 'init_c']);
    for (const [pre, state, name] of sets) {
      linearForward(pre, this.cond, 0, this.params.get(`${name}.weight`), this.params.get(`${name}.bias`), B, K, LH);
      getBackend().rnnStepForward(false, pre, 0, pre, 0, B * LH); // tanh in place
      for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) state.set(pre.subarray(b * LH + l * H, b * LH + (l + 1) * H), (l * B + b) * H);
    }
  }

  private ensure(B: number, N: number): void {
    const { num_layers: L, hidden_size: H, cond_size: K } = this.config, F = (n: number) => allocArray(n, this.dtype), O = this.outputs;
    if (this.cond.length < B * K) {
      this.cond = F(B * K); this.pre = F(B * L * H); this.preC = F(B * L * H); this.dpre = F(B * L * H);
      this.h0 = F(L * B * H); this.c0 = F(L * B * H);
    }
    if (this.logits.length < N * O) {
      this.logits = F(N * O); this.probs = F(N * O); this.dlogits = F(N * O); this.dOut = F(N * H); this.y = F(N * O);
      this.targets = new Int32Array(N);
    }
  }

  /**
   * Teacher forcing: inputs <s> y_1..y_n (tokens) or 0, r_1..r_{T-1} (rows), targets
   * y_1..y_n </s> or r_1..r_T. Returns the summed loss and its count (tokens, or rows).
   */
  forward(batch: readonly GeneratorExample[], opts: { train?: boolean; rng?: Rng } = {}): { loss: number; count: number } {
    const c = this.config, B = batch.length, K = c.cond_size, D = c.input_size, O = this.outputs, tokens = c.output === 'tokens';
    const inputs: Sequence[] = batch.map((e) => {
      if (e.cond.length !== K) throw new Error(`generator: condition has ${e.cond.length} values, expected ${K}`);
      if (tokens) {
        if (!e.tokens) throw new Error('generator: a token example needs tokens');
        const s = new Int32Array(e.tokens.length + 1);
        s[0] = c.bos; s.set(e.tokens, 1);
        return s;
      }
      if (!e.rows || e.rows.length % D !== 0 || e.rows.length === 0) throw new Error(`generator: an example needs rows of ${D} values`);
      const s = new Float32Array(e.rows.length);
      s.set(e.rows.subarray(0, e.rows.length - D), D);
      return s;
    });
    const N = inputs.reduce((n, s) => n + (tokens ? s.length : s.length / D), 0);
    this.ensure(B, N);
    batch.forEach((e, b) => this.cond.set(e.cond, b * K));
    this.initialState(B);
    const dec = this.decoder;
    dec.forward(inputs, { ...opts, h0: this.h0, c0: this.c0 });
    this.B = B; this.N = N;
    const out = dec.output();
    this.head = this.drop.apply(out.a, out.off, N * c.hidden_size, !!opts.train, opts.rng);
    linearForward(this.logits, this.head.a, this.head.off, this.params.get('head.weight'), this.params.get('head.bias'), N, c.hidden_size, O);
    if (tokens) {
      dec.eachRow((row, i, t) => { const y = batch[dec.order[i]!]!.tokens!; this.targets[row] = t < y.length ? y[t]! : c.eos; });
      return { loss: getBackend().softmaxXent(this.probs, this.logits, this.targets, N, O), count: N };
    }
    dec.eachRow((row, i, t) => { const r = batch[dec.order[i]!]!.rows!; for (let j = 0; j < D; j++) this.y[row * D + j] = r[t * D + j]!; });
    return { loss: bceWithLogitsForward(this.logits, 0, this.y, 0, N * D), count: N };
  }

  /** Gradient of the mean loss (per token, or per row) of the last forward. */
  backward(): void {
    const c = this.config, { B, N } = this, O = this.outputs, H = c.hidden_size, L = c.num_layers, LH = L * H, dec = this.decoder;
    if (c.output === 'tokens') getBackend().softmaxXentBackward(this.dlogits, this.probs, this.targets, N, O, 1 / N);
    else bceWithLogitsBackward(this.dlogits, this.logits, 0, this.y, 0, N * O, 1 / N);
    linearBackward(this.dOut, this.grads.get('head.weight'), this.grads.get('head.bias'), this.dlogits, this.head.a, this.head.off, this.params.get('head.weight'), N, H, O);
    this.drop.backward(this.dOut, N * H);
    dec.backward(this.dOut);
    // through h0 = tanh(W c + b): the decoder's dL/dh0 is in its sorted order
    const sets: [Arr, 'h' | 'c', string][] = [[this.pre, 'h', 'init']];
    if (c.cell === 'lstm') sets.push([this.preC, 'c', 'init_c']);
    for (const [pre, which, name] of sets) {
      for (let l = 0; l < L; l++) {
        const g = dec.initialGrad(l)[which];
        for (let i = 0; i < B; i++) {
          const b = dec.order[i]!;
          for (let j = 0; j < H; j++) { const v = pre[b * LH + l * H + j]!; this.dpre[b * LH + l * H + j] = g[i * H + j]! * (1 - v * v); }
        }
      }
      linearBackward(null, this.grads.get(`${name}.weight`), this.grads.get(`${name}.bias`), this.dpre, this.cond, 0, this.params.get(`${name}.weight`), B, c.cond_size, LH);
    }
  }

  /** Logits (N, V or D) of the last forward, packed rows (see decoder.eachRow). */
  lastLogits(): Arr {
    return this.logits;
  }

  /** A step decoder from condition c, for beam search and sampling (tokens). */
  stepDecoder(cond: Float32Array, temperature = 1): StepDecoder {
    return new GeneratorSteps(this, cond, temperature);
  }

  /** Token output: greedy (width 1) or beam search. */
  generate(cond: Float32Array, o: { width?: number; maxLength?: number; alpha?: number } = {}): Hypothesis[] {
    return beamSearch(this.stepDecoder(cond), { bos: this.config.bos, eos: this.config.eos, width: o.width ?? 1, maxLength: o.maxLength ?? 50, alpha: o.alpha ?? 1 });
  }

  /** Token output: one sample at a temperature. */
  sample(cond: Float32Array, rng: Rng, o: { temperature?: number; maxLength?: number } = {}): Hypothesis {
    const pick = (lp: Float64Array) => { let u = rng.uniform(), v = 0; for (; v < lp.length - 1; v++) { u -= Math.exp(lp[v]!); if (u < 0) break; } return v; };
    return decodeOne(this.stepDecoder(cond, o.temperature ?? 1), { bos: this.config.bos, eos: this.config.eos, maxLength: o.maxLength ?? 50 }, pick);
  }

  /**
   * Row output: T rows of D values, each step fed the previous row: the predicted
   * probabilities (mean), or with rng pixels drawn from them.
   */
  draw(cond: Float32Array, T: number, rng?: Rng): Float32Array {
    const c = this.config, D = c.input_size, H = c.hidden_size;
    if (c.output !== 'bernoulli') throw new Error('draw: a row generator (output bernoulli) is needed');
    const st = stepState(this, cond, 1), x = allocArray(D, this.dtype), z = allocArray(D, this.dtype), out = new Float32Array(T * D);
    for (let t = 0; t < T; t++) {
      this.decoder.step(x, 1, st.h, st.c);
      const o = this.decoder.stepOutput();
      linearForward(z, o.a, o.off, this.params.get('head.weight'), this.params.get('head.bias'), 1, H, D);
      checkFinite(z, 0, D, 'while drawing');
      for (let j = 0; j < D; j++) {
        const p = 1 / (1 + Math.exp(-z[j]!));
        out[t * D + j] = p;
        x[j] = rng ? (rng.uniform() < p ? 1 : 0) : p;
      }
    }
    return out;
  }

  /** Internal: the initial state of K copies of one condition, (L, K, H). */
  initialStates(cond: Float32Array, K: number): { h: Arr; c: Arr } {
    this.ensure(1, 1);
    this.cond.set(cond);
    this.initialState(1);
    const { num_layers: L, hidden_size: H } = this.config, F = (n: number) => allocArray(n, this.dtype);
    const h = F(L * K * H), c = F(this.config.cell === 'lstm' ? L * K * H : 0);
    for (let l = 0; l < L; l++) for (let k = 0; k < K; k++) {
      h.set(this.h0.subarray(l * H, (l + 1) * H), (l * K + k) * H);
      if (c.length) c.set(this.c0.subarray(l * H, (l + 1) * H), (l * K + k) * H);
    }
    return { h, c };
  }
}

function stepState(g: Generator, cond: Float32Array, K: number): { h: Arr; c: Arr } {
  return g.initialStates(cond, K);
}

/** Beam-search adapter: K hypotheses' states (L, K, H), reordered by parent. */
class GeneratorSteps implements StepDecoder {
  private h!: Arr; private c!: Arr; private tmp: Float64Array = new Float64Array(0);
  private logits: Arr;
  constructor(private g: Generator, private cond: Float32Array, private temperature: number) {
    this.logits = allocArray(0, g.dtype);
  }

  start(K: number): void {
    ({ h: this.h, c: this.c } = this.g.initialStates(this.cond, K));
  }

  step(tokens: Int32Array, K: number): Float64Array {
    const g = this.g, V = g.outputs, H = g.config.hidden_size;
    g.decoder.step(tokens, K, this.h, this.c);
    if (this.logits.length < K * V) this.logits = allocArray(K * V, g.dtype);
    const o = g.decoder.stepOutput();
    linearForward(this.logits, o.a, o.off, g.params.get('head.weight'), g.params.get('head.bias'), K, H, V);
    checkFinite(this.logits, 0, K * V, 'while decoding');
    return logSoftmaxRows(this.logits, K, V, this.temperature, this.tmp.length >= K * V ? this.tmp : (this.tmp = new Float64Array(K * V)));
  }

  reorder(parents: Int32Array, K: number): void {
    this.h = reorderState(this.h, parents, K, this.g.config.num_layers, this.g.config.hidden_size, this.g.dtype);
    if (this.c.length) this.c = reorderState(this.c, parents, K, this.g.config.num_layers, this.g.config.hidden_size, this.g.dtype);
  }
}

/** log softmax(logits / temperature) of K rows of V, into out (a view of K*V). */
export function logSoftmaxRows(l: Arr, K: number, V: number, temperature: number, out: Float64Array): Float64Array {
  for (let k = 0; k < K; k++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, l[k * V + v]! / temperature);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(l[k * V + v]! / temperature - max);
    const lz = max + Math.log(s);
    for (let v = 0; v < V; v++) out[k * V + v] = l[k * V + v]! / temperature - lz;
  }
  return out.subarray(0, K * V);
}

/** States (L, K_old, H) -> (L, K, H) where row k is old row parents[k]. */
export function reorderState(s: Arr, parents: Int32Array, K: number, L: number, H: number, dtype: DType): Arr {
  const Kold = s.length / (L * H), out = allocArray(L * K * H, dtype);
  for (let l = 0; l < L; l++) for (let k = 0; k < K; k++) out.set(s.subarray((l * Kold + parents[k]!) * H, (l * Kold + parents[k]! + 1) * H), (l * K + k) * H);
  return out;
}
