// Test-only preload for the CLI (`node --import <this file> dist/src/cli/main.js ...`):
// makes a chosen checkpoint write fail or kill the process at a chosen stage, so the
// crash tests hit every stage of writeFileAtomic for certain rather than by luck.
//
// RNNKIT_TEST_FAULT=<file>:<n>:<stage>, where <file> is a checkpoint's file name
// (latest.safetensors, best.safetensors) or * for any, and n counts that file's writes
// in this process from 1. Stages: open (SIGKILL once the temp file is created), half
// (half the bytes written), fsync (the temp file complete and synced, not yet renamed),
// rename (renamed, the directory not yet synced), or error-<CODE> (half the bytes
// written, then the write fails with that errno code, e.g. error-ENOSPC).
import fsp from 'node:fs/promises';
import { basename } from 'node:path';
import { syncBuiltinESMExports } from 'node:module';

const spec = process.env['RNNKIT_TEST_FAULT'];
if (spec) {
  const [file, nth, stage] = spec.split(':') as [string, string, string];
  const TEMP = /^(.*\.safetensors)\.\d+\.[0-9a-f]{12}\.tmp$/;
  let count = 0, armed: string | null = null;
  const die = (): never => {
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  };
  const fail = (code: string): Error => Object.assign(new Error(`${code}: injected by crash-preload, write`), { code, syscall: 'write' });
  const { open, rename } = fsp;
  const patchedOpen = async (path: Parameters<typeof open>[0], ...rest: [flags?: string | number, mode?: number]) => {
    const fh = await open(path, ...rest);
    const m = typeof path === 'string' ? TEMP.exec(basename(path)) : null;
    if (!m || (file !== '*' && m[1] !== file) || ++count !== Number(nth)) return fh;
    armed = path as string;
    if (stage === 'open') die();
    const writeFile = fh.writeFile.bind(fh), sync = fh.sync.bind(fh);
    fh.writeFile = (async (data: Uint8Array) => {
      if (stage !== 'half' && !stage.startsWith('error-')) return writeFile(data);
      await fh.write(data.subarray(0, data.length >> 1));
      if (stage === 'half') die();
      throw fail(stage.slice('error-'.length));
    }) as typeof fh.writeFile;
    fh.sync = async () => {
      await sync();
      if (stage === 'fsync') die();
    };
    return fh;
  };
  const patchedRename = async (from: Parameters<typeof rename>[0], to: Parameters<typeof rename>[1]) => {
    await rename(from, to);
    if (from === armed && stage === 'rename') die();
  };
  Object.assign(fsp, { open: patchedOpen, rename: patchedRename });
  syncBuiltinESMExports();
}
