// Numerical faults of a training step, found before its update is applied: a loss that
// is NaN or infinite, a gradient that is (named by parameter), or, when asked for, a
// loss spike. Per policy the step is then skipped (no update) or the run stops. After an
// update, parameters it made non-finite always stop the run: an applied update cannot be
// taken back. docs/reliability.md, "Numerical faults".
//
// Cost on a healthy step: nothing beyond what the update already does, plus one pass
// over the parameters after it (a sum of squares, which is finite unless an entry is not).
// Only when a norm comes out non-finite are the tensors scanned to name them.
//
// "First": non-finite gradients are listed in the order backward produces them
// (backwardOrder): the output layer, then down the recurrent stack, then the
// embedding. A NaN or infinity that enters during backward spreads to every gradient
// computed after it, so the first one listed is the nearest to where it entered.
import type { ParamSet, ParamView } from '../core/params.js';
import { UserError } from '../core/errors.js';
import { getBackend } from '../backend/registry.js';
import { NonFiniteOutputError } from '../models/sample.js';
import type { Updater } from './update.js';

export type FaultMode = 'stop' | 'skip';
export const FAULT_MODES: readonly FaultMode[] = ['stop', 'skip'];

export interface FaultPolicy {
  onFault: FaultMode;
  spike: number;          // a loss over spike x the recent mean is a fault; 0 = off (else > 1)
  maxConsecutive: number; // skip: the run stops after this many skipped steps in a row
}

export const DEFAULT_FAULT_POLICY: FaultPolicy = { onFault: 'stop', spike: 0, maxConsecutive: 20 };

/**
 * The recent mean of spike detection: the mean of the applied steps' losses so far, and
 * once there are this many, an exponential moving average over about this many.
 */
export const SPIKE_WINDOW = 100;
/**
 * Applied steps before a spike can be detected. One: a divergence that starts at the
 * second step (a learning rate far too high) is caught before its losses enter the mean.
 */
export const SPIKE_WARMUP = 1;

/** A parameter (or its gradient) with entries that are NaN or infinite. */
export interface NonFiniteTensor { name: string; count: number; size: number }

export interface Fault {
  kind: 'loss' | 'gradient' | 'spike' | 'update';
  step: number;              // 1-based number of the step
  loss: number;
  gradNorm: number;          // before clipping; NaN when backward did not run
  /** loss, update: the non-finite parameters; gradient: the non-finite gradients, in backward order. */
  tensors: NonFiniteTensor[];
  /** One line: what went wrong, where, at which step. */
  message: string;
}

/** A run stopped by a fault: before any update of the faulty step (kind 'update': right after it). */
export class TrainingFault extends UserError {
  constructor(message: string, readonly fault: Fault | null = null) {
    super(message);
    this.name = 'TrainingFault';
  }
}

/** A loss, gradient or parameter that is NaN or infinite. */
export class NonFiniteError extends TrainingFault {}

/** What a training checkpoint keeps of the guard ('train' metadata, field faults). */
export interface FaultState { skipped: number; consecutive: number; lossMean: number | null; lossSteps: number }

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** What is wrong with a checkpoint's faults field, or null (absent: a checkpoint from before it existed). */
export function faultStateProblem(x: unknown): string | null {
  if (x === undefined) return null;
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return 'faults is not an object';
  const s = x as Record<string, unknown>;
  for (const k of ['skipped', 'consecutive', 'lossSteps']) if (!isCount(s[k])) return `faults.${k} is not a non-negative integer`;
  if (s['lossMean'] === null ? s['lossSteps'] !== 0 : !(typeof s['lossMean'] === 'number' && Number.isFinite(s['lossMean']))) return 'faults.lossMean is not a finite number (null before any step)';
  return null;
}

/**
 * Parameter views in the order backward produces their gradients: the reverse of
 * rnnkit's parameter order (embedding, recurrent layers 0..L-1, output layer: input to
 * output in every model), except that a layer's layer-norm tensors, listed after all
 * layers, go with their layer, and a learned initial state (also listed last) comes
 * after its embedding, as backward reaches it last.
 */
export function backwardOrder(views: readonly ParamView[]): ParamView[] {
  const index = new Map(views.map((v, i) => [v.name, i]));
  const rank = (v: ParamView, i: number): number => {
    const ln = /^(.*rnn\.)ln_\w+?_(l\d+(?:_reverse)?)$/.exec(v.name);
    if (ln) return (index.get(`${ln[1]}weight_ih_${ln[2]}`) ?? i) + 0.5;
    const init = /^(.*)init\.[hc]0$/.exec(v.name);
    if (init) return (index.get(`${init[1]}embedding.weight`) ?? index.get(`${init[1]}rnn.weight_ih_l0`) ?? i) - 0.5;
    return i;
  };
  return views.map((v, i) => ({ v, r: rank(v, i), i })).sort((a, b) => b.r - a.r || a.i - b.i).map((x) => x.v);
}

