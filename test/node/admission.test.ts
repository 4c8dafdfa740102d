// Admission of first contacts and the replay guard (src/node/node.ts, verification-gate.ts): an
// initiation refused for load leaves no replay-guard entry (throw-away keys must not churn the
// 65,536-entry guard), and replay protection still holds: the refused initiation, sent again, is
// just another initiation that must pass the timestamp check, and once one is accepted its copies
// and older ones are replays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity } from '../../src/identity/identity.js';
import { VerifiedBindingCache } from '../../src/identity/derive.js';
import { RemoteStatic, writeInitiation } from '../../src/handshake/messages.js';
import { Tai64nClock } from '../../src/handshake/timestamp.js';
import { PACKET_INITIATION, PACKET_RESPONSE } from '../../src/handshake/wire.js';
import { testKeys, testLocal, type TestKeys } from '../handshake/keys.js';
import { packet, RawSocket, until, withNodes } from './helpers.js';

function initiation(keys: TestKeys, responderKey: Buffer, clock: Tai64nClock, index: number): Buffer {
  const w = writeInitiation(testLocal(keys), RemoteStatic.fromPublicKey(responderKey)!, index, {
    rekey: false, aeads: 3, network: 0, nonce: 0, timestamp: clock.next(), publicKey: keys.publicKey,
  }, null);
  w.noise.destroy();
  return packet(PACKET_INITIATION, 0, w.body);
}

test('an initiation refused as busy leaves no replay-guard entry, and replay protection still holds', async () => {
  const raw = await RawSocket.open();
  const id = await Identity.generate();
  // Hashes wait until released: the single verification slot stays taken meanwhile.
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  const cache = new VerifiedBindingCache({ hash: async () => { await released; return 0x12345678; } });
  try {
    await withNodes(async (set) => {
      const b = await set.open({ identity: id, bindingCache: cache, maxPendingVerifications: 1 });
      const clock = new Tai64nClock();
      const x = testKeys();
      const y = testKeys();
      await raw.send(initiation(x, b.publicKey, clock, 1), b.endpoint); // takes the one slot
      await until(() => cache.misses === 1, 2000, 'x being verified');
      const yOld = initiation(y, b.publicKey, clock, 2);
      const yNew = initiation(y, b.publicKey, clock, 3);
      await raw.send(yNew, b.endpoint);
      await until(() => b.stats().drops.busy === 1, 2000, 'y refused as busy');
      assert.equal(b.stats().replayGuardEntries, 1, 'only the admitted initiation is remembered');

      release();
      await until(() => b.stats().handshake.responsesSent === 1, 2000, 'x answered');
      // The refused initiation again: it created no state, so it is judged like any initiation.
      await raw.send(yNew, b.endpoint);
      await until(() => b.stats().handshake.responsesSent === 2, 2000, 'y answered');
      assert.equal(b.stats().replayGuardEntries, 2);
      // Now its copies and anything older from y are replays.
      await raw.send(yNew, b.endpoint);
      await raw.send(yOld, b.endpoint);
      await until(() => b.stats().drops.replay === 2, 2000, 'two replays');
      assert.equal(b.stats().handshake.responsesSent, 2);
      assert.equal(raw.received.filter((p) => p[1] === PACKET_RESPONSE).length, 2);
      // Both answered peers' bindings are protected in the cache: new keys cannot push them out.
      assert.equal(cache.protectedSize, 2);
    });
  } finally {
    release();
    raw.close();
    id.destroy();
  }
});
