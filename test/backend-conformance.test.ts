// One suite, every available backend: each kernel against the reference backend (and
// GEMM against a naive triple loop in float64) on random inputs, odd sizes and offsets.
// Backends that cannot load here (no compiler, no BLAS) are listed with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackends } from '../src/backend/init.js';
import { availableBackends, setBackend } from '../src/backend/registry.js';
import { refBackend } from '../src/backend/ref/index.js';
import type { Backend } from '../src/backend/backend.js';
import { Rng } from '../src/core/rng.js';
import { maxRelDiff } from './helpers.js';

const failures = await loadBackends();
const TOL = 2e-6;

test('backends available', () => {
  for (const [name, why] of Object.entries(failures)) console.log(`# backend ${name} unavailable: ${why}`);
  assert.ok(availableBackends().includes('ref'));
  // CI sets this so that a backend that silently failed to build fails the run
  for (const name of (process.env['RNNKIT_REQUIRE_BACKENDS'] ?? '').split(',').filter(Boolean)) {
    assert.ok(availableBackends().includes(name), `backend ${name} is required here but unavailable: ${failures[name]}`);
  }
});

function rand(be: Backend, rng: Rng, n: number, scale = 1): Float32Array {
  const a = be.alloc(n);
  for (let i = 0; i < n; i++) a[i] = (2 * rng.uniform() - 1) * scale;
  return a;
}
function close(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = TOL): void {
  const d = maxRelDiff(got, want);
  assert.ok(d <= tol, `${name}: max rel diff ${d}`);
}

/**
 * Layer norm's dx = rstd (g - mean(g) - x̂ mean(g ⊙ x̂)), g = dout ⊙ γ, against the scale of
 * its terms, rstd |g|, as well as its own: at widths 1 and 2 the terms cancel to ~0 (exactly
 * 0 and eps-sized), and float32 rounding of g leaves ~1e-7 rstd |g| there.
 */
function closeDx(name: string, got: Float32Array, want: Float32Array, dout: Float32Array, dxOff: number, dOff: number,
  gamma: Float32Array, rstd: Float32Array, rOff: number, rows: number, n: number): void {
  let scale = 1e-6, diff = 0;
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) {
    const k = r * n + j, w = want[dxOff + k]!;
    scale = Math.max(scale, Math.abs(w), rstd[rOff + r]! * Math.abs(dout[dOff + k]! * gamma[j]!));
    const d = Math.abs(got[dxOff + k]! - w);
    if (!(d <= diff)) diff = d;
  }
  assert.ok(diff <= TOL * scale, `${name}: max diff ${diff} against scale ${scale}`);
  close(`${name} (before the rows)`, got.subarray(0, dxOff), want.subarray(0, dxOff), 0);
}

