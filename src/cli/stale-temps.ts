// Before a run writes its checkpoints: the temp files a killed run left next to them.
import { removeStaleTemps } from '../node/checkpoint-safety.js';

/** Removes temp files of killed writers of these checkpoints in dir; says so in one line when there were any. */
export async function cleanStaleTemps(dir: string, paths: readonly string[], say: (line: string) => void): Promise<void> {
  const removed = await removeStaleTemps(dir, paths);
  if (removed.length) say(`removed ${removed.length} temp file(s) left by an interrupted checkpoint write: ${removed.join(', ')}`);
}
