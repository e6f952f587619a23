// The wasm backend beyond the conformance suite: its allocator, the checks on arrays it
// did not allocate, memory growth, every GEMM path at sizes the conformance shapes do
// not reach, results that do not depend on the thread count, and workers that never
// keep Node alive. Skipped (with the reason) where the kernels are not built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadWasmBackend, NOT_OURS, type WasmBackend } from '../src/backend/wasm/index.js';
import { registerBackend, setBackend } from '../src/backend/registry.js';
import { CharLM } from '../src/models/char-lm.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/core/rng.js';
import { maxRelDiff } from './helpers.js';

let skip: string | false = false;
let one: WasmBackend | null = null, three: WasmBackend | null = null;
try {
  one = await loadWasmBackend({ threads: 1 });
  three = await loadWasmBackend({ threads: 3 });
} catch (e) {
  skip = `wasm backend unavailable: ${(e as Error).message}`;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const collect = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5)); // FinalizationRegistry callbacks run as tasks
  }
};

function fillRandom(a: Float32Array, rng: Rng): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

test('alloc: zeroed, aligned views of the shared memory', { skip }, () => {
  const be = three!;
  for (const n of [1, 3, 17, 1000]) {
    const a = be.alloc(n);
    assert.equal(a.length, n);
    assert.equal(a.byteOffset % 16, 0);
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    assert.ok(a.every((v) => v === 0));
  }
  assert.equal(be.alloc(0).length, 0);
  assert.throws(() => be.alloc(-1), RangeError);
  assert.throws(() => be.alloc(1.5), RangeError);
});

test('alloc: collected views give their blocks back, reused blocks come back zeroed', { skip }, async () => {
  const be = three!;
  await collect();
  const before = be.bytesInUse(), size = be.memory.buffer.byteLength;
  for (let i = 0; i < 40; i++) {
    be.alloc(1 << 20).fill(1); // 4 MiB each, dropped at once
    if (i % 8 === 7) await collect();
  }
  await collect();
  assert.ok(be.bytesInUse() <= before + (8 << 20), `in use ${be.bytesInUse()} after, ${before} before`);
  assert.ok(be.memory.buffer.byteLength <= size + (64 << 20), 'the memory grew as if nothing was freed');
  const again = be.alloc(1 << 20);
  assert.ok(again.every((v) => v === 0), 'a reused block is not zeroed');
});

test('arrays the backend did not allocate are rejected with a clear error', { skip }, () => {
  const be = three!, ours = be.alloc(8);
  assert.throws(() => be.scale(new Float32Array(8), 8, 2), { message: NOT_OURS });
  assert.throws(() => be.sumSquares(new Float64Array(8), 8), /float32/);
  assert.throws(() => be.gemm(false, false, 2, 2, 2, 1, ours, 0, 2, new Float32Array(4), 0, 2, 0, ours, 0, 2), { message: NOT_OURS });
  // another wasm backend's memory is not ours either
  assert.throws(() => be.scale(one!.alloc(8), 8, 2), { message: NOT_OURS });
  // subarrays of our arrays are fine
  const sub = ours.subarray(2, 6);
  sub.fill(3);
  be.scale(sub, 4, 2);
  assert.deepEqual([...ours], [0, 0, 6, 6, 6, 6, 0, 0]);
});

test('extents past an array and ids past a table are RangeErrors', { skip }, () => {
  const be = three!, a = be.alloc(16), table = be.alloc(4 * 3), out = be.alloc(2 * 3);
  assert.throws(() => be.scale(a, 17, 2), RangeError);
  assert.throws(() => be.gemm(false, false, 4, 4, 4, 1, a, 1, 4, a, 0, 4, 0, a, 0, 4), RangeError);
  assert.throws(() => be.gatherRows(out, 0, table, Int32Array.of(0, 4), 2, 3), RangeError);
  assert.throws(() => be.gatherRows(out, 0, table, Int32Array.of(-1, 0), 2, 3), RangeError);
  assert.throws(() => be.scatterAddRows(table, out, 0, Int32Array.of(0, 9), 2, 3), RangeError);
  assert.throws(() => be.softmaxXent(be.alloc(6), out, Int32Array.of(0, 3), 2, 3), RangeError);
  be.softmaxXent(be.alloc(6), out, Int32Array.of(-1, 2), 2, 3); // negative targets are skipped
});

test('views made before the memory grew stay valid', { skip }, () => {
  const be = three!, early = be.alloc(1024).fill(1), size = be.memory.buffer.byteLength;
  const big = be.alloc((size >> 2) + (16 << 20)); // forces a grow
  assert.ok(be.memory.buffer.byteLength > size);
  be.scale(early, 1024, 3);
  assert.equal(early[1023], 3);
  big[big.length - 1] = 2;
  be.scale(big, big.length, 0.5);
  assert.equal(big[big.length - 1], 1);
  be.gemm(false, false, 1, 1, 1, 1, early, 0, 1, big, big.length - 1, 1, 0, early, 5, 1);
  assert.equal(early[5], 3);
});

