// kill -9 of a directory on the embedded store during a stream of registrations over the
// network: after a restart on the same store, every registration the directory acknowledged is
// there (at its acknowledged seq or a later one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity } from '../../src/identity/identity.js';
import { createNode, type Node } from '../../src/node/node.js';
import { signRecord } from '../../src/directory/record.js';
import { Children, fixture } from './fixtures/children.js';

test('every acknowledged registration survives kill -9 of the directory process', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'hubless-dir-crash-'));
  const children = new Children();
  const nodes: Node[] = [];
  try {
    const opts = JSON.stringify({ keyFile: join(tmp, 'dir.key'), store: `lmdb:${join(tmp, 'db')}` });
    const first = await children.start<{ entry: string; port: number }>(fixture('directory.ts'), [opts]);
    const ids = await Promise.all(Array.from({ length: 12 }, () => Identity.generate()));
    for (const id of ids) {
      nodes.push(await createNode({ identity: id, listen: { host: '127.0.0.1' }, directory: [first.ready.entry], register: false }));
    }
    const acked = new Map<string, number>();
    let stop = false;
    let inFlightAtKill = 0;
    let inFlight = 0;
    let total = 0;
    const lane = async (node: Node, id: Identity) => {
      const signer = { publicKey: new Uint8Array(id.publicKey), sign: (m: Uint8Array) => id.sign(m) };
      for (let i = 0; !stop; i++) {
        const seq = Date.now() * 100 + i % 100;
        const rec = signRecord({
          address: id.address.toString(), nonce: id.nonce, seq, expiresAt: Date.now() + 3600_000,
          capabilities: [{ name: 'durable', attributes: { i } }], hostname: `agent-${id.address.node.toString(16)}`,
        }, signer);
        inFlight++;
        try {
          await node.directory!.client.register(rec);
          acked.set(id.address.toString(), seq);
          total++;
        } catch {
          if (stop) return; // the directory died under this request: not acknowledged
        } finally {
          inFlight--;
        }
      }
    };
    const lanes = nodes.map((n, i) => lane(n, ids[i]));
    await new Promise((r) => setTimeout(r, 1500));
    inFlightAtKill = inFlight;
    const before = acked.size;
    const snapshot = new Map(acked);
    stop = true;
    await first.kill('SIGKILL');
    await Promise.all(lanes);
    assert.equal(before, ids.length, 'every agent registered at least once before the kill');
    t.diagnostic(`${total} registrations acknowledged, ${inFlightAtKill} in flight at the kill`);
    assert.ok(inFlightAtKill > 0, 'registrations were in flight when the directory was killed');
    // acknowledgements that raced with the kill count too
    for (const [k, v] of acked) if ((snapshot.get(k) ?? 0) < v) snapshot.set(k, v);

    const again = await children.start<{ entry: string; port: number }>(fixture('directory.ts'), [opts]);
    assert.equal(again.ready.entry.split('@')[0], first.ready.entry.split('@')[0], 'same key after restart');
    const checker = await createNode({ identity: await Identity.generate(), listen: { host: '127.0.0.1' }, directory: [again.ready.entry], register: false });
    nodes.push(checker);
    for (const [address, seq] of snapshot) {
      const r = await checker.resolve(address);
      assert.ok(r.seq >= seq, `${address}: stored seq ${r.seq} >= acknowledged ${seq}`);
    }
    const all = await checker.find({ capability: 'durable', limit: 500 });
    assert.equal(all.records.length, ids.length);
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
    await children.killAll();
    rmSync(tmp, { recursive: true, force: true });
  }
});