for (const name of availableBackends()) {
  const be = setBackend(name);

  test(`${name}: gemm, every transpose, alpha/beta, offsets and leading dimensions`, () => {
    const rng = new Rng(1);
    // M = 1: batch-1 sampling and evaluation, a matrix-vector product in the native backend
    const shapes = [[1, 1, 1], [1, 300, 70], [1, 65, 256], [3, 5, 7], [32, 512, 128], [17, 33, 65], [64, 4, 300], [5, 129, 2]] as const;
    for (const [M, N, K] of shapes) for (const tA of [false, true]) for (const tB of [false, true]) for (const [alpha, beta] of [[1, 0], [1, 1], [0.5, -2]]) {
      const pad = 3, lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
      const aOff = 2, bOff = 5, cOff = 1;
      const A = rand(be, rng, aOff + (tA ? K : M) * lda), B = rand(be, rng, bOff + (tB ? N : K) * ldb), C = rand(be, rng, cOff + M * ldc);
      if (beta === 0) for (let i = 0; i < M; i++) C.fill(NaN, cOff + i * ldc, cOff + i * ldc + N); // beta = 0 overwrites C, NaNs included
      const want = Float64Array.from(C);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[aOff + (tA ? k * lda + i : i * lda + k)]! * B[bOff + (tB ? j * ldb + k : k * ldb + j)]!;
        want[cOff + i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * C[cOff + i * ldc + j]!);
      }
      be.gemm(tA, tB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      close(`gemm ${M}x${N}x${K} tA=${tA} tB=${tB} a=${alpha} b=${beta}`, C, want, 1e-5);
    }
  });

  test(`${name}: cell steps forward and backward match the reference`, () => {
    const rng = new Rng(2);
    for (const [B, H] of [[1, 1], [3, 7], [32, 128], [5, 33]] as const) {
      const BH = B * H, off = 4;
      // LSTM
      const g = rand(be, rng, off + 4 * BH, 3), cp = rand(be, rng, off + BH, 2);
      const c = be.alloc(off + BH), tc = be.alloc(off + BH), h = be.alloc(off + BH);
      const g2 = Float32Array.from(g), c2 = new Float32Array(off + BH), tc2 = new Float32Array(off + BH), h2 = new Float32Array(off + BH);
      be.lstmStepForward(g, off, c, off, tc, off, h, off, cp, off, B, H);
      refBackend.lstmStepForward(g2, off, c2, off, tc2, off, h2, off, cp, off, B, H);
      close('lstm fwd gates', g, g2); close('lstm fwd c', c, c2); close('lstm fwd h', h, h2); close('lstm fwd tanh(c)', tc, tc2);
      const dh = rand(be, rng, BH), dc = rand(be, rng, BH), dg = be.alloc(off + 4 * BH);
      const dh2 = Float32Array.from(dh), dc2 = Float32Array.from(dc), dg2 = new Float32Array(off + 4 * BH);
      be.lstmStepBackward(dg, off, dc, dh, g, off, tc, off, cp, off, B, H);
      refBackend.lstmStepBackward(dg2, off, dc2, dh2, g2, off, tc2, off, cp, off, B, H);
      close('lstm bwd dgates', dg, dg2); close('lstm bwd dc', dc, dc2);
      // GRU
      const gx = rand(be, rng, off + 3 * BH, 3), gh = rand(be, rng, off + 3 * BH, 3), hp = rand(be, rng, off + BH);
      const gx2 = Float32Array.from(gx), hn = be.alloc(off + BH), hn2 = new Float32Array(off + BH);
      be.gruStepForward(gx, off, gh, off, hn, off, hp, off, B, H);
      refBackend.gruStepForward(gx2, off, gh, off, hn2, off, hp, off, B, H);
      close('gru fwd act', gx, gx2); close('gru fwd h', hn, hn2);
      const dgx = be.alloc(off + 3 * BH), dgh = be.alloc(off + 3 * BH), dgx2 = new Float32Array(off + 3 * BH), dgh2 = new Float32Array(off + 3 * BH);
      const dhg = rand(be, rng, BH), dhg2 = Float32Array.from(dhg);
      be.gruStepBackward(dgx, off, dgh, off, dhg, gx, off, gh, off, hp, off, B, H);
      refBackend.gruStepBackward(dgx2, off, dgh2, off, dhg2, gx2, off, gh, off, hp, off, B, H);
      close('gru bwd dgx', dgx, dgx2); close('gru bwd dgh', dgh, dgh2); close('gru bwd dh', dhg, dhg2);
      // Elman
      for (const relu of [false, true]) {
        const pre = rand(be, rng, off + BH, 3), hr = be.alloc(off + BH), hr2 = new Float32Array(off + BH);
        be.rnnStepForward(relu, hr, off, pre, off, BH);
        refBackend.rnnStepForward(relu, hr2, off, pre, off, BH);
        close(`rnn fwd relu=${relu}`, hr, hr2);
        const dhr = rand(be, rng, BH), dp = be.alloc(off + BH), dp2 = new Float32Array(off + BH);
        be.rnnStepBackward(relu, dp, off, dhr, hr, off, BH);
        refBackend.rnnStepBackward(relu, dp2, off, dhr, hr2, off, BH);
        close(`rnn bwd relu=${relu}`, dp, dp2);
      }
    }
  });

  test(`${name}: softmax cross-entropy, rows, gather/scatter, norms`, () => {
    const rng = new Rng(3);
    for (const [N, V] of [[1, 2], [7, 65], [2048, 65], [3, 1000]] as const) {
      const logits = rand(be, rng, N * V, 8), targets = new Int32Array(N);
      for (let n = 0; n < N; n++) targets[n] = n % 5 === 4 ? -1 : rng.int(V);
      const probs = be.alloc(N * V), probs2 = new Float32Array(N * V);
      const loss = be.softmaxXent(probs, logits, targets, N, V), loss2 = refBackend.softmaxXent(probs2, logits, targets, N, V);
      assert.ok(Math.abs(loss - loss2) <= 1e-5 * Math.abs(loss2), `xent loss ${loss} vs ${loss2}`);
      close('softmax', probs, probs2);
      const dl = be.alloc(N * V), dl2 = new Float32Array(N * V);
      be.softmaxXentBackward(dl, probs, targets, N, V, 1 / N);
      refBackend.softmaxXentBackward(dl2, probs2, targets, N, V, 1 / N);
      close('xent backward', dl, dl2);
    }
    const rows = 37, n = 19, Y = rand(be, rng, 3 + rows * n), bias = rand(be, rng, n), Y2 = Float32Array.from(Y);
    be.fillRows(Y, 3, bias, rows, n); refBackend.fillRows(Y2, 3, bias, rows, n);
    close('fillRows', Y, Y2);
    const db = rand(be, rng, n), db2 = Float32Array.from(db);
    be.sumRows(db, Y, 3, rows, n); refBackend.sumRows(db2, Y2, 3, rows, n);
    close('sumRows', db, db2);
    const table = rand(be, rng, 11 * n), ids = Int32Array.from({ length: rows }, () => rng.int(11));
    const out = be.alloc(2 + rows * n), out2 = new Float32Array(2 + rows * n);
    be.gatherRows(out, 2, table, ids, rows, n); refBackend.gatherRows(out2, 2, table, ids, rows, n);
    close('gatherRows', out, out2);
    const dt = rand(be, rng, 11 * n), dt2 = Float32Array.from(dt);
    be.scatterAddRows(dt, out, 2, ids, rows, n); refBackend.scatterAddRows(dt2, out2, 2, ids, rows, n);
    close('scatterAddRows', dt, dt2);
    const big = rand(be, rng, 100003);
    const ss = be.sumSquares(big, big.length), ss2 = refBackend.sumSquares(big, big.length);
    assert.ok(Math.abs(ss - ss2) <= 1e-6 * ss2, `sumSquares ${ss} vs ${ss2}`);
    const big2 = Float32Array.from(big);
    be.scale(big, 1001, 0.37); refBackend.scale(big2, 1001, 0.37);
    close('scale', big, big2);
  });

  test(`${name}: layer norm forward and backward match the reference`, () => {
    const rng = new Rng(5), eps = 1e-5;
    const copy = (a: Float32Array) => Float32Array.from(a);
    // widths below, at and past the SIMD width and the 8- and 16-lane loops; rows = 1
    for (const [rows, n] of [[1, 1], [1, 2], [1, 7], [3, 5], [2, 4], [4, 19], [5, 33], [32, 128], [7, 130], [32, 512], [1, 1029], [64, 700]] as const) {
      const RN = rows * n;
      for (const inPlace of [false, true]) for (const acc of [false, true]) {
        const oo = 3, ho = inPlace ? 2 : 5, xo = 2, ro = 1; // offsets; in place, x and xhat share one
        // rows with a mean away from 0 (2 + noise), and a constant row (variance 0: the output is β)
        const x = rand(be, rng, xo + RN, 1.5);
        for (let k = 0; k < RN; k++) x[xo + k] += 2;
        if (rows > 2) x.fill(0.75, xo + n, xo + 2 * n);
        const xhat = inPlace ? x : rand(be, rng, ho + RN), out = rand(be, rng, oo + RN), rstd = rand(be, rng, ro + rows);
        const gamma = rand(be, rng, n, 0.5), beta = rand(be, rng, n, 0.5);
        for (let j = 0; j < n; j++) gamma[j] += 1;
        const x2 = copy(x), xhat2 = inPlace ? x2 : copy(xhat), out2 = copy(out), rstd2 = copy(rstd);
        be.layerNormForward(out, oo, xhat, ho, rstd, ro, x, xo, gamma, beta, rows, n, eps, acc);
        refBackend.layerNormForward(out2, oo, xhat2, ho, rstd2, ro, x2, xo, gamma, beta, rows, n, eps, acc);
        const what = `layer norm ${rows}x${n} inPlace=${inPlace} acc=${acc}`;
        close(`${what} out`, out, out2); close(`${what} xhat`, xhat, xhat2); close(`${what} rstd`, rstd, rstd2);
        if (!inPlace) close(`${what} x unchanged`, x, x2, 0);
        // backward from those xhat and rstd (the reference's, so both start from the same values)
        const xh = be.alloc(ho + RN), rs = be.alloc(ro + rows);
        xh.set(xhat2); rs.set(rstd2);
        for (const withBeta of [true, false]) {
          const dout = rand(be, rng, 4 + RN), dxo = inPlace ? 4 : 1, dx = inPlace ? dout : rand(be, rng, dxo + RN);
          const dgamma = rand(be, rng, n), dbeta = withBeta ? rand(be, rng, n) : null;
          const d0 = copy(dout), dout2 = copy(dout), dx2 = inPlace ? dout2 : copy(dx), dgamma2 = copy(dgamma), dbeta2 = dbeta && copy(dbeta);
          be.layerNormBackward(dx, dxo, dgamma, dbeta, dout, 4, xh, ho, rs, ro, gamma, rows, n, acc);
          refBackend.layerNormBackward(dx2, dxo, dgamma2, dbeta2, dout2, 4, xhat2, ho, rstd2, ro, gamma, rows, n, acc);
          const w = `${what} dbeta=${withBeta}`;
          closeDx(`${w} dx`, dx, dx2, d0, dxo, 4, gamma, rstd2, ro, rows, n);
          close(`${w} dgamma`, dgamma, dgamma2);
          if (dbeta) close(`${w} dbeta`, dbeta, dbeta2!);
          if (!inPlace) close(`${w} dout unchanged`, dout, d0, 0);
        }
      }
    }
  });

  test(`${name}: optimizer updates match the reference`, () => {
    const rng = new Rng(4), n = 4099;
    for (const opt of ['sgd', 'adagrad', 'rmsprop', 'adam'] as const) {
      const p = rand(be, rng, n), g = rand(be, rng, n), s1 = rand(be, rng, n, 0.1), s2 = rand(be, rng, n, 0.1);
      for (let i = 0; i < n; i++) { s1[i] = Math.abs(s1[i]!); s2[i] = Math.abs(s2[i]!); } // squared-gradient slots are >= 0
      const P = Float32Array.from(p), S1 = Float32Array.from(s1), S2 = Float32Array.from(s2);
      for (let t = 1; t <= 3; t++) {
        if (opt === 'sgd') { be.sgdStep(p, g, s1, n, 0.1, 0.9); refBackend.sgdStep(P, g, S1, n, 0.1, 0.9); }
        if (opt === 'adagrad') { be.adagradStep(p, g, s1, n, 0.1, 1e-10); refBackend.adagradStep(P, g, S1, n, 0.1, 1e-10); }
        if (opt === 'rmsprop') { be.rmspropStep(p, g, s1, n, 0.01, 0.99, 1e-8); refBackend.rmspropStep(P, g, S1, n, 0.01, 0.99, 1e-8); }
        if (opt === 'adam') { be.adamStep(p, g, s1, s2, n, 1e-3, 0.9, 0.999, 1e-8, t); refBackend.adamStep(P, g, S1, S2, n, 1e-3, 0.9, 0.999, 1e-8, t); }
      }
      close(`${opt} params`, p, P, 1e-5); close(`${opt} slot 1`, s1, S1, 1e-5); close(`${opt} slot 2`, s2, S2, 1e-5);
    }
  });
}

