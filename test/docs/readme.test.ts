// Every ```js example block in README.md runs here, against the source tree, so it cannot rot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const readme = readFileSync('README.md', 'utf8');
const blocks = [...readme.matchAll(/```js example\n([\s\S]*?)```/g)].map((m) => m[1]);
const entry = resolve('src/index.ts');
// Resolved here: the examples run in a scratch folder that has no node_modules.
const tsx = import.meta.resolve('tsx');

test('README has runnable examples', () => {
  assert.ok(blocks.length >= 2, 'expected at least two ```js example blocks');
});

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs and exits 0`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'hubless-readme-'));
    try {
      const file = join(dir, `example-${i + 1}.mts`);
      writeFileSync(file, code.replaceAll("from 'hubless'", `from ${JSON.stringify(entry)}`));
      const r = spawnSync(process.execPath, ['--import', tsx, file], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `example ${i + 1} failed:\n${r.stdout}\n${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
