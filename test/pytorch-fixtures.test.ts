// Compares logits, loss, final state and every gradient with PyTorch on the committed
// fixtures (scripts/make_fixtures.py). Float32 against float32: the tolerance is a
// small multiple of float32 rounding over hundreds of recurrent steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadBackends } from '../src/backend/init.js';
import { availableBackends, setBackend } from '../src/backend/registry.js';
import { compareWithFixture, loadFixture } from './fixture-check.js';

await loadBackends();

const dir = new URL('../../test/fixtures/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();

test('fixtures are present', () => assert.ok(files.length >= 10, `found ${files.length} fixtures`));

for (const backend of availableBackends()) for (const file of files) {
  test(`matches PyTorch on ${backend}: ${file}`, () => {
    setBackend(backend); // before the model is built: its arrays come from the backend
    assert.deepEqual(compareWithFixture(loadFixture(new URL(file, dir))).report, []);
  });
}
