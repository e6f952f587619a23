// What a checkpoint write leaves when it fails or the process dies mid-write
// (docs/reliability.md, "Crash safety"): stale temp files of killed processes are
// removed when a run starts, and a failed write is a one-line error that says the
// previous checkpoint is intact.
import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../core/errors.js';
import { tempFileOwner } from './files.js';

/** True when a process with this pid exists (EPERM: it exists but is another user's). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files that writeFileAtomic left in `dir` for the given checkpoint
 * paths (named `<file>.<pid>.<hex>.tmp`) when the process that wrote them no longer
 * runs: it was killed mid-write. A live writer's temp file is kept. Returns the paths
 * removed; a missing directory has none.
 */
export async function removeStaleTemps(dir: string, paths: readonly string[]): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return []; // no directory yet (a fresh run), or unreadable: the write will say so
  }
  const bases = paths.map((p) => basename(p)), removed: string[] = [];
  for (const name of names.sort()) {
    const pid = bases.map((b) => tempFileOwner(name, b)).find((p) => p !== null);
    if (pid === undefined || pid === null || alive(pid)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(join(dir, name));
  }
  return removed;
}

const WHY: Record<string, string> = {
  ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EFBIG: 'file too large for the file system',
  EROFS: 'read-only file system', EACCES: 'permission denied', EPERM: 'permission denied', EIO: 'input/output error',
  ENOTDIR: 'a part of the path is not a directory', EISDIR: 'is a directory', EEXIST: 'a file is in the way of the directory',
};

/** The error's code in words, e.g. 'no space left on device (ENOSPC)'; an unlisted code as itself. */
export function writeProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (!code) return err instanceof Error ? err.message : String(err);
  return WHY[code] ? `${WHY[code]} (${code})` : code;
}

/** The file's inode, or null when there is none: tells whether a failed write replaced it. */
export async function inodeOf(path: string): Promise<number | null> {
  try {
    return (await lstat(path)).ino;
  } catch {
    return null;
  }
}

/**
 * The one-line error of a checkpoint write that failed. `before` is the target's inode
 * before the write: the write goes to a temp file renamed over the target, so unless
 * the rename happened (only the directory's fsync can fail after it) the old file is
 * untouched. Errors without an errno code (bugs) are returned as they are.
 */
export async function checkpointWriteError(path: string, err: unknown, before: number | null): Promise<unknown> {
  if (!(err as NodeJS.ErrnoException | null)?.code) return err;
  const now = await inodeOf(path);
  const state = now !== null && now !== before ? 'the new checkpoint is in place, but its directory could not be synced to disk'
    : before !== null ? 'the previous checkpoint is intact' : 'no earlier checkpoint was there';
  return new UserError(`cannot write checkpoint ${path}: ${writeProblem(err)}; ${state}`, { cause: err });
}
