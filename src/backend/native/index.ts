// Native backend (Node only): the N-API addon in native/ (module.c exports the kernel
// groups' functions), built at install time by scripts/build-native.mjs (node-gyp, OpenBLAS). Its functions take exactly
// the Backend methods' arguments, so most methods are the addon's functions as they
// are. Node modules are imported inside loadNativeBackend only, so that importing
// rnnkit stays browser-safe.
import type { Backend, SequenceCell } from '../backend.js';

/** The cells of the fused time loops, in native/sequence.c's numbering. */
const SEQUENCE_CELLS: Record<SequenceCell, number> = { rnn_tanh: 0, rnn_relu: 1, lstm: 2, gru: 3 };

/** The addon's exports (native/module.c, init()). */
type Addon = Omit<Backend, 'name' | 'alloc' | 'recurrentSequenceForward' | 'recurrentSequenceBackward'> & {
  recurrentSequenceForward(cell: number, ...rest: unknown[]): void;
  recurrentSequenceBackward(cell: number, ...rest: unknown[]): void;
  /** Fused time loops split a step over threads from this many multiply-adds on. */
  setSequenceThreshold(macs: number): void;
  /** n threads for products with M*N*K >= minWork and M*N >= minOutput, else one; returns OpenBLAS's count. */
  setThreads(n: number, minWork: number, minOutput: number): number;
  info(): string;
};

export interface NativeOptions {
  /** OpenBLAS threads for large products (default: env RNNKIT_THREADS, else every core). */
  threads?: number;
  /**
   * Products run on one thread unless M*N*K >= minParallelWork and M*N >= minParallelOutput:
   * splitting a small product, or one with a small output, costs more than it saves
   * (defaults: env RNNKIT_GEMM_MT_WORK / RNNKIT_GEMM_MT_OUTPUT, else the measured values below).
   */
  minParallelWork?: number;
  minParallelOutput?: number;
}

// Measured on 2 cores (AMD EPYC, OpenBLAS 0.3.21 Cooperlake kernels). In isolation, 2
// threads vs 1 on per-step recurrent products (B = 32): 32x1024x256 1.59x, 32x256x256
// 1.36x, 32x512x64 1.05x, but 32x128x128 0.83x and 32x256x64 0.66x. End to end (training
// steps, best of several windows), 2 threads from M*N*K = 5e5 on were as fast as or
// faster than any other rule tried, including one that also required M*N >= 8192.
const DEFAULT_MIN_PARALLEL_WORK = 5e5;
// Fused time loops (native/sequence.c): a step splits over the threads from this many
// multiply-adds (B x G*H x H) on. Measured on 2 cores: see BENCHMARKS.md.
const DEFAULT_SEQUENCE_MT_MACS = 32768;
const DEFAULT_MIN_PARALLEL_OUTPUT = 0;

/** Path of the built addon: the package root is four levels above dist/src/backend/native/. */
export const ADDON_PATH = '../../../../build/Release/rnnkit_native.node';

/**
 * The OpenBLAS kernel set for a CPU with these /proc/cpuinfo flags. OpenBLAS picks its
 * kernels from the CPU model, and a release older than the CPU falls back to generic
 * SSE3 ones (Debian's 0.3.21 runs "Prescott" kernels on a 2023 Xeon: measured here
 * 14-16 GFLOP/s against 75-115 with SkylakeX kernels, 2 threads). Choosing by the
 * instruction sets the CPU reports avoids that; null leaves OpenBLAS to decide.
 */
export function openblasCoreFor(flags: ReadonlySet<string>): string | null {
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  if (has('avx512f', 'avx512dq', 'avx512cd', 'avx512bw', 'avx512vl')) return has('avx512_bf16') ? 'Cooperlake' : 'SkylakeX';
  if (has('avx2', 'fma')) return 'Haswell';
  return null;
}

// OpenBLAS core names whose sgemm kernels use AVX2 or AVX-512 (lower case).
const WIDE_CORES = new Set(['haswell', 'skylakex', 'cooperlake', 'sapphirerapids', 'zen', 'excavator']);

/**
 * A warning when OpenBLAS runs narrower kernels than the CPU supports (3-4x slower on
 * the GEMMs), or null. `core` is openblas_get_corename().
 */
export function openblasCoreWarning(flags: ReadonlySet<string>, core: string, userCoreType: string | undefined): string | null {
  if (!(flags.has('avx2') && flags.has('fma')) || WIDE_CORES.has(core.trim().toLowerCase())) return null;
  const fix = userCoreType
    ? `unset OPENBLAS_CORETYPE (now '${userCoreType}') or set it to ${openblasCoreFor(flags)}`
    : 'this OpenBLAS build cannot switch kernels (not DYNAMIC_ARCH, or older than the kernels this CPU needs): install a newer libopenblas';
  return `OpenBLAS runs its '${core.trim()}' kernels, which do not use this CPU's ${flags.has('avx512f') ? 'AVX-512' : 'AVX2'}: ` +
    `matrix products run several times slower; ${fix}`;
}

