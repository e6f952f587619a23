// The numerical-fault options every training command shares (--on-fault, --spike), and
// how a run reports skipped steps and a stop (docs/reliability.md, "Numerical faults").
import { UserError } from '../core/errors.js';
import { DEFAULT_FAULT_POLICY, FAULT_MODES, SPIKE_WINDOW, TrainingFault, type Fault, type FaultGuard, type FaultMode, type FaultPolicy } from '../train/faults.js';
import type { FlagTable, FlagValues } from './flags.js';

export const FAULT_FLAGS: FlagTable = {
  'on-fault': {
    arg: 'M', choices: FAULT_MODES, def: DEFAULT_FAULT_POLICY.onFault,
    help: 'what a NaN or infinite loss or gradient (or a --spike) does: stop the run, or skip the step ' +
      `(no update; ${DEFAULT_FAULT_POLICY.maxConsecutive} skips in a row stop the run)`,
  },
  spike: { arg: 'X', help: `a loss over X times the recent mean (of the steps so far, at most ~${SPIKE_WINDOW} back) is a fault; 0 = off`, def: 0, min: 0 },
};

export function faultPolicy(f: FlagValues): Partial<FaultPolicy> {
  const spike = f.num('spike');
  if (spike !== 0 && !(spike > 1)) throw new UserError(`--spike must be 0 (off) or above 1, got ${spike}`);
  return { onFault: f.choice<FaultMode>('on-fault'), spike };
}

/** The policy for a run's header, '' when it is the default. */
export function describePolicy(p: FaultPolicy): string {
  const parts = [...(p.onFault === 'skip' ? ['faulty steps skipped'] : []), ...(p.spike ? [`a loss over ${p.spike}x the recent mean is a fault`] : [])];
  return parts.join(', ');
}

/** Warnings for skipped steps: a line each for the first `limit`, after that only the counts in the progress and evaluation lines. */
export class SkipWarnings {
  private warned = 0;
  constructor(private say: (line: string) => void, private limit = 10) {}

  skipped(f: Fault, guard: FaultGuard): void {
    if (this.warned >= this.limit) return;
    this.warned++;
    this.say(`warning: ${f.message}; step skipped, no update (${guard.skipped} skipped so far` +
      `${this.warned === this.limit ? '; further skips are only counted in the progress and evaluation lines' : ''})`);
  }
}

/** ' | skipped N' once any step was. */
export function skippedNote(guard: FaultGuard): string {
  return guard.skipped ? ` | skipped ${guard.skipped}` : '';
}

/** The one-line error of a run stopped by a fault (other errors pass through). */
export function faultStop(e: unknown, outDir: string, since: 'steps' | 'epochs'): unknown {
  return e instanceof TrainingFault ? new UserError(`${e.message}; checkpoints in ${outDir} are from earlier ${since} and untouched`) : e;
}