/** The tensors of ps with NaN or infinite entries, in backward order (for gradients) or parameter order. */
export function nonFiniteTensors(ps: ParamSet, order: 'backward' | 'params'): NonFiniteTensor[] {
  const out: NonFiniteTensor[] = [];
  for (const v of order === 'backward' ? backwardOrder(ps.views) : ps.views) {
    const d = v.data;
    let count = 0;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) count++;
    if (count) out.push({ name: v.name, count, size: v.size });
  }
  return out;
}

const n = (x: number) => x.toLocaleString('en');
const num = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e5 ? x.toPrecision(3) : x.toFixed(4)) : String(x));

const entry = (t: NonFiniteTensor, note = '') => `${t.name} (${n(t.count)} of ${n(t.size)}${note})`;

/** 'head.weight (12 of 880 entries), rnn.weight_hh_l0 (256 of 256) and 3 more'. */
export function listTensors(ts: readonly NonFiniteTensor[], shown = 3): string {
  const parts = ts.slice(0, shown).map((t, i) => entry(t, i === 0 ? ' entries' : ''));
  const more = ts.length - shown;
  return more > 0 ? `${parts.join(', ')} and ${more} more` : parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0] ?? '';
}

/** The fault of a gradient whose norm is not finite, naming its non-finite tensors in backward order (loss null: not known). */
export function gradientFault(step: number, loss: number | null, norm: number, grads: ParamSet): Fault {
  const tensors = nonFiniteTensors(grads, 'backward');
  const at = `at step ${step}${loss === null ? '' : ` (loss ${num(loss)})`}`;
  const message = tensors.length
    ? `gradient became non-finite ${at}: first ${entry(tensors[0]!, ' entries NaN or infinite')}${tensors.length > 1 ? `, then ${listTensors(tensors.slice(1))}` : ''}`
    : `gradient norm became ${norm} ${at}; every entry is finite, their sum of squares overflowed`;
  return { kind: 'gradient', step, loss: loss ?? NaN, gradNorm: norm, tensors, message };
}

/**
 * Watches every training step (both trainers own one). A step runs, in update():
 *   lossFault -> backward -> clip -> gradientFault -> update -> applied
 * and, when either check returns a fault, skip(fault) instead of the update.
 */
export class FaultGuard {
  policy: FaultPolicy = { ...DEFAULT_FAULT_POLICY };
  skipped = 0;       // steps skipped so far in this run (kept in checkpoints)
  consecutive = 0;   // skipped since the last applied step
  lossMean = NaN;    // recent mean of the applied steps' losses
  lossSteps = 0;     // applied steps in that mean

  setPolicy(p: Partial<FaultPolicy>): void {
    const q = { ...this.policy, ...p };
    if (!FAULT_MODES.includes(q.onFault)) throw new UserError(`on-fault must be one of ${FAULT_MODES.join(', ')}, got '${q.onFault}'`);
    if (!(q.spike === 0 || (q.spike > 1 && Number.isFinite(q.spike)))) throw new UserError(`spike must be 0 (off) or a factor above 1, got ${q.spike}`);
    if (!(Number.isInteger(q.maxConsecutive) && q.maxConsecutive >= 1)) throw new UserError(`maxConsecutive must be a positive integer, got ${q.maxConsecutive}`);
    this.policy = q;
  }

  /**
   * Before backward: a loss that is not finite (naming any non-finite parameter, else
   * where the forward pass overflowed when the caller knows: site), or a spike.
   */
  lossFault(step: number, loss: number, params: ParamSet, site?: () => string): Fault | null {
    if (!Number.isFinite(loss)) {
      const tensors = nonFiniteTensors(params, 'params'), where = tensors.length ? '' : site?.() ?? '';
      const why = tensors.length ? `non-finite parameters: ${listTensors(tensors)}` : `every parameter is finite: the forward pass overflowed${where ? `, first ${where}` : ''}`;
      return { kind: 'loss', step, loss, gradNorm: NaN, tensors, message: `loss became ${loss} at step ${step} (${why})` };
    }
    const s = this.policy.spike;
    if (s > 0 && this.lossSteps >= SPIKE_WARMUP && loss > s * this.lossMean) {
      return {
        kind: 'spike', step, loss, gradNorm: NaN, tensors: [],
        message: `loss spiked at step ${step}: ${num(loss)} is ${(loss / this.lossMean).toFixed(1)}x the recent mean ${num(this.lossMean)} (threshold ${s}x)`,
      };
    }
    return null;
  }

  /**
   * One checked update, as both trainers run it after their forward pass: backward and
   * clipping unless the loss is a fault, the optimizer step unless the gradient is; a
   * fault goes to skip() (which throws unless skipping; a skipped step has no update).
   * lr: the rate of the update (when skipped, the one it would have used).
   */
  update(step: number, loss: number, params: ParamSet, grads: ParamSet, updater: Updater, backward: () => void, site?: () => string):
    { fault: Fault | null; norm: number; clipped: boolean; lr: number } {
    let fault = this.lossFault(step, loss, params, site), norm = NaN, clipped = false, lr = updater.lr;
    if (!fault) {
      backward();
      ({ norm, clipped } = updater.clip(grads));
      fault = this.gradientFault(step, loss, norm, grads);
    }
    if (fault) this.skip(fault);
    else {
      lr = updater.update(params, grads);
      this.applied(step, loss, norm, params);
    }
    return { fault, norm, clipped, lr };
  }

