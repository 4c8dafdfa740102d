import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Identity } from '../../src/identity/identity.js';
import { RemoteStatic, writeInitiation } from '../../src/handshake/messages.js';
import { writeMacs } from '../../src/handshake/cookie.js';
import { Tai64nClock } from '../../src/handshake/timestamp.js';
import { INITIATION_BYTES, PACKET_COOKIE_REPLY, PACKET_INITIATION } from '../../src/handshake/wire.js';
import { testKeys, testLocal } from '../handshake/keys.js';
import { endpointOf, identities, packet, RawSocket, until, withNodes } from './helpers.js';

let ids: Identity[] = [];
before(async () => {
  ids = await identities(3);
});

test('under load the first initiation gets a cookie reply, and the retransmission with mac2 succeeds at once', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] }); // default retry timer: 1 s
    const b = await set.open({ identity: ids[1], cookieThreshold: 0 });
    assert.equal(b.stats().underLoad, true);
    const t0 = performance.now();
    const s = await a.connect(b.address, { endpoint: endpointOf(b), publicKey: b.publicKey });
    assert.ok(performance.now() - t0 < 900, 'resent on the cookie, not on the 1 s timer');
    assert.ok(s.remoteAddress.equals(b.address));
    const ha = a.stats().handshake, hb = b.stats().handshake;
    assert.equal(hb.cookieRepliesSent, 1);
    assert.equal(b.stats().drops.cookieRequired, 1);
    assert.equal(ha.cookieRepliesReceived, 1);
    assert.equal(ha.initiationsSent, 2);
    assert.equal(ha.initiationsRetransmitted, 1);
    assert.equal(hb.responsesSent, 1);

    // The cookie is kept: the next handshake with b carries mac2 from the start.
    s.close();
    await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    assert.equal(b.stats().handshake.cookieRepliesSent, 1);
    assert.equal(a.stats().handshake.initiationsSent, 3);
  });
});

test('a flood of initiations from random keys under load gets small cookie replies and leaves no state', async (t) => {
  const raw = await RawSocket.open();
  try {
    await withNodes(async (set) => {
      const b = await set.open({ identity: ids[2], cookieThreshold: 0 });
      const bStatic = RemoteStatic.fromPublicKey(b.publicKey)!;
      const clock = new Tai64nClock();
      const flood: Buffer[] = [];
      for (let i = 0; i < 400; i++) {
        const keys = testKeys();
        const body = writeInitiation(testLocal(keys), bStatic, i + 1, {
          rekey: false, aeads: 3, network: 0, nonce: 0, timestamp: clock.next(), publicKey: keys.publicKey,
        }, i % 2 === 0 ? null : randomBytes(16)).body; // no mac2, or a mac2 from a made-up cookie
        flood.push(packet(PACKET_INITIATION, 0, body));
      }
      for (let i = 0; i < 100; i++) flood.push(packet(PACKET_INITIATION, 0, randomBytes(INITIATION_BYTES))); // bad mac1
      const t0 = performance.now();
      for (const p of flood) await raw.send(p, b.endpoint);
      await until(() => raw.received.length === 400 && b.stats().drops.mac1 === 100, 5000, '400 cookie replies');
      t.diagnostic(`500 initiations sent and handled in ${(performance.now() - t0).toFixed(0)} ms`);
      const st = b.stats();
      assert.equal(st.drops.cookieRequired, 400);
      assert.equal(st.handshake.cookieRepliesSent, 400);
      assert.equal(st.drops.decrypt, 0, 'no DH was done');
      assert.equal(st.handshake.responsesSent, 0);
      assert.equal(st.sessions, 0);
      assert.equal(st.peers, 0);
      assert.equal(st.pendingVerifications, 0);
      assert.equal(st.replayGuardEntries, 0);
      for (const reply of raw.received) {
        assert.equal(reply[1], PACKET_COOKIE_REPLY);
        assert.equal(reply.length, 72);
        assert.ok(reply.length < flood[0].length, 'a reply is smaller than the request');
      }
    });
  } finally {
    raw.close();
  }
});

test('cookies switch on by themselves above the initiations-per-second threshold', async () => {
  const raw = await RawSocket.open();
  try {
    await withNodes(async (set) => {
      const a = await set.open({ identity: ids[0] });
      const b = await set.open({ identity: ids[1], cookieThreshold: 50 });
      const bStatic = RemoteStatic.fromPublicKey(b.publicKey)!;
      assert.equal(b.stats().underLoad, false);
      // Valid mac1 over garbage: each costs the responder a Noise attempt until the load switch.
      for (let i = 0; i < 200; i++) {
        const body = randomBytes(INITIATION_BYTES);
        writeMacs(body, PACKET_INITIATION, 0, bStatic.mac1Key, null);
        await raw.send(packet(PACKET_INITIATION, 0, body), b.endpoint);
      }
      await until(() => b.stats().drops.decrypt + b.stats().drops.cookieRequired === 200, 3000, 'all 200 handled');
      const d = b.stats().drops;
      assert.equal(d.decrypt, 50);
      assert.equal(d.cookieRequired, 150);
      assert.equal(b.stats().underLoad, true);
      // A genuine peer still gets through: cookie reply, then mac2.
      const s = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
      assert.ok(s.remoteAddress.equals(b.address));
      assert.equal(a.stats().handshake.cookieRepliesReceived, 1);
    });
  } finally {
    raw.close();
  }
});
