import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { Transport } from '../../src/transport/transport.js';
import { constants, native } from '../../src/native/binding.js';
import { collect, openPair, sealDatagram, until, type Pair } from './pair.js';

const code = (c: string) => (e: NodeJS.ErrnoException) => e.code === c;

async function withPair(
  fn: (p: Pair) => Promise<void>, algorithm?: 'aes-256-gcm' | 'chacha20-poly1305', host?: string, offload = true,
) {
  const p = await openPair(algorithm, host, host, offload);
  try {
    await fn(p);
  } finally {
    p.close();
  }
}

/** A plain UDP socket for throwing hand-made packets at a transport. */
async function rawSender(family: 'udp4' | 'udp6' = 'udp4') {
  const s = dgram.createSocket(family);
  await new Promise<void>((r) => s.bind(0, family === 'udp4' ? '127.0.0.1' : '::1', r));
  const send = (buf: Uint8Array, port: number) =>
    new Promise<void>((r, j) => s.send(buf, port, family === 'udp4' ? '127.0.0.1' : '::1', (e) => (e ? j(e) : r())));
  return { socket: s, send, close: () => s.close() };
}

for (const offload of [true, false]) {
  test(`delivers batches of 1 to 1024 datagrams intact, in order, with ports (GSO/GRO ${offload ? 'on' : 'off'})`, async () => {
    await withPair(async ({ a, b, ia, ib }) => {
      if (!offload) assert.deepEqual(a.features, { gso: false, gro: false });
      const got = collect(b);
      let expected = 0;
      for (const n of [1, 2, 52, 53, 54, 64, 100, 1024]) {
        const payloads = Array.from({ length: n }, (_, i) => randomBytes(i === n - 1 ? 17 : constants.maxDatagramPayload));
        assert.equal(a.send(ia, 7, 4242, payloads), true);
        expected += n;
        await until(() => got.length === expected, 5000, `${n} datagrams`);
        got.slice(expected - n).forEach((r, i) => {
          assert.deepEqual(r.data, payloads[i]);
          assert.equal(r.session, ib);
          assert.equal(r.dst, 7);
          assert.equal(r.src, 4242);
        });
      }
      assert.equal(b.sessionStats(ib)?.rxPackets, expected);
      assert.equal(a.sessionStats(ia)?.txPackets, expected);
      assert.equal(b.stats().dropAuth, 0);
      const s = a.stats();
      assert.ok(s.txSyscalls < s.txDatagrams / 8, `batched sends: ${s.txSyscalls} syscalls for ${s.txDatagrams} datagrams`);
      if (!offload) assert.equal(s.txGsoSends, 0);
    }, 'aes-256-gcm', '127.0.0.1', offload);
  });
}

test('ChaCha20-Poly1305 sessions carry datagrams too and report their algorithm', async () => {
  await withPair(async ({ a, b, ia, ib }) => {
    const got = collect(b);
    a.send(ia, 1, 2, [Buffer.from('hello'), Buffer.alloc(0)]);
    await until(() => got.length === 2);
    assert.equal(got[0].data.toString(), 'hello');
    assert.equal(got[1].data.length, 0);
    assert.equal(a.sessionStats(ia)?.algorithm, 'chacha20-poly1305');
  }, 'chacha20-poly1305');
});

test('works over IPv6 loopback and on a dual-stack socket from an IPv4 peer', async () => {
  await withPair(async ({ a, b, ia }) => {
    const got = collect(b);
    a.send(ia, 9, 9, [Buffer.from('over v6')]);
    await until(() => got.length === 1);
    assert.equal(got[0].data.toString(), 'over v6');
    assert.equal(b.address.family, 6);
  }, 'aes-256-gcm', '::1');

  const dual = await Transport.open({ host: '::' });
  const v4 = await Transport.open({ host: '127.0.0.1' });
  try {
    const k1 = randomBytes(32), k2 = randomBytes(32);
    const id = dual.reserveSession(), i4 = v4.reserveSession();
    dual.installSession(id, { remoteIndex: i4, algorithm: 'aes-256-gcm', txKey: k1, rxKey: k2, peer: { address: '127.0.0.1', port: v4.address.port } });
    v4.installSession(i4, { remoteIndex: id, algorithm: 'aes-256-gcm', txKey: k2, rxKey: k1, peer: { address: '127.0.0.1', port: dual.address.port } });
    const got4 = collect(v4), got6 = collect(dual);
    dual.send(id, 1, 1, [Buffer.from('to v4')]);
    v4.send(i4, 1, 1, [Buffer.from('to dual')]);
    await until(() => got4.length === 1 && got6.length === 1);
    assert.equal(got4[0].data.toString(), 'to v4');
    assert.equal(got6[0].data.toString(), 'to dual');
  } finally {
    dual.close();
    v4.close();
  }
});

