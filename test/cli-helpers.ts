// Shared helpers of the CLI end-to-end tests: spawn the built CLI with pipes (so not a
// TTY) and check the one-line error contract.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const SHAKESPEARE = join(ROOT, 'data', 'tinyshakespeare.txt');
/** A model small enough that a few training steps take milliseconds. */
export const TINY = ['--layers', '1', '--hidden', '16', '--embedding', '8', '--batch', '4', '--seq', '16', '--sample-length', '0'];

export interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
export interface RunOpts { cwd?: string; timeoutMs?: number; onOutput?: (all: string, child: ChildProcess) => void; env?: Record<string, string> }

/** A runner whose default working directory is cwd() (a per-file temp dir). */
export function cliRunner(cwd: () => string): (args: string[], opts?: RunOpts) => Promise<RunResult> {
  return (args, opts = {}) => {
    const env = { ...process.env, ...opts.env };
    delete env['RNNKIT_DEBUG'];
    delete env['NODE_TEST_CONTEXT'];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; opts.onOutput?.(stdout + stderr, child); });
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; opts.onOutput?.(stdout + stderr, child); });
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
      child.on('error', reject);
      child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    });
  };
}

/** Exit code 1, nothing on stdout, exactly one `rnnkit: ...` line on stderr, no stack trace. */
export function assertUserError(r: RunResult, pattern: RegExp): void {
  const ctx = `stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;
  assert.equal(r.code, 1, ctx);
  assert.equal(r.stdout, '', ctx);
  assert.match(r.stderr, /^rnnkit: [^\n]*\n$/, ctx);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at |\bat .*\.js:\d+/, ctx);
  assert.match(r.stderr, pattern, ctx);
}
