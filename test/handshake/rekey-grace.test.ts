// Old keys are kept for rekeyGraceMs after a rekey, for reordered packets: a datagram sealed under
// the previous keys and delivered late (held back by a plain UDP relay) is accepted within the
// grace period, and dropped and counted (dropUnknownSession) once the old index is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity } from '../../src/identity/identity.js';
import { constants } from '../../src/native/binding.js';
import type { Session } from '../../src/session/session.js';
import { Relay, type HeldPacket } from './relay.js';
import { sleep, until, withNodes } from '../node/helpers.js';

const REKEY_AFTER = 16; // the smallest rekeyAfterPackets: the 16th datagram under one key starts a rekey
const GRACE_MS = 600;
const PACKET_DATAGRAM = constants.packetTypes.datagram;

function marked(text: string, size = 300): Buffer {
  const b = Buffer.alloc(size);
  b.write(text);
  return b;
}

test('a packet sealed under the previous keys is accepted within rekeyGraceMs and dropped (counted) after it', async (t) => {
  const [ida, idb] = await Promise.all([Identity.generate(), Identity.generate()]);
  await withNodes(async (set) => {
    const a = await set.open({ identity: ida, rekeyAfterPackets: REKEY_AFTER, rekeyGraceMs: GRACE_MS });
    const b = await set.open({ identity: idb, rekeyGraceMs: GRACE_MS });
    const relay = await Relay.open({ address: '127.0.0.1', port: b.endpoint.port });
    try {
      const got: string[] = [];
      b.listen(9, (m) => got.push(m.data.toString('latin1').replace(/\0+$/, '')));
      const incoming = new Promise<Session>((r) => b.once('session', r));
      const sa = await a.connect(b.publicKey, { endpoint: relay.endpoint });
      const sb = await incoming;
      await until(() => sb.stats().confirmed, 2000, 'b confirmed the session');
      // Only the 300-byte marked datagrams are held; fillers and keepalives are far smaller.
      const isMarked = (p: HeldPacket): boolean => p.type === PACKET_DATAGRAM && p.packet.length > 200;

      /** Sends a held marked datagram, then fillers up to the rekey; returns the held packet once B switched keys. */
      const sealedThenRekeyed = async (label: string, rekeysBefore: number): Promise<{ held: HeldPacket; oldIndex: number }> => {
        const oldIndex = sb.stats().localIndex;
        const held = relay.hold(isMarked);
        sa.send(9, marked(label));
        const p = await held;
        for (let i = 0; i < REKEY_AFTER; i++) sa.send(9, marked('fill', 8));
        await until(() => sa.stats().rekeys > rekeysBefore, 3000, 'the rekey');
        // A datagram under the new keys: once b delivers it, b has switched (and retired the old index).
        sa.send(9, marked(`after-${label}`, 16));
        await until(() => got.includes(`after-${label}`), 3000, `after-${label}`);
        assert.notEqual(sb.stats().localIndex, oldIndex, 'b sends under new keys');
        t.diagnostic(`${label}: held under index ${p.receiver.toString(16)} (b's previous), b now on ${sb.stats().localIndex.toString(16)}`);
        return { held: p, oldIndex };
      };

      // 1. Late but within the grace period: accepted and delivered.
      const first = await sealedThenRekeyed('late-1', 0);
      assert.equal(first.held.receiver, first.oldIndex, 'the held packet was sealed under the previous keys');
      assert.ok(sb.stats().installedKeys >= 2, 'the previous keys are still installed');
      const dropsBefore = b.stats().transport.dropUnknownSession;
      await relay.release(first.held);
      await until(() => got.includes('late-1'), 2000, 'the late packet within the grace period');
      assert.equal(b.stats().transport.dropUnknownSession, dropsBefore);

      // 2. Late beyond the grace period: the old index is gone, the packet is dropped and counted.
      const second = await sealedThenRekeyed('late-2', sa.stats().rekeys);
      assert.equal(second.held.receiver, second.oldIndex);
      await until(() => sb.stats().installedKeys === 1, GRACE_MS + 2000, 'the previous keys retired after the grace period');
      const before = b.stats().transport.dropUnknownSession;
      await relay.release(second.held);
      await until(() => b.stats().transport.dropUnknownSession === before + 1, 2000, 'the late packet counted as dropped');
      await sleep(30);
      assert.ok(!got.includes('late-2'), 'not delivered after the grace period');
      assert.equal(b.stats().transport.dropAuth, 0);
      assert.equal(a.stats().handshake.errors + b.stats().handshake.errors, 0);
      // Everything else arrived: the fillers of both rounds and the markers.
      assert.equal(got.filter((x) => x === 'fill').length, 2 * REKEY_AFTER);
    } finally {
      relay.close();
    }
  });
  ida.destroy();
  idb.destroy();
});