test('GEMM: every path against float64, identical results on 1 and 3 threads', { skip }, () => {
  const rng = new Rng(11);
  // large rows (packed panels), transposed A (packed), K past the blocks, N past a block, odd edges
  const shapes = [[130, 70, 33], [200, 300, 270], [257, 9, 1030], [33, 600, 1100], [4, 1000, 3], [513, 17, 600], [7, 7, 2049]] as const;
  for (const [M, N, K] of shapes) for (const tA of [false, true]) for (const tB of [false, true]) {
    const lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 1, ldc = N + 2;
    const src = fillRandom(new Float32Array((tA ? K : M) * lda + (tB ? N : K) * ldb + M * ldc), rng);
    const nA = (tA ? K : M) * lda, nB = (tB ? N : K) * ldb;
    const want = Float64Array.from(src.subarray(nA + nB)); // the padding of C must stay as it is
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += src[tA ? k * lda + i : i * lda + k]! * src[nA + (tB ? j * ldb + k : k * ldb + j)]!;
      want[i * ldc + j] = 0.5 * s - 1.5 * src[nA + nB + i * ldc + j]!;
    }
    const results = [one!, three!].map((be) => {
      const A = be.alloc(nA), B = be.alloc(nB), C = be.alloc(M * ldc);
      A.set(src.subarray(0, nA)); B.set(src.subarray(nA, nA + nB)); C.set(src.subarray(nA + nB));
      be.gemm(tA, tB, M, N, K, 0.5, A, 0, lda, B, 0, ldb, -1.5, C, 0, ldc);
      return C;
    });
    const name = `${M}x${N}x${K} tA=${tA} tB=${tB}`;
    assert.ok(maxRelDiff(results[0]!, want) <= 1e-5, `${name}: ${maxRelDiff(results[0]!, want)}`);
    assert.deepEqual(results[1], results[0], `${name}: 3 threads differ from 1`);
  }
});

test('training is bit-identical on 1 and 3 threads', { skip }, () => {
  const text = new Rng(5);
  const ids = Int32Array.from({ length: 20000 }, () => text.int(40));
  const params: Float32Array[] = [];
  for (const be of [one!, three!]) {
    registerBackend(be);
    setBackend('wasm');
    for (const cell of ['lstm', 'gru'] as const) {
      const model = new CharLM({ cell, vocab_size: 40, embedding_size: 24, hidden_size: 96, num_layers: 2, dropout: 0.1 }).init(new Rng(1));
      const tr = new Trainer(model, ids, { batch: 40, seq: 24, clip: 1 });
      for (let s = 0; s < 4; s++) tr.trainStep();
      params.push(Float32Array.from(model.params.data as Float32Array));
    }
  }
  setBackend('ref');
  assert.deepEqual(params[2], params[0]);
  assert.deepEqual(params[3], params[1]);
});

const here = fileURLToPath(new URL('.', import.meta.url));
const runChild = (args: string[], code: string) => spawnSync(process.execPath, [...args, '--input-type=module', '-e', code],
  { cwd: here, encoding: 'utf8', timeout: 20000 });
const childCode = `
  const { loadWasmBackend } = await import(${JSON.stringify(new URL('../src/backend/wasm/index.js', import.meta.url).href)});
  const be = await loadWasmBackend({ threads: 2 });
  const n = 256, A = be.alloc(n * n), B = be.alloc(n * n), C = be.alloc(n * n);
  A.fill(1); B.fill(2);
  for (let i = 0; i < 20; i++) be.gemm(false, true, n, n, n, 1, A, 0, n, B, 0, n, 0, C, 0, n);
  if (C[0] !== 2 * n || C[n * n - 1] !== 2 * n) throw new Error('wrong result ' + C[0] + ' ' + C[n * n - 1]);
  console.log('ok');`;

test('workers do not keep Node alive', { skip }, () => {
  const t0 = Date.now(), r = runChild([], childCode);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
  assert.ok(Date.now() - t0 < 15000);
});

test('parallel jobs are right under V8 baseline code (--liftoff-only)', { skip }, () => {
  // V8 11's Liftoff corrupted a live local across memory.atomic.wait32; the kernels block
  // through an imported Atomics.wait instead
  const r = runChild(['--liftoff-only'], childCode);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
});

