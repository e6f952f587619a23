// Checkpoint files on disk (Node only): atomic writes, one-line errors naming the file.
import { readBinaryFile, writeFileAtomic } from './files.js';
import { checkpointWriteError, inodeOf } from './checkpoint-safety.js';
import { decodeCheckpoint, type DecodedCheckpoint } from '../models/charlm-checkpoint.js';
import { readModel, type ReadModel } from '../models/checkpoints.js';
import { UserError } from '../core/errors.js';

export async function readCheckpointFile(path: string): Promise<DecodedCheckpoint> {
  const bytes = await readBinaryFile(path);
  if (bytes.length === 0) throw new UserError(`${path}: file is empty, not a checkpoint`);
  return decodeCheckpoint(bytes, path);
}

/**
 * temp file + fsync + rename: a crash never leaves a half-written checkpoint behind.
 * A failed write (disk full, read-only, ...) is a one-line UserError that says whether
 * the previous checkpoint is intact.
 */
export async function writeCheckpointFile(path: string, bytes: Uint8Array): Promise<void> {
  const before = await inodeOf(path);
  try {
    await writeFileAtomic(path, bytes);
  } catch (err) {
    throw await checkpointWriteError(path, err, before);
  }
}

/** Any model checkpoint, read by the codec its kind names (models/checkpoints.ts). */
export async function readModelFile(path: string): Promise<ReadModel> {
  const bytes = await readBinaryFile(path);
  if (bytes.length === 0) throw new UserError(`${path}: file is empty, not a checkpoint`);
  return readModel(bytes, path);
}