test('tampered packets are dropped, counted, and never reach JS', async () => {
  await withPair(async ({ b, ib, ia, keyAB, algorithm }) => {
    const got = collect(b);
    const raw = await rawSender();
    try {
      const good = sealDatagram(algorithm, keyAB, ib, 0, 1, 1, Buffer.from('payload'));
      for (const i of [1, 5, 9, 16, 20, good.length - 1]) {
        // byte 1: 0x10 ^ 0x02 = 0x12, an unknown type (0x11 is the stream type now)
        const bad = Buffer.from(good); bad[i] ^= i === 1 ? 0x02 : 0x01;
        await raw.send(bad, b.address.port);
      }
      await raw.send(sealDatagram(algorithm, randomBytes(32), ib, 1, 1, 1, Buffer.from('wrong key')), b.address.port);
      await until(() => b.stats().rxDatagrams === 7);
      const s = b.stats();
      // byte 1 changes the type (unknown), byte 5 the receiver index (unknown session); the rest fail authentication
      assert.equal(s.dropType, 1);
      assert.equal(s.dropUnknownSession, 1);
      assert.equal(s.dropAuth, 5);
      assert.equal(b.sessionStats(ib)?.authFailures, 5);
      assert.equal(got.length, 0);
      // the window did not move: the genuine packet still opens
      await raw.send(good, b.address.port);
      await until(() => got.length === 1);
      assert.equal(got[0].data.toString(), 'payload');
      void ia;
    } finally {
      raw.close();
    }
  });
});

test('replay window: in order, out of order inside the window, duplicates and too-old packets', async () => {
  await withPair(async ({ b, ib, keyAB, algorithm }) => {
    const got = collect(b);
    const raw = await rawSender();
    const pkt = (n: number) => sealDatagram(algorithm, keyAB, ib, n, 1, 1, Buffer.from(String(n)));
    try {
      const order = [0, 1, 2, 10, 5, 3, 4, 9000, 1000, 8000, 9001];
      for (const n of order) await raw.send(pkt(n), b.address.port);
      await until(() => got.length === order.length, 5000, 'fresh packets');
      assert.deepEqual(got.map((r) => Number(r.data.toString())), order);
      for (const n of [0, 9000, 1000, 8000]) await raw.send(pkt(n), b.address.port); // 0 is now too old, the rest duplicates
      await until(() => b.stats().dropReplay + b.stats().dropTooOld === 4);
      assert.equal(b.stats().dropTooOld, 1, 'counter 0 slid out of the window (9001 - 0 > window)');
      assert.equal(b.stats().dropReplay, 3);
      assert.equal(b.sessionStats(ib)?.replays, 3);
      assert.equal(b.sessionStats(ib)?.rxHighest, 9001);
      assert.equal(got.length, order.length);
      // at least 4096 packets of reordering are tolerated
      await raw.send(pkt(9001 - 4096), b.address.port);
      await until(() => got.length === order.length + 1);
    } finally {
      raw.close();
    }
  });
});

test('handshake-class packets and STUN are handed to JS with their source', async () => {
  await withPair(async ({ a, b }) => {
    const seen: { type: number; receiver: number; body: string; port: number }[] = [];
    b.on('control', (c) => seen.push({ type: c.type, receiver: c.receiver, body: c.body.toString(), port: c.from.port }));
    // Bodies of sizes each type can have (constants.controlBodyBounds); others never reach JS.
    const init = 'init'.padEnd(constants.controlBodyBounds.handshakeInit[0], '.');
    const resp = 'resp'.padEnd(constants.controlBodyBounds.handshakeResponse[1], '.');
    a.sendControl(constants.packetTypes.handshakeInit, 0, Buffer.from(init), b.address);
    a.sendControl(constants.packetTypes.handshakeResponse, 77, Buffer.from(resp), b.address);
    const raw = await rawSender();
    try {
      const stun = Buffer.alloc(20);
      stun.writeUInt16BE(0x0001, 0); stun.writeUInt32BE(0x2112a442, 4); randomBytes(12).copy(stun, 8);
      await raw.send(stun, b.address.port);
      await until(() => seen.length === 3);
      assert.deepEqual(seen.slice(0, 2), [
        { type: constants.packetTypes.handshakeInit, receiver: 0, body: init, port: a.address.port },
        { type: constants.packetTypes.handshakeResponse, receiver: 77, body: resp, port: a.address.port },
      ]);
      assert.equal(seen[2].type, 0);
      assert.equal(seen[2].port, (raw.socket.address() as { port: number }).port);
      assert.equal(b.stats().rxStun, 1);
      assert.throws(() => a.sendControl(constants.packetTypes.datagram, 0, Buffer.alloc(1), b.address), code('ERR_HUBLESS_INVALID_ARGUMENT'));
      assert.throws(() => a.sendControl(1, 0, Buffer.alloc(1300), b.address), code('ERR_HUBLESS_DATAGRAM_TOO_LARGE'));
    } finally {
      raw.close();
    }
  });
});

