import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
// @ts-expect-error: a plain .mjs build script without type declarations
import { nativeSourceHash, HASH_FILE } from '../../scripts/native-hash.mjs';

test('the committed prebuild was built from the native sources in this tree', () => {
  const recorded = readFileSync(HASH_FILE, 'utf8').trim();
  assert.equal(recorded, nativeSourceHash(), 'stale prebuild: run `npm run prebuild` and commit prebuilds/');
});
