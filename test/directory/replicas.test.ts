// Three directory replicas (child processes) on one real Redis. One is killed with SIGKILL:
// clients keep finding agents, failing over within 2 s; agents' heartbeats and new
// registrations move to the surviving replicas; a watch re-opens on another replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity } from '../../src/identity/identity.js';
import { createNode, type Node } from '../../src/node/node.js';
import type { DirectoryWatchEvent } from '../../src/directory/client.js';
import { Children, fixture, type Child } from './fixtures/children.js';
import { startRedis } from './fixtures/redis-server.js';
import { waitFor } from './helpers.js';

test('three replicas on one Redis: one killed, clients keep finding agents and fail over within 2 s', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'hubless-dir-replicas-'));
  const redis = await startRedis();
  const children = new Children();
  const nodes: Node[] = [];
  try {
    const replicas: Child<{ entry: string; port: number }>[] = [];
    for (let i = 0; i < 3; i++) {
      const opts = { keyFile: join(tmp, `replica-${i}.key`), store: redis.url, leaseMs: 3000 };
      replicas.push(await children.start(fixture('directory.ts'), [JSON.stringify(opts)]));
    }
    const directory = replicas.map((r) => r.ready.entry);
    const ids = await Promise.all(Array.from({ length: 6 }, () => Identity.generate()));
    const open = async (o: Parameters<typeof createNode>[0]) => {
      const n = await createNode({ listen: { host: '127.0.0.1' }, directory, ...o });
      nodes.push(n);
      return n;
    };
    // agents registered through different replicas (each prefers the first that answers: rotate the list)
    for (let i = 0; i < 4; i++) {
      await open({ identity: ids[i], directory: [...directory.slice(i % 3), ...directory.slice(0, i % 3)], capabilities: ['replicated'], hostname: `agent-${i}.test` });
    }
    const finder = await open({ identity: ids[4], register: false, directoryOptions: { watchIdleMs: 1000 } });
    assert.equal((await finder.find({ capability: 'replicated' })).records.length, 4);
    const watch = finder.watch({ capability: 'replicated' });
    const events: DirectoryWatchEvent[] = [];
    watch.on('put', (e) => events.push(e));
    await watch.ready;
    assert.equal(events.length, 4);

    // kill -9 the replica the finder talks to
    const current = finder.directory!.client.current!;
    const victim = replicas.find((r) => r.ready.entry === current.label)!;
    await victim.kill('SIGKILL');
    const durations: number[] = [];
    for (let i = 0; i < 8; i++) {
      const t0 = Date.now();
      const page = await finder.find({ capability: 'replicated' });
      durations.push(Date.now() - t0);
      assert.equal(page.records.length, 4, `find #${i} after the kill (${durations.join(', ')} ms): ${nodes.slice(0, 4).map((n) => `${n.directory!.registration!.registered}/${n.directory!.client.stats().failovers}`).join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    t.diagnostic(`find after the kill took ${durations.join(', ')} ms`);
    assert.ok(durations[0] < 2000, `first find after the kill took ${durations[0]} ms`);
    assert.ok(Math.max(...durations.slice(1)) < 1500, 'later finds go straight to a live replica');
    assert.notEqual(finder.directory!.client.current!.label, current.label);

    // leases (3 s) are kept by heartbeats through the surviving replicas
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal((await finder.find({ capability: 'replicated' })).records.length, 4);
    assert.equal((await finder.resolve('agent-0.test')).address, ids[0].address.toString());

    // a new agent registers during the outage; the watch, re-opened on a live replica, sees it
    const late = await open({ identity: ids[5], capabilities: ['replicated'] });
    await waitFor(() => events.some((e) => e.address === late.address.toString()), 5000, 'the watch to report the new agent');
    assert.equal((await finder.find({ capability: 'replicated' })).records.length, 5);
    watch.close();
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
    await children.killAll();
    await redis.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});