test('bad arguments get errors with codes', async () => {
  await withPair(async ({ a, ia, b }) => {
    assert.throws(() => a.send(ia, 1, 1, [Buffer.alloc(constants.maxDatagramPayload + 1)]), code('ERR_HUBLESS_DATAGRAM_TOO_LARGE'));
    assert.throws(() => a.send(ia, 1, 1, ['text' as unknown as Uint8Array]), code('ERR_HUBLESS_INVALID_ARGUMENT'));
    assert.throws(() => a.send(ia, 70000, 1, [Buffer.alloc(1)]), code('ERR_HUBLESS_INVALID_ARGUMENT'));
    assert.throws(() => a.send(ia ^ 0x80000000, 1, 1, [Buffer.alloc(1)]), code('ERR_HUBLESS_NO_SESSION'));
    const reserved = a.reserveSession();
    assert.throws(() => a.send(reserved, 1, 1, [Buffer.alloc(1)]), code('ERR_HUBLESS_NO_SESSION'));
    assert.throws(() => a.installSession(reserved, { remoteIndex: 1, algorithm: 'aes-256-gcm', txKey: Buffer.alloc(16), rxKey: Buffer.alloc(32), peer: b.address }), code('ERR_HUBLESS_INVALID_ARGUMENT'));
    assert.throws(() => a.installSession(reserved, { remoteIndex: 1, algorithm: 'rot13' as never, txKey: Buffer.alloc(32), rxKey: Buffer.alloc(32), peer: b.address }), code('ERR_HUBLESS_INVALID_ARGUMENT'));
    assert.throws(() => a.installSession(reserved, { remoteIndex: 1, algorithm: 'aes-256-gcm', txKey: Buffer.alloc(32), rxKey: Buffer.alloc(32), peer: { address: 'example.com', port: 1 } }), code('ERR_HUBLESS_ADDRESS_FAMILY'));
    assert.throws(() => a.installSession(ia, { remoteIndex: 1, algorithm: 'aes-256-gcm', txKey: Buffer.alloc(32), rxKey: Buffer.alloc(32), peer: b.address }), code('ERR_HUBLESS_SESSION_INSTALLED'));
    assert.equal(a.removeSession(reserved), true);
    assert.equal(a.removeSession(reserved), false);
    assert.equal(a.sessionStats(reserved), null);
    await assert.rejects(Transport.open({ port: b.address.port }), code('ERR_HUBLESS_ADDRESS_IN_USE'));
    await assert.rejects(Transport.open({ host: 'localhost' }), code('ERR_HUBLESS_INVALID_ARGUMENT'));
    await assert.rejects(Transport.open({ port: 65536 }), code('ERR_HUBLESS_INVALID_ARGUMENT'));
  });
});

test('a removed session stops receiving: its packets count as unknown', async () => {
  await withPair(async ({ a, b, ia, ib }) => {
    const got = collect(b);
    b.removeSession(ib);
    a.send(ia, 1, 1, [Buffer.from('late')]);
    await until(() => b.stats().dropUnknownSession === 1);
    assert.equal(got.length, 0);
  });
});

test('close is idempotent, stops delivery, and sends after it fail with a code', async () => {
  await withPair(async ({ a, b, ia }) => {
    let batches = 0;
    b.on('datagrams', () => {
      batches++;
      b.close(); // closing inside the callback: no further callbacks
    });
    const payloads = Array.from({ length: 1024 }, () => randomBytes(1000));
    for (let i = 0; i < 8; i++) a.send(ia, 1, 1, payloads);
    await until(() => batches >= 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(batches, 1);
    b.close();
    // the sender keeps going into a closed peer, then closes (loopback never queues: for close with
    // a non-empty send queue see backpressure.test.ts)
    for (let i = 0; i < 4; i++) a.send(ia, 1, 1, payloads);
    a.close();
    a.close();
    assert.throws(() => a.send(ia, 1, 1, payloads), code('ERR_HUBLESS_SOCKET_CLOSED'));
    assert.throws(() => a.reserveSession(), code('ERR_HUBLESS_SOCKET_CLOSED'));
  });
});

// 100,000 random datagrams with exact per-reason accounting and a leak check: random-flood.test.ts.
// Close with a really non-empty send queue, and the runtime GSO fallback: backpressure.test.ts.