  /** After clipping computed the gradient's norm (before clipping): a norm that is not finite. */
  gradientFault(step: number, loss: number, norm: number, grads: ParamSet): Fault | null {
    return Number.isFinite(norm) ? null : gradientFault(step, loss, norm, grads);
  }

  /**
   * A faulty step, before any update: throws (stop mode, or skip mode's limit of skips
   * in a row), else counts it; the caller then leaves the update out.
   */
  skip(f: Fault): void {
    if (this.policy.onFault === 'stop') throw faultError(f, `${f.message}; stopping without saving (try a lower --lr or --clip, or --on-fault skip)`);
    this.skipped++;
    if (++this.consecutive >= this.policy.maxConsecutive) {
      throw faultError(f, `${this.consecutive} steps in a row skipped (steps ${f.step - this.consecutive + 1}-${f.step}), the last because the ${f.message}; ` +
        'the run is not recovering: stopping without saving (try a lower --lr or --clip)');
    }
  }

  /** After the update of a step: its parameters must be finite (else the run stops), and its loss joins the recent mean. */
  applied(step: number, loss: number, norm: number, params: ParamSet): void {
    // one sum of squares (in float64: finite unless an entry is not); the tensors are scanned only when it is not
    const tensors = Number.isFinite(getBackend().sumSquares(params.data, params.data.length)) ? null : nonFiniteTensors(params, 'params');
    if (tensors?.length) {
      const f: Fault = {
        kind: 'update', step, loss, gradNorm: norm, tensors,
        message: `parameters became non-finite in the update of step ${step} (loss ${num(loss)}, gradient norm ${num(norm)} before clipping): ${listTensors(tensors)}`,
      };
      throw new NonFiniteError(`${f.message}; an applied update cannot be skipped: stopping without saving (try a lower --lr)`, f);
    }
    this.consecutive = 0;
    this.lossSteps++;
    const a = Math.max(1 / this.lossSteps, 1 / SPIKE_WINDOW);
    this.lossMean = this.lossSteps === 1 ? loss : this.lossMean + a * (loss - this.lossMean);
  }

  state(): FaultState {
    return { skipped: this.skipped, consecutive: this.consecutive, lossMean: Number.isFinite(this.lossMean) ? this.lossMean : null, lossSteps: this.lossSteps };
  }

  /** From a checkpoint (absent in checkpoints from before faults were kept: a fresh count). */
  restore(s: FaultState | undefined): void {
    const why = faultStateProblem(s);
    if (why) throw new UserError(`cannot resume: the checkpoint's training state is not valid: ${why}`);
    this.skipped = s?.skipped ?? 0;
    this.consecutive = s?.consecutive ?? 0;
    this.lossMean = s?.lossMean ?? NaN;
    this.lossSteps = s?.lossSteps ?? 0;
  }
}

/**
 * Where a forward pass first went non-finite: the earliest step, and at that step the
 * lowest layer, whose hidden state is not finite; when none is, the output layer.
 * states(l) is layer l's states, time-major ((T+1)*B rows of H; row block 0 is the initial state).
 */
export function overflowSite(L: number, T: number, B: number, H: number, states: (l: number) => ArrayLike<number>): string {
  let at = { l: -1, t: T + 1 };
  for (let l = 0; l < L; l++) {
    const hs = states(l), end = Math.min(at.t + 1, T + 1) * B * H;
    for (let i = 0; i < end; i++) {
      if (!Number.isFinite(hs[i]!)) {
        const t = Math.floor(i / (B * H));
        if (t < at.t) at = { l, t };
        break;
      }
    }
  }
  if (at.l < 0) return 'in the output layer';
  return at.t === 0 ? `in layer ${at.l}'s state carried into the step` : `in layer ${at.l}'s hidden state at time step ${at.t} of ${T}`;
}

/**
 * Runs a validation during training (when: e.g. 'at step 250'). A NonFiniteOutputError
 * there (a model refusing its outputs, or the caller a non-finite validation loss) means
 * that training diverged: a NonFiniteError, so that the run stops as on any fault,
 * before it writes a checkpoint.
 */
export function validateDuringTraining<T>(when: string, validate: () => T): T {
  try {
    return validate();
  } catch (e) {
    if (!(e instanceof NonFiniteOutputError)) throw e;
    throw new NonFiniteError(`validation ${when}: the model's outputs are NaN or infinite (training diverged); stopping without saving ` +
      '(try a lower --lr or --clip, or --spike X with --on-fault skip)');
  }
}

function faultError(f: Fault, message: string): TrainingFault {
  return f.kind === 'spike' ? new TrainingFault(message, f) : new NonFiniteError(message, f);
}
