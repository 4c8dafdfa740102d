// Initiation retransmission: the gaps between initiations double from handshakeRetryMs up to
// 8 × handshakeRetryMs, each one is a fresh initiation, and the dialler gives up at
// handshakeTimeoutMs with ERR_HUBLESS_HANDSHAKE_TIMEOUT. The "responder" is a plain UDP socket
// that never answers and records when each initiation arrived. Timings are checked as ratios
// with wide bounds (two shared, noisy cores), never as absolute values.
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
  try {
    await withNodes(async (set) => {
      const retryMs = 60;
      const timeoutMs = 2000;
      // Expected sends at 0, 60, 180, 420, 900, 1380, 1860 ms (gaps 60, 120, 240, 480, 480, 480).
      const a = await set.open({ identity: await Identity.generate(), handshakeRetryMs: retryMs, handshakeTimeoutMs: timeoutMs });
      const t0 = performance.now();
      await rejectsWith(
        a.connect(peer.publicKey, { endpoint: { address: '127.0.0.1', port: socket.address().port } }),
        'ERR_HUBLESS_HANDSHAKE_TIMEOUT',
      );
      const gaveUpAfter = performance.now() - t0;
      const countAtGiveUp = arrivals.length;
      await sleep(3 * retryMs * 8 / 2); // nothing more may arrive after giving up
      assert.equal(arrivals.length, countAtGiveUp, 'no initiation after the dialler gave up');

      const times = arrivals.map((x) => x.at);
      const gaps = times.slice(1).map((x, i) => x - times[i]);
      t.diagnostic(`gave up after ${gaveUpAfter.toFixed(0)} ms; gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);

      // Gives up at handshakeTimeoutMs: not early, and not much later (generous for a loaded machine).
      assert.ok(gaveUpAfter >= timeoutMs - 20, `gave up after ${gaveUpAfter} ms`);
      assert.ok(gaveUpAfter < timeoutMs + 1000, `gave up after ${gaveUpAfter} ms`);
      const st = a.stats();
      assert.equal(st.handshake.timeouts, 1);
      assert.equal(st.pendingHandshakes, 0);
      assert.equal(st.peers, 0, 'nothing is kept for the peer after giving up');

      // Every packet is an initiation, and each one is fresh (new ephemeral key and timestamp).
      for (const { packet } of arrivals) assert.equal(packet[1], PACKET_INITIATION);
      assert.equal(new Set(arrivals.map((x) => x.packet.toString('hex'))).size, arrivals.length);
      assert.equal(st.handshake.initiationsSent, arrivals.length);
      assert.equal(st.handshake.initiationsRetransmitted, arrivals.length - 1);

      // About 7 initiations in 2 s; a timer delayed by a loaded machine may cost one.
      assert.ok(arrivals.length >= 5 && arrivals.length <= 8, `${arrivals.length} initiations`);
      // The first three gaps double (ratio 2, accepted in 1.4..3), the later ones stay at the
      // cap (ratio 1, accepted in 0.6..1.6), and no gap exceeds the cap by much.
      for (let i = 1; i < Math.min(gaps.length, 4); i++) {
        const ratio = gaps[i] / gaps[i - 1];
        assert.ok(ratio >= 1.4 && ratio <= 3, `gap ${i} / gap ${i - 1} = ${ratio.toFixed(2)} (expected ~2)`);
      }
      // A retransmission due after the deadline is not sent: the timer fires at the deadline and
      // gives up. Should it fire a hair early, the last gap is cut short: not a backoff error.
      const last = times[times.length - 1] - t0 > timeoutMs - 100 ? gaps.length - 1 : gaps.length;
      for (let i = 4; i < last; i++) {
        const ratio = gaps[i] / gaps[i - 1];
        assert.ok(ratio >= 0.6 && ratio <= 1.6, `gap ${i} / gap ${i - 1} = ${ratio.toFixed(2)} (expected ~1, capped)`);
      }
      assert.ok(gaps[0] >= retryMs * 0.8, `first gap ${gaps[0]} ms`);
      for (const g of gaps) assert.ok(g <= 8 * retryMs + 250, `gap ${g.toFixed(0)} ms over the 8× cap`);
      if (gaps.length >= 5) {
        const capped = Math.max(...gaps.slice(3));
        assert.ok(capped >= 8 * retryMs * 0.8, `largest gap ${capped.toFixed(0)} ms: the backoff reached its cap`);
      }
    });
  } finally {
    socket.close();
    peer.destroy();
  }
});
