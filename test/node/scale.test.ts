import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity } from '../../src/identity/identity.js';
import { nodeIdHash, VerifiedBindingCache } from '../../src/identity/derive.js';
import { createNode, type Node } from '../../src/node/node.js';
import { Transport } from '../../src/transport/transport.js';
import { endpointOf, identities, until } from './helpers.js';

const CLIENTS = 1000;
const SHARED_TRANSPORTS = 4;

test('1,000 sessions on one node: every client handshakes, and every session carries an echo', async (t) => {
  let t0 = performance.now();
  // The 1,000 client identities cost one address hash each (~30 ms), run in parallel on the
  // thread pool: about 15 s on two cores, the bulk of this test.
  const clients = await identities(CLIENTS);
  t.diagnostic(`${CLIENTS} identities in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The server checks each client's address binding. Those (key, nonce) → id triples were just
  // computed by Identity.generate, so its cache is fed from them instead of hashing 1,000 keys a
  // second time (the real check runs in every other test); unknown pairs still get the real hash.
  const known = new Map(clients.map((c) => [`${c.publicKey.toString('hex')}/${c.nonce}`, c.nodeId]));
  const serverCache = new VerifiedBindingCache({
    hash: (pk, nonce) => known.get(`${Buffer.from(pk).toString('hex')}/${nonce}`) ?? nodeIdHash(pk, nonce),
  });
  const server = await createNode({
    identity: await Identity.generate(), listen: { host: '127.0.0.1' }, bindingCache: serverCache, cookieThreshold: 1e6,
    maxPendingVerifications: CLIENTS, verificationLoadThreshold: 1e6, // every client shares 127.0.0.1: no per-source budget
  });
  const transports: Transport[] = [];
  const nodes: Node[] = [];
  try {
    for (let i = 0; i < SHARED_TRANSPORTS; i++) transports.push(await Transport.open({ host: '127.0.0.1' }));
    for (let i = 0; i < CLIENTS; i++) {
      nodes.push(await createNode({ identity: clients[i], transport: transports[i % SHARED_TRANSPORTS] }));
    }
    server.listen(7, (m) => m.session.send(m.srcPort, m.data, { srcPort: 7 }));

    t0 = performance.now();
    const sessions = [];
    for (let i = 0; i < CLIENTS; i += 100) {
      sessions.push(...await Promise.all(
        nodes.slice(i, i + 100).map((n) => n.connect(server.address, { endpoint: endpointOf(server), publicKey: server.publicKey })),
      ));
    }
    const handshakeMs = performance.now() - t0;
    t.diagnostic(`${CLIENTS} handshakes in ${handshakeMs.toFixed(0)} ms (${(CLIENTS / (handshakeMs / 1000)).toFixed(0)}/s, waves of 100)`);
    assert.equal(server.stats().sessions, CLIENTS);
    assert.equal(new Set(server.sessions().map((s) => s.remoteAddress.toString())).size, CLIENTS);

    let echoes = 0;
    const wrong: string[] = [];
    sessions.forEach((s, i) => {
      s.on('message', (data, info) => {
        if (data.readUInt32BE(0) !== i || info.srcPort !== 7) wrong.push(`${i}`);
        echoes++;
      });
    });
    sessions.forEach((s, i) => {
      const d = Buffer.alloc(100);
      d.writeUInt32BE(i, 0);
      s.send(7, d, { srcPort: 1000 + (i % 100) });
    });
    await until(() => echoes === CLIENTS, 10_000, 'every echo');
    assert.deepEqual(wrong, []);
    const st = server.stats();
    assert.equal(st.handshake.errors, 0);
    assert.equal(st.drops.busy, 0);
    assert.equal(st.transport.dropUnknownSession, 0);
    assert.equal(st.transport.dropAuth, 0);
    assert.equal(st.handshake.responsesSent, CLIENTS);
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
    for (const tr of transports) tr.close();
    await server.close();
  }
  assert.equal(server.stats().sessions, 0);
});
