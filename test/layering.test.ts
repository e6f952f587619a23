// The folders of src/ are layers: a file may import from its own layer and the ones
// below, never above (primitives and kernels at the bottom, then layers, models,
// training, tasks, and the CLI at the edge). Files stay small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const LAYERS: Record<string, number> = {
  core: 0, backend: 1, io: 2, data: 2, metrics: 2, testing: 2, viz: 2, nn: 3, models: 4, baselines: 4,
  train: 5, tasks: 6, analysis: 6, node: 7, cli: 8,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => { const p = join(dir, f); return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []; });
}

const layerOf = (path: string): string => relative(SRC, path).split(/[\\/]/)[0]!;

test('no file imports from a higher layer', () => {
  const bad: string[] = [];
  for (const f of files(SRC)) {
    const from = layerOf(f);
    if (!(from in LAYERS)) continue; // index.ts, node.ts: the package's entry points
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const to = layerOf(join(f, '..', m[1]!));
      if (!(to in LAYERS)) { bad.push(`${relative(SRC, f)} imports ${m[1]} (outside the layers)`); continue; }
      if (LAYERS[to]! > LAYERS[from]!) bad.push(`${relative(SRC, f)} (${from}) imports ${m[1]} (${to})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('every source folder is a known layer and no file passes 450 lines', () => {
  const unknown = files(SRC).map(layerOf).filter((l) => !l.endsWith('.ts') && !(l in LAYERS));
  assert.deepEqual([...new Set(unknown)], []);
  const long = files(SRC).map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 450);
  assert.deepEqual(long, []);
});

test("the package's main entry is browser-safe: nothing it loads statically imports a node: module", () => {
  const seen = new Set<string>(), bad: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
      const spec = m[1]!;
      if (spec.startsWith('node:')) bad.push(`${relative(SRC, file)} imports ${spec}`);
      else if (spec.startsWith('.')) visit(join(file, '..', spec.replace(/\.js$/, '.ts')));
    }
  };
  visit(join(SRC, 'index.ts'));
  assert.ok(seen.size > 40, `followed ${seen.size} files`);
  assert.deepEqual(bad, []);
});
