// Initiation retransmission: the gaps between initiations double from handshakeRetryMs up to
// 8 × handshakeRetryMs, each one is a fresh initiation, and the dialler gives up at
// handshakeTimeoutMs with ERR_HUBLESS_HANDSHAKE_TIMEOUT. The "responder" is a plain UDP socket
// that never answers and records when each initiation arrived.
//
// The backoff itself is checked on the delays the node asks its retransmission timer for
// (recorded by wrapping setTimeout for calls made from the node's send path): exact, whatever
// the machine's load. The wall clock is only checked one way, where lateness cannot fail it: no
// initiation comes before its delay has passed, and the dialler does not give up early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Identity } from '../../src/identity/identity.js';
import { PACKET_INITIATION } from '../../src/handshake/wire.js';
import { rejectsWith, sleep, withNodes } from '../node/helpers.js';

/** A UDP socket that never answers and timestamps every datagram it receives. */
async function silentResponder(): Promise<{ socket: dgram.Socket; arrivals: { at: number; packet: Buffer }[] }> {
  const socket = dgram.createSocket('udp4');
  const arrivals: { at: number; packet: Buffer }[] = [];
  socket.on('message', (packet) => arrivals.push({ at: performance.now(), packet }));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, arrivals };
}

test('initiations are retransmitted with doubling gaps capped at 8 × handshakeRetryMs, then the dialler gives up', async (t) => {
  const { socket, arrivals } = await silentResponder();
  const peer = await Identity.generate();
  // Delays the node's initiation path asks setTimeout for (the retransmission timer).
  const scheduled: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  t.mock.method(globalThis, 'setTimeout', function (this: unknown, ...args: Parameters<typeof setTimeout>) {
    if (new Error().stack?.includes('sendInitiation') === true) scheduled.push(Number(args[1]));
    return realSetTimeout.apply(this, args);
  });
  try {
    await withNodes(async (set) => {
      const retryMs = 200;
      const timeoutMs = 5000;
      // Sends at 0, 200, 600, 1400, 3000, 4600 ms (gaps 200, 400, 800, 1600, 1600), then the
      // timer is cut to the deadline and the dialler gives up at 5000 ms.
      const a = await set.open({ identity: await Identity.generate(), handshakeRetryMs: retryMs, handshakeTimeoutMs: timeoutMs });
      const t0 = performance.now();
      await rejectsWith(
        a.connect(peer.publicKey, { endpoint: { address: '127.0.0.1', port: socket.address().port } }),
        'ERR_HUBLESS_HANDSHAKE_TIMEOUT',
      );
      const gaveUpAfter = performance.now() - t0;
      const countAtGiveUp = arrivals.length;
      await sleep(4 * retryMs); // nothing more may arrive after giving up
      assert.equal(arrivals.length, countAtGiveUp, 'no initiation after the dialler gave up');

      const times = arrivals.map((x) => x.at);
      const gaps = times.slice(1).map((x, i) => x - times[i]);
      t.diagnostic(
        `gave up after ${gaveUpAfter.toFixed(0)} ms; scheduled ${scheduled.join(', ')} ms; ` +
        `gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`,
      );

      const st = a.stats();
      assert.equal(st.handshake.timeouts, 1);
      assert.equal(st.pendingHandshakes, 0);
      assert.equal(st.peers, 0, 'nothing is kept for the peer after giving up');
      // Every packet is an initiation, and each one is fresh (new ephemeral key and timestamp).
      for (const { packet } of arrivals) assert.equal(packet[1], PACKET_INITIATION);
      assert.equal(new Set(arrivals.map((x) => x.packet.toString('hex'))).size, arrivals.length);
      assert.equal(st.handshake.initiationsSent, arrivals.length);
      assert.equal(st.handshake.initiationsRetransmitted, arrivals.length - 1);
      assert.equal(scheduled.length, arrivals.length, 'one timer per initiation sent');

      // The backoff, exactly: doubling from retryMs, capped at 8 × retryMs; the last timer of a
      // slow run may be cut short by the deadline (min(backoff, time left)), never made longer.
      const backoff = scheduled.map((_, i) => retryMs * 2 ** Math.min(i, 3));
      assert.ok(scheduled.length >= 4, `${scheduled.length} timers: the backoff reached its cap`);
      for (let i = 0; i < scheduled.length; i++) {
        const last = i === scheduled.length - 1;
        if (!last) assert.equal(scheduled[i], backoff[i], `timer ${i}: ${scheduled.join(', ')}`);
        else assert.ok(scheduled[i] >= 0 && scheduled[i] <= backoff[i], `last timer ${scheduled[i]} ms`);
      }
      // A late timer only delays; it never brings the next initiation forward. Arrivals are
      // stamped when this process gets round to reading them, so one read late (a busy event
      // loop on 2 shared cores: 16 ms was seen) shortens the gap after it: a quarter of slack.
      for (let i = 0; i < gaps.length; i++) assert.ok(gaps[i] >= scheduled[i] * 0.75, `gap ${i} ${gaps[i].toFixed(0)} ms < ${scheduled[i]} ms`);
      // Gives up at handshakeTimeoutMs, not early; and not absurdly late.
      assert.ok(gaveUpAfter >= timeoutMs - 20, `gave up after ${gaveUpAfter} ms`);
      assert.ok(gaveUpAfter < timeoutMs + 5000, `gave up after ${gaveUpAfter} ms`);
    });
  } finally {
    socket.close();
    peer.destroy();
  }
});
