// `hubless directory`, `hubless find` and `hubless resolve` as a user runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { Identity } from '../../src/identity/identity.js';
import { createNode } from '../../src/node/node.js';
import { Children } from './fixtures/children.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const main = join(repo, 'src/cli/main.ts');

function hubless(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: repo, env: { ...process.env, HOME: tmpdir(), HUBLESS_DIRECTORY: '', ...env }, encoding: 'utf8', timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('help and usage errors', () => {
  for (const cmd of ['directory', 'find', 'resolve']) {
    const h = hubless([cmd, '--help']);
    assert.equal(h.code, 0, cmd);
    assert.match(h.out, /--json/);
  }
  assert.match(hubless(['--help']).out, /find .*capability/);
  const noDir = hubless(['find', 'summarize']);
  assert.equal(noDir.code, 2);
  assert.match(noDir.err, /no directory: pass --directory/);
  assert.equal(hubless(['directory', '--listen', 'localhost:80']).code, 2);
  const badEntry = hubless(['resolve', 'x.test', '--directory', 'abc@1.2.3.4:5']);
  assert.equal(badEntry.code, 1);
  assert.match(badEntry.err, /ERR_HUBLESS_BAD_DIRECTORY_ENTRY/);
});

test('a directory started from the CLI serves find and resolve (--json), and prints its counters on SIGTERM', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hubless-dir-cli-'));
  const children = new Children();
  const id = await Identity.generate();
  let node;
  try {
    const dir = await children.start<{ event: string; entry: string; createdKey: boolean }>(main, [
      'directory', '--listen', '127.0.0.1:0', '--store', `lmdb:${join(tmp, 'db')}`, '--key-file', join(tmp, 'dir.key'), '--json',
    ]);
    assert.equal(dir.ready.event, 'listening');
    assert.equal(dir.ready.createdKey, true);
    node = await createNode({
      identity: id, listen: { host: '127.0.0.1' }, directory: [dir.ready.entry], hostname: 'cli-agent.test',
      capabilities: [{ name: 'translate', attributes: { from: 'en', to: 'fr', maxChars: 100 } }],
    });
    const found = hubless(['find', 'translate', '--attr', 'from=en', '--attr', 'maxChars=100', '--json', '--directory', dir.ready.entry]);
    assert.equal(found.code, 0, found.err);
    const list = JSON.parse(found.out) as { address: string; publicKey: string }[];
    assert.deepEqual(list.map((r) => r.address), [id.address.toString()]);
    assert.equal(list[0].publicKey, id.publicKey.toString('hex'));
    const none = hubless(['find', 'translate', '--attr', 'to=de', '--directory', dir.ready.entry]);
    assert.equal(none.code, 1);
    assert.match(none.out, /no agent found/);
    const viaEnv = hubless(['resolve', 'cli-agent.test'], { HUBLESS_DIRECTORY: dir.ready.entry });
    assert.equal(viaEnv.code, 0, viaEnv.err);
    assert.match(viaEnv.out, new RegExp(`address +${id.address.toString()}`));
    const json = JSON.parse(hubless(['resolve', id.address.toString(), '--json', '--directory', dir.ready.entry]).out);
    assert.equal(json.hostname, 'cli-agent.test');
    const missing = hubless(['resolve', 'nobody.test', '--directory', dir.ready.entry]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /ERR_HUBLESS_NOT_FOUND/);
    dir.process.kill('SIGTERM');
    const [code] = await once(dir.process, 'close'); // after stdout is drained
    assert.equal(code, 0);
    const stats = dir.lines.find((l) => (l as { event?: string }).event === 'stats') as { requests: Record<string, number> };
    assert.ok(stats.requests.register >= 1 && stats.requests.query >= 2);
  } finally {
    await node?.close();
    await children.killAll();
    rmSync(tmp, { recursive: true, force: true });
  }
});
