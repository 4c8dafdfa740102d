// The live receive path, packet by packet: every malformed, unauthenticated or replayed packet
// thrown from a plain node:dgram socket at an open transport is dropped, counted under exactly its
// reason (docs/PROTOCOL.md "Receive path"), and never reaches JS (no callback at all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { constants, native } from '../../src/native/binding.js';
import { collect, openPair, sealDatagram, until } from './pair.js';

const T = constants.packetTypes;
const WINDOW = 8128; // native/replay.h kSize: packets guaranteed inside the window

/** Counters a packet can land in on the receive side; everything else must stay 0 too. */
const RX_NAMES = constants.socketStatNames.filter((n) => n.startsWith('drop') || n.startsWith('rx') || n === 'batches');

function rxCounters(stats: Record<string, number>): Record<string, number> {
  return Object.fromEntries(RX_NAMES.map((n) => [n, stats[n]]));
}

/** A header with a consistent length field (any type), then `body`. */
function packet(type: number, receiver: number, counter: bigint, body: Buffer): Buffer {
  return native.frameEncode(type, receiver, counter, body);
}

for (const host of ['127.0.0.1', '::1']) {
  test(`every malformed or unauthentic packet is dropped under its own reason and never reaches JS (${host})`, async () => {
    const p = await openPair('aes-256-gcm', host);
    const { b, ib, keyAB, algorithm } = p;
    const family = host === '::1' ? 'udp6' : 'udp4';
    const raw = dgram.createSocket(family);
    await new Promise<void>((r) => raw.bind(0, host, r));
    const send = (buf: Buffer) => new Promise<void>((r, j) => raw.send(buf, b.address.port, host, (e) => (e ? j(e) : r())));
    try {
      const got = collect(b);
      let controls = 0;
      b.on('control', () => controls++);
      const noKey = b.reserveSession(); // reserved by a handshake in progress, no keys yet
      const unknown = (ib ^ 0x40000000) >>> 0;
      assert.ok(unknown !== noKey && unknown !== ib);
      const good = (n: number, receiver = ib, key: Uint8Array = keyAB) =>
        sealDatagram(algorithm, key, receiver, n, 7, 9, Buffer.from(`payload ${n}`));
      const g = good(50);

      const expected: Record<string, number> = Object.fromEntries(RX_NAMES.map((n) => [n, 0]));
      const cases: [string, Buffer[]][] = [
        ['dropShort', [0, 1, 8, 15].map((n) => g.subarray(0, n))],
        // top bits other than 11; 0x00 without the STUN cookie is not STUN either
        ['dropNotHubless', [0x00, 0x41, 0x81, 0xbf].map((b0) => { const x = Buffer.from(g); x[0] = b0; return x; })],
        ['dropVersion', [0xc0, 0xc2, 0xff].map((b0) => { const x = Buffer.from(g); x[0] = b0; return x; })],
        ['dropLength', [
          (() => { const x = Buffer.from(g); x.writeUInt16BE(x.length - 16 + 1, 2); return x; })(),
          (() => { const x = Buffer.from(g); x.writeUInt16BE(x.length - 16 - 1, 2); return x; })(),
          (() => { const x = Buffer.from(g); x.writeUInt16BE(0xffff, 2); return x; })(),
          g.subarray(0, g.length - 1),
          Buffer.concat([g, Buffer.alloc(1)]),
        ]],
        ['dropType', [0x00, 0x04, 0x12, 0x7f, 0xff].map((t) => packet(t, ib, 51n, Buffer.alloc(40)))],
        // sealed types whose body cannot hold the tag (and, for datagrams, the ports)
        ['dropTruncated', [
          ...[0, 15, 16, 19].map((n) => packet(T.datagram, ib, 52n, Buffer.alloc(n))),
          packet(T.stream, ib, 53n, Buffer.alloc(15)),
        ]],
        ['dropControlSize', [packet(T.handshakeInit, 0, 0n, Buffer.alloc(1300)), packet(T.cookieReply, 3, 0n, Buffer.alloc(1217))]],
        ['dropStream', [packet(T.stream, ib, 54n, randomBytes(60))]], // no stream engine on this socket
        ['dropUnknownSession', [good(55, unknown), good(56, 0)]],
        ['dropNoKey', [good(57, noKey)]],
        ['dropAuth', [
          ...[20, 30, g.length - 1].map((i) => { const x = Buffer.from(g); x[i] ^= 0x01; return x; }), // ciphertext, tag
          (() => { const x = Buffer.from(g); x[15] ^= 0x01; return x; })(), // the counter (associated data)
          (() => { const x = Buffer.from(g); x[8] ^= 0x80; return x; })(), // the counter's top byte: far ahead
          good(58, ib, randomBytes(32)), // wrong key
          good(59, ib, p.keyBA), // the other direction's key
        ]],
      ];
      let count = 0;
      for (const [reason, pkts] of cases) {
        for (const pkt of pkts) await send(pkt);
        expected[reason] += pkts.length;
        count += pkts.length;
      }
      expected.rxDatagrams = count;
      expected.rxBytes = cases.reduce((s, [, pkts]) => s + pkts.reduce((t, x) => t + x.length, 0), 0);
      await until(() => b.stats().rxDatagrams === count, 5000, `${count} malformed packets`).catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(rxCounters(b.stats()))}`); });
      await new Promise((r) => setTimeout(r, 50));
      const s1 = b.stats();
      expected.rxSyscalls = s1.rxSyscalls; // not about drops
      assert.deepEqual(rxCounters(s1), expected);
      assert.equal(got.length, 0);
      assert.equal(controls, 0);
      assert.equal(s1.batches, 0, 'no call into JS at all');
      assert.deepEqual(
        (({ authFailures, replays, tooOld, rxPackets, rxHighest }) => ({ authFailures, replays, tooOld, rxPackets, rxHighest }))(b.sessionStats(ib)!),
        { authFailures: expected.dropAuth, replays: 0, tooOld: 0, rxPackets: 0, rxHighest: 0 },
      );

      // The window did not move: the untampered original still opens. Then replays and old ones.
      const late = 100 + WINDOW + 10;
      const steps: [Buffer, string | null][] = [
        [g, null], // delivered
        [g, 'dropReplay'], // the same packet again
        [good(late), null], // delivered; slides the window past 50
        [good(late), 'dropReplay'],
        [(() => { const x = good(late); x[20] ^= 1; return x; })(), 'dropReplay'], // replay check runs before the AEAD
        [g, 'dropTooOld'], // seen, and now out of the window
        [good(5), 'dropTooOld'], // never seen, but too old
        [(() => { const x = good(6); x[20] ^= 1; return x; })(), 'dropTooOld'], // too old: not even opened
        [good(late - 1), null], // still inside the window: delivered out of order
        [good(late - 1), 'dropReplay'],
      ];
      let delivered = 0;
      for (const [pkt, reason] of steps) {
        await send(pkt);
        count++;
        expected.rxDatagrams++;
        expected.rxBytes += pkt.length;
        if (reason === null) {
          delivered++;
          await until(() => got.length === delivered, 5000, 'a genuine packet');
        } else {
          expected[reason]++;
          await until(() => b.stats().rxDatagrams === count, 5000, reason);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
      const s2 = b.stats();
      expected.rxSyscalls = s2.rxSyscalls;
      expected.batches = s2.batches;
      assert.deepEqual(rxCounters(s2), expected);
      assert.ok(s2.batches >= 1 && s2.batches <= delivered, 'calls into JS only for genuine packets');
      assert.deepEqual(got.map((r) => r.data.toString()), ['payload 50', `payload ${late}`, `payload ${late - 1}`]);
      assert.ok(got.every((r) => r.session === ib && r.dst === 7 && r.src === 9));
      assert.equal(controls, 0);
      const ss = b.sessionStats(ib)!;
      assert.equal(ss.authFailures, expected.dropAuth);
      assert.equal(ss.replays, expected.dropReplay);
      assert.equal(ss.tooOld, expected.dropTooOld);
      assert.equal(ss.rxPackets, 3);
      assert.equal(ss.rxHighest, late);
    } finally {
      raw.close();
      p.close();
    }
  });
}

// Found by this file: OnReadable split each received entry with `for (off = 0; off < len; ...)`, so
// a 0-byte datagram was consumed without being counted anywhere (fixed in cce5226).
test('an empty UDP datagram is counted (rxDatagrams, dropShort) like any other short packet', async () => {
  const p = await openPair('aes-256-gcm', '127.0.0.1');
  const raw = dgram.createSocket('udp4');
  await new Promise<void>((r) => raw.bind(0, '127.0.0.1', r));
  const send = (buf: Buffer) => new Promise<void>((r, j) => raw.send(buf, p.b.address.port, '127.0.0.1', (e) => (e ? j(e) : r())));
  try {
    await send(Buffer.alloc(0));
    await send(Buffer.alloc(1, 0xc1));
    await until(() => p.b.stats().rxDatagrams >= 2, 5000, 'both packets');
    await new Promise((r) => setTimeout(r, 20));
    const s = p.b.stats();
    assert.equal(s.batches, 0);
    assert.deepEqual({ rxDatagrams: s.rxDatagrams, dropShort: s.dropShort }, { rxDatagrams: 2, dropShort: 2 });
  } finally {
    raw.close();
    p.close();
  }
});
