#!/usr/bin/env node
// Builds the optional native backend (native/*.c -> build/Release/rnnkit_native.node)
// with node-gyp. Run by npm's `install` script, and by hand as `npm run build:native`.
//
// It never fails an install: without a C compiler, OpenBLAS or node-gyp it prints one
// line and exits 0, and rnnkit falls back to its other backends at run time. The cheap
// checks (compiler, cblas.h, -lopenblas) run first, so a machine without them is
// skipped in well under a second instead of after a failed node-gyp run.
//
// Options: --verbose (or RNNKIT_NATIVE_VERBOSE=1) shows node-gyp's output;
// RNNKIT_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const verbose = process.argv.includes('--verbose') || !!process.env.RNNKIT_NATIVE_VERBOSE;
const addon = join(root, 'build', 'Release', 'rnnkit_native.node');

function skip(reason) {
  console.log(`rnnkit: native backend not built (${reason}); using WebAssembly`);
  process.exit(0);
}

/** Runs a shell command line; returns its status and output (never throws). */
function sh(cmd, opts = {}) {
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', timeout: 60_000, ...opts });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/** The line of a tool's output that says what went wrong, shortened. */
function firstError(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  // In order: a compiler diagnostic ("x.c:1:10: fatal error: ..."), gyp's own message,
  // node-gyp's ("gyp ERR! stack Error: Could not find any Python installation").
  const hit = lines.find((l) => /(^|\s)(fatal )?error:/i.test(l) && !l.startsWith('gyp ERR!'))
    ?? lines.find((l) => l.startsWith('gyp: ')) ?? lines.find((l) => l.startsWith('gyp ERR! stack Error:'))
    ?? lines.find((l) => l.startsWith('gyp ERR!')) ?? lines.at(-1) ?? 'unknown error';
  return hit.replace(/^gyp(:| ERR! (stack )?(Error: )?)\s*/, '').slice(0, 160);
}

/** Compiles and links a call of cblas_sgemm; returns what is missing, or null. */
function checkToolchain(cc, flags) {
  const tmp = mkdtempSync(join(tmpdir(), 'rnnkit-native-'));
  try {
    const src = join(tmp, 't.c');
    writeFileSync(src, '#include <cblas.h>\nint main(void) { float a = 1, b = 1, c = 0;\n'
      + '  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.f, &a, 1, &b, 1, 0.f, &c, 1);\n'
      + '  return c == 1 ? 0 : 1; }\n');
    const hdr = sh(`${cc} ${flags} -fsyntax-only ${src}`);
    if (!hdr.ok) {
      return /cblas\.h/.test(hdr.out) ? 'no cblas.h; install OpenBLAS, e.g. apt-get install libopenblas-dev'
        : `C compiler does not work: ${firstError(hdr.out)}`;
    }
    const link = sh(`${cc} ${src} -o ${join(tmp, 't')} ${flags} -lopenblas -lm`);
    if (!link.ok) return 'cannot link -lopenblas; install OpenBLAS, e.g. apt-get install libopenblas-dev';
    return null;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  if (process.env.RNNKIT_SKIP_NATIVE) skip('RNNKIT_SKIP_NATIVE is set');
  if (!existsSync(join(root, 'binding.gyp'))) process.exit(0); // a package without the native sources
  if (process.platform === 'win32') skip('not supported on Windows');

  // 1. A C compiler, the CBLAS header and -lopenblas: one tiny program compiled and linked
  //    with the same search paths binding.gyp uses.
  const cc = process.env.CC || 'cc';
  if (!sh(`command -v ${cc.split(' ')[0]}`).ok) skip(`no C compiler ('${cc}' not found)`);
  const pc = sh('pkg-config --cflags --libs openblas 2>/dev/null');
  const flags = [
    pc.ok ? pc.out.trim() : '',
    '-I/usr/include/openblas -I/usr/local/opt/openblas/include -I/opt/homebrew/opt/openblas/include',
    '-L/usr/local/opt/openblas/lib -L/opt/homebrew/opt/openblas/lib',
  ].join(' ');
  const problem = checkToolchain(cc, flags);
  if (problem) skip(problem);

  // 2. node-gyp: npm's own (npm exports its path to lifecycle scripts), else the copy
  //    bundled next to this node, else one installed in the project.
  const prefix = resolve(dirname(process.execPath), '..');
  const bundled = join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const gypJs = [process.env.npm_config_node_gyp, bundled].find((p) => p && existsSync(p));
  const args = ['rebuild'];
  // Node's headers ship with most installs (<prefix>/include/node); using them avoids
  // a download from nodejs.org, which an offline machine could not do.
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))
    && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
  const [cmd, cmdArgs] = gypJs ? [process.execPath, [gypJs, ...args]] : ['npx', ['--no-install', 'node-gyp', ...args]];
  const r = spawnSync(cmd, cmdArgs, {
    cwd: root, encoding: 'utf8', timeout: 600_000, stdio: verbose ? 'inherit' : 'pipe',
  });
  if (r.error) skip(`node-gyp did not run: ${r.error.message}`);
  if (r.status !== 0) {
    skip(verbose ? `node-gyp exited with ${r.status}` : `${firstError(`${r.stdout}${r.stderr}`)}; npm run build:native -- --verbose shows the log`);
  }

  // 3. Load it once here, so a library that links but does not load is reported now.
  let info;
  try {
    info = createRequire(import.meta.url)(addon).info();
  } catch (e) {
    skip(`built but does not load: ${String(e.message).split('\n')[0]}`);
  }
  console.log(`rnnkit: native backend built (${info})`);
} catch (e) {
  skip(`build script error: ${e.message}`);
}