test('the OpenBLAS kernel set follows the CPU\'s instruction sets', async () => {
  const { openblasCoreFor } = await import('../src/backend/native/index.js');
  const f = (s: string) => new Set(s.split(' '));
  assert.equal(openblasCoreFor(f('sse4_2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 amx_tile')), 'Cooperlake');
  assert.equal(openblasCoreFor(f('avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl')), 'SkylakeX');
  assert.equal(openblasCoreFor(f('sse4_2 avx avx2 fma')), 'Haswell');
  assert.equal(openblasCoreFor(f('sse4_2 avx avx512f')), null, 'partial AVX-512 without AVX2+FMA: OpenBLAS decides');
  assert.equal(openblasCoreFor(new Set()), null);
});

test('a generic OpenBLAS kernel on an AVX2 / AVX-512 CPU is named in a warning', async () => {
  const { openblasCoreWarning } = await import('../src/backend/native/index.js');
  const avx512 = new Set('avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16'.split(' '));
  const avx2 = new Set('sse4_2 avx avx2 fma'.split(' '));
  for (const core of ['Cooperlake', 'SkylakeX', 'Haswell', 'Zen', 'SapphireRapids']) assert.equal(openblasCoreWarning(avx512, core, undefined), null, core);
  assert.equal(openblasCoreWarning(avx2, 'Haswell', undefined), null);
  assert.equal(openblasCoreWarning(new Set(['sse3', 'avx']), 'Sandybridge', undefined), null, 'no AVX2: nothing wider to use');
  assert.match(openblasCoreWarning(avx512, 'Prescott', 'Prescott')!, /'Prescott' kernels, which do not use this CPU's AVX-512.*OPENBLAS_CORETYPE \(now 'Prescott'\) or set it to Cooperlake/);
  assert.match(openblasCoreWarning(avx2, 'Nehalem', undefined)!, /'Nehalem' kernels.*AVX2.*install a newer libopenblas/);
});

// Runs wherever the native backend loads (CI included): on a CPU with AVX2 + FMA the
// kernels OpenBLAS reports must be ones that use them.
test('the native backend does not run generic BLAS kernels on this CPU', async (t) => {
  if (!availableBackends().includes('native')) return t.skip('native backend not built here');
  const { readFileSync } = await import('node:fs');
  let flags: Set<string>;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? '';
    flags = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch { return t.skip('no /proc/cpuinfo'); }
  const be = setBackend('native');
  try {
    const kernels = be.describe?.() ?? '';
    t.diagnostic(kernels);
    if (!(flags.has('avx2') && flags.has('fma'))) return t.skip('CPU without AVX2 + FMA');
    assert.equal(be.slowWarning?.() ?? null, null, kernels);
  } finally { setBackend('ref'); }
});

test('rnnkit info warns about generic kernels forced by OPENBLAS_CORETYPE', async (t) => {
  if (!availableBackends().includes('native')) return t.skip('native backend not built here');
  const { readFileSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const flags = readFileSync('/proc/cpuinfo', 'utf8');
  if (!/\bavx2\b/.test(flags) || !/\bfma\b/.test(flags)) return t.skip('CPU without AVX2 + FMA');
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [cli, 'info'], { encoding: 'utf8', env: { ...process.env, OPENBLAS_CORETYPE: 'Prescott' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /core Prescott/);
  assert.match(r.stdout, /warning: OpenBLAS runs its 'Prescott' kernels/);
  const b = spawnSync(process.execPath, [cli, 'bench', '--config', 'rnn-1-25-100-1', '--only', 'train', '--seconds', '0.05', '--windows', '1', '--warmup', '0', '--json'],
    { encoding: 'utf8', env: { ...process.env, OPENBLAS_CORETYPE: 'Prescott' } });
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stderr, /rnnkit: warning: native backend: OpenBLAS runs its 'Prescott' kernels/);
  const j = JSON.parse(b.stdout.trim().split('\n').pop()!) as { kernels: string; slow_warning: string };
  assert.match(j.kernels, /core Prescott/);
  assert.match(j.slow_warning, /Prescott/);
});