async function cpuFlags(): Promise<Set<string>> {
  try {
    const { readFile } = await import('node:fs/promises');
    const line = (await readFile('/proc/cpuinfo', 'utf8')).split('\n').find((l) => l.startsWith('flags'));
    return new Set(line ? line.split(':')[1]!.trim().split(/\s+/) : []);
  } catch {
    return new Set(); // not Linux: OpenBLAS decides
  }
}

/** An environment variable as a number >= min, or undefined when unset. */
function envNumber(name: string, min: number): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!(n >= min) || !Number.isFinite(n)) throw new Error(`${name} must be a number >= ${min}, got '${v}'`);
  return n;
}

export async function loadNativeBackend(opts: NativeOptions = {}): Promise<Backend> {
  const { createRequire } = await import('node:module');
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const { availableParallelism } = await import('node:os');
  const file = fileURLToPath(new URL(ADDON_PATH, import.meta.url));
  if (!existsSync(file)) throw new Error('native addon not built (npm run build:native; needs a C compiler and libopenblas-dev)');
  // must happen before OpenBLAS loads: it reads the variable once, at load time
  const flags = await cpuFlags(), userCoreType = process.env['OPENBLAS_CORETYPE'] || undefined;
  const core = userCoreType ? null : openblasCoreFor(flags);
  if (core) process.env['OPENBLAS_CORETYPE'] = core;
  // OpenBLAS's idle workers otherwise spin (yielding) for 2^28 cycles after every threaded
  // product, taking the core the fused time loops' thread needs: measured, batch-1 eval
  // 8.4 s -> 5.4 s and training +12% with 2^4 (BENCHMARKS.md).
  if (!process.env['OPENBLAS_THREAD_TIMEOUT']) process.env['OPENBLAS_THREAD_TIMEOUT'] = '4';
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    // e.g. libopenblas.so.0 removed after the build: the first line says which.
    throw new Error(`native addon failed to load: ${String((e as Error).message).split('\n')[0]}`);
  }
  const threads = Math.floor(opts.threads ?? envNumber('RNNKIT_THREADS', 1) ?? availableParallelism());
  const minWork = opts.minParallelWork ?? envNumber('RNNKIT_GEMM_MT_WORK', 0) ?? DEFAULT_MIN_PARALLEL_WORK;
  const minOut = opts.minParallelOutput ?? envNumber('RNNKIT_GEMM_MT_OUTPUT', 0) ?? DEFAULT_MIN_PARALLEL_OUTPUT;
  addon.setThreads(threads, minWork, minOut);
  addon.setSequenceThreshold(envNumber('RNNKIT_SEQUENCE_MT_MACS', 0) ?? DEFAULT_SEQUENCE_MT_MACS);
  // RNNKIT_FUSED=0 keeps the per-step loops (for comparisons and bisecting)
  const fused = process.env['RNNKIT_FUSED'] !== '0';

  const blas = addon.info();
  const warning = openblasCoreWarning(flags, blas.split('; core ').pop() ?? '', userCoreType);
  return {
    name: 'native',
    describe: () => `${blas}${core ? ` (OPENBLAS_CORETYPE=${core} chosen by rnnkit from the CPU's instruction sets)` : ''}`,
    slowWarning: () => warning,
    alloc: (n: number) => new Float32Array(n),
    gemm: addon.gemm,
    fillRows: addon.fillRows,
    sumRows: addon.sumRows,
    lstmStepForward: addon.lstmStepForward,
    lstmStepBackward: addon.lstmStepBackward,
    gruStepForward: addon.gruStepForward,
    gruStepBackward: addon.gruStepBackward,
    rnnStepForward: addon.rnnStepForward,
    rnnStepBackward: addon.rnnStepBackward,
    ...(fused ? {
      // the addon numbers the cells; every other argument passes through as it is
      recurrentSequenceForward: (cell: SequenceCell, ...rest: unknown[]) => addon.recurrentSequenceForward(SEQUENCE_CELLS[cell], ...rest),
      recurrentSequenceBackward: (cell: SequenceCell, ...rest: unknown[]) => addon.recurrentSequenceBackward(SEQUENCE_CELLS[cell], ...rest),
    } : {}),
    layerNormForward: addon.layerNormForward,
    layerNormBackward: addon.layerNormBackward,
    softmaxXent: addon.softmaxXent,
    softmaxXentBackward: addon.softmaxXentBackward,
    gatherRows: addon.gatherRows,
    scatterAddRows: addon.scatterAddRows,
    sumSquares: addon.sumSquares,
    scale: addon.scale,
    sgdStep: addon.sgdStep,
    adagradStep: addon.adagradStep,
    rmspropStep: addon.rmspropStep,
    adamStep: addon.adamStep,
  };
}