// The relaxed-SIMD build (fused multiply-add in the products), in a child with the V8 flag
// that enables it in Node 20 (on by default in Node 22 and Chrome 114+): every GEMM path
// against float64, identical on 1 and 3 threads, and training close to the plain build.
const relaxedCode = `
  const { loadWasmBackend, hasRelaxedSimd } = await import(${JSON.stringify(new URL('../src/backend/wasm/index.js', import.meta.url).href)});
  const { registerBackend, setBackend } = await import(${JSON.stringify(new URL('../src/backend/registry.js', import.meta.url).href)});
  const { CharLM } = await import(${JSON.stringify(new URL('../src/models/char-lm.js', import.meta.url).href)});
  const { Trainer } = await import(${JSON.stringify(new URL('../src/train/trainer.js', import.meta.url).href)});
  const { Rng } = await import(${JSON.stringify(new URL('../src/core/rng.js', import.meta.url).href)});
  if (!hasRelaxedSimd()) { console.log('no-relaxed'); process.exit(0); }
  const one = await loadWasmBackend({ threads: 1 }), three = await loadWasmBackend({ threads: 3 });
  const plain = await loadWasmBackend({ threads: 1, relaxedSimd: false });
  if (!one.relaxedSimd || !three.relaxedSimd || plain.relaxedSimd) throw new Error('wrong build loaded');
  const rng = new Rng(11), out = [];
  for (const [M, N, K] of [[130, 70, 33], [257, 9, 1030], [33, 600, 1100], [4, 1000, 3], [7, 7, 2049], [32, 1024, 256]]) {
    for (const tA of [false, true]) for (const tB of [false, true]) {
      const lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 1, ldc = N + 2;
      const nA = (tA ? K : M) * lda, nB = (tB ? N : K) * ldb;
      const src = Float32Array.from({ length: nA + nB + M * ldc }, () => 2 * rng.uniform() - 1);
      let worst = 0;
      const res = [one, three].map((be) => {
        const A = be.alloc(nA), B = be.alloc(nB), C = be.alloc(M * ldc);
        A.set(src.subarray(0, nA)); B.set(src.subarray(nA, nA + nB)); C.set(src.subarray(nA + nB));
        be.gemm(tA, tB, M, N, K, 0.5, A, 0, lda, B, 0, ldb, -1.5, C, 0, ldc);
        return C;
      });
      let scale = 1e-6;
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += src[tA ? k * lda + i : i * lda + k] * src[nA + (tB ? j * ldb + k : k * ldb + j)];
        const want = 0.5 * s - 1.5 * src[nA + nB + i * ldc + j];
        scale = Math.max(scale, Math.abs(want));
        worst = Math.max(worst, Math.abs(res[0][i * ldc + j] - want));
      }
      for (let q = 0; q < res[0].length; q++) if (!Object.is(res[0][q], res[1][q])) throw new Error(M + 'x' + N + 'x' + K + ': 3 threads differ');
      out.push(worst / scale);
    }
  }
  const text = new Rng(5), ids = Int32Array.from({ length: 20000 }, () => text.int(40)), losses = [];
  for (const be of [one, plain]) {
    registerBackend(be); setBackend('wasm');
    const model = new CharLM({ cell: 'lstm', vocab_size: 40, embedding_size: 24, hidden_size: 96, num_layers: 2 }).init(new Rng(1));
    const tr = new Trainer(model, ids, { batch: 40, seq: 24, clip: 1 });
    let l = 0;
    for (let s = 0; s < 5; s++) l = tr.trainStep().loss;
    losses.push(l);
  }
  console.log(JSON.stringify({ gemm: Math.max(...out), losses }));`;

test('relaxed SIMD build: every GEMM path right, identical on 1 and 3 threads, training as the plain build', { skip }, () => {
  const r = runChild(['--experimental-wasm-relaxed-simd'], relaxedCode);
  assert.equal(r.status, 0, r.stderr);
  if (r.stdout.trim() === 'no-relaxed') return void assert.fail('this Node accepts --experimental-wasm-relaxed-simd but validates no relaxed SIMD');
  const { gemm, losses } = JSON.parse(r.stdout) as { gemm: number; losses: [number, number] };
  assert.ok(gemm <= 1e-5, `relaxed GEMM off by ${gemm} of the largest entry`);
  assert.ok(Number.isFinite(losses[0]) && Math.abs(losses[0] - losses[1]) <= 1e-4 * losses[1], `losses after 5 steps: relaxed ${losses[0]}, plain ${losses[1]}`);
});

test('RNNKIT_WASM_RELAXED=0 loads the plain build', { skip }, () => {
  const code = `const { loadWasmBackend } = await import(${JSON.stringify(new URL('../src/backend/wasm/index.js', import.meta.url).href)});
    const be = await loadWasmBackend({ threads: 1 }); console.log(be.relaxedSimd, be.describe());`;
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', code],
    { cwd: here, encoding: 'utf8', timeout: 20000, env: { ...process.env, RNNKIT_WASM_RELAXED: '0' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^false .*relaxed SIMD turned off/);
});

test('terminate() leaves a working single-threaded backend', { skip }, async () => {
  const be = await loadWasmBackend({ threads: 2 }), a = be.alloc(100000).fill(2);
  be.terminate();
  be.scale(a, a.length, 0.5);
  assert.equal(a[99999], 1);
  assert.equal(be.sumSquares(a, a.length), 100000);
});
