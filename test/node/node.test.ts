import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Address } from '../../src/identity/address.js';
import type { Identity } from '../../src/identity/identity.js';
import { createNode, type Node } from '../../src/node/node.js';
import { Transport, preferredAlgorithm } from '../../src/transport/transport.js';
import { MAX_DATAGRAM_PAYLOAD, type Message, type Session } from '../../src/session/session.js';
import { PACKET_COOKIE_REPLY, PACKET_INITIATION, PACKET_RESPONSE, INITIATION_BYTES } from '../../src/handshake/wire.js';
import { writeMacs } from '../../src/handshake/cookie.js';
import { RemoteStatic, writeInitiation } from '../../src/handshake/messages.js';
import { Tai64nClock } from '../../src/handshake/timestamp.js';
import { testKeys, testLocal } from '../handshake/keys.js';
import {
  endpointOf, identities, packet, RawSocket, rejectsWith, sleep, until, withNodes,
} from './helpers.js';

let ids: Identity[] = [];
before(async () => {
  ids = await identities(12);
});

const fast = { handshakeRetryMs: 50, handshakeTimeoutMs: 2000 };

function collect(session: Session): Message[] {
  const got: Message[] = [];
  session.on('message', (_data, info) => got.push(info));
  return got;
}

test('two nodes handshake and exchange datagrams both ways (events, iterator, port listener)', async (t) => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    const incoming = new Promise<Session>((r) => b.once('session', r));
    const onPort7: Message[] = [];
    b.listen(7, (m) => onPort7.push(m));

    let t0 = performance.now();
    const sa = await a.connect(b.address, { endpoint: endpointOf(b), publicKey: b.publicKey });
    const firstMs = performance.now() - t0;
    const sb = await incoming;
    assert.ok(sa.remoteAddress.equals(b.address));
    assert.ok(sb.remoteAddress.equals(a.address));
    assert.deepEqual(sa.remotePublicKey, b.publicKey);
    assert.deepEqual(sb.remotePublicKey, a.publicKey);
    assert.equal(sa.algorithm, preferredAlgorithm());
    assert.equal(sb.algorithm, sa.algorithm);
    assert.equal(sa.initiator, true);
    assert.equal(sb.initiator, false);
    assert.equal(sb.endpoint.port, a.endpoint.port);

    // a → b: a port listener and the session's events both see it, as the same object.
    const onSession = collect(sb);
    assert.equal(sa.send(7, Buffer.from('hello b')), true);
    assert.equal(sa.sendBatch(7, [Buffer.from('one'), Buffer.from('two')], { srcPort: 99 }), true);
    await until(() => onPort7.length === 3 && onSession.length === 3, 2000, 'datagrams at b');
    assert.deepEqual(onPort7.map((m) => m.data.toString()), ['hello b', 'one', 'two']);
    assert.deepEqual(onPort7.map((m) => m.srcPort), [7, 99, 99]);
    assert.equal(onPort7[0], onSession[0]);
    assert.equal(onPort7[0].session, sb);

    // b → a: an async iterator on the session.
    const it = sa.messages();
    sb.send(12, Buffer.from('hello a'), { srcPort: 7 });
    sb.send(12, Buffer.alloc(MAX_DATAGRAM_PAYLOAD, 1));
    const m1 = await it.next();
    const m2 = await it.next();
    assert.equal(m1.done, false);
    assert.equal(m1.value.data.toString(), 'hello a');
    assert.equal(m1.value.port, 12);
    assert.equal(m1.value.srcPort, 7);
    assert.equal(m2.value.data.length, MAX_DATAGRAM_PAYLOAD);

    // The same peer again (and concurrently): the same session, no new handshake.
    const [again1, again2] = await Promise.all([
      a.connect(b.publicKey, { endpoint: endpointOf(b) }),
      a.connect(b.address, { publicKey: b.publicKey.toString('hex'), endpoint: endpointOf(b) }),
    ]);
    assert.equal(again1, sa);
    assert.equal(again2, sa);
    assert.equal(await b.connect(a.publicKey, { endpoint: endpointOf(a) }), sb);
    assert.equal(a.stats().handshake.initiationsSent, 1);
    assert.equal(a.stats().sessions, 1);
    assert.equal(b.stats().sessions, 1);

    const st = sa.stats();
    assert.equal(st.txPackets, 4); // keepalive + 3 datagrams
    assert.equal(st.rxPackets, 2);
    assert.equal(st.authFailures, 0);
    assert.equal(st.confirmed, true);

    // A second handshake between known peers (bindings cached): a fresh session replaces the old.
    const replaced = new Promise<unknown>((r) => sb.once('close', r));
    sa.close();
    t0 = performance.now();
    const sa2 = await a.connect(b.address, { endpoint: endpointOf(b), publicKey: b.publicKey });
    const repeatMs = performance.now() - t0;
    assert.notEqual(sa2, sa);
    assert.equal(((await replaced) as { code: string }).code, 'ERR_HUBLESS_PEER_RESTARTED');
    t.diagnostic(`handshake on loopback: first contact ${firstMs.toFixed(1)} ms, known peers ${repeatMs.toFixed(2)} ms`);
    await it.return!();
  });
});

test('dialling by public key alone reports the verified address; several nodes can share one transport', async () => {
  const shared = await Transport.open({ host: '127.0.0.1' });
  try {
    await withNodes(async (set) => {
      const a = await set.open({ identity: ids[2] });
      const b = await set.open({ identity: ids[3], transport: shared, network: 5 });
      const c = await set.open({ identity: ids[4], transport: shared });
      assert.equal(b.endpoint.port, c.endpoint.port);
      const sb = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
      const sc = await a.connect(c.publicKey, { endpoint: endpointOf(c) });
      assert.ok(sb.remoteAddress.equals(Address.of(5, ids[3].nodeId)));
      assert.ok(sc.remoteAddress.equals(c.address));
      const atB: string[] = [], atC: string[] = [];
      b.listen(1, (m) => atB.push(m.data.toString()));
      c.listen(1, (m) => atC.push(m.data.toString()));
      sb.send(1, Buffer.from('to b'));
      sc.send(1, Buffer.from('to c'));
      await until(() => atB.length === 1 && atC.length === 1, 2000, 'both shared nodes');
      assert.deepEqual([atB, atC], [['to b'], ['to c']]);
    });
    assert.equal(shared.closed, false); // nodes never close a transport they were given
  } finally {
    shared.close();
  }
});

test('handshakes and datagrams over IPv6, and from an IPv4 peer to a dual-stack node', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0], listen: { host: '::1' } });
    const b = await set.open({ identity: ids[1], listen: { host: '::' } });
    const c = await set.open({ identity: ids[2] });
    const sa = await a.connect(b.publicKey, { endpoint: { address: '::1', port: b.endpoint.port } });
    const sc = await c.connect(b.publicKey, { endpoint: { address: '127.0.0.1', port: b.endpoint.port } });
    b.listen(5, (m) => m.session.send(6, m.data));
    const back: string[] = [];
    a.listen(6, (m) => back.push(`a ${m.data}`));
    c.listen(6, (m) => back.push(`c ${m.data}`));
    sa.send(5, Buffer.from('v6'));
    sc.send(5, Buffer.from('v4'));
    await until(() => back.length === 2, 2000, 'echoes over both families');
    assert.deepEqual(back.sort(), ['a v6', 'c v4']);
    assert.deepEqual(b.sessions().map((s) => s.endpoint.address).sort(), ['127.0.0.1', '::1']);
  });
});

test('ChaCha20-Poly1305 is chosen when one side does not offer AES-256-GCM', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0], algorithms: ['chacha20-poly1305'] });
    const b = await set.open({ identity: ids[1] });
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    assert.equal(sa.algorithm, 'chacha20-poly1305');
    const sb = b.sessions()[0];
    assert.equal(sb.algorithm, 'chacha20-poly1305');
    const got = collect(sb);
    sa.send(3, Buffer.from('x'));
    await until(() => got.length === 1);
  });
});

test('a responder whose key does not match the dialled address is refused with ERR_HUBLESS_ADDRESS_MISMATCH', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0], ...fast });
    const b = await set.open({ identity: ids[1] });
    const c = ids[2];
    // b's key at b's endpoint, but the address of c: the binding check fails.
    await rejectsWith(a.connect(c.address, { endpoint: endpointOf(b), publicKey: b.publicKey }), 'ERR_HUBLESS_ADDRESS_MISMATCH');
    assert.equal(a.stats().drops.addressMismatch, 1);
    assert.equal(a.stats().sessions, 0);
    assert.equal(a.stats().pendingHandshakes, 0);
    // A right address in another network is the same node: accepted (the binding is per node id).
    const s = await a.connect(Address.of(9, b.address.node), { endpoint: endpointOf(b), publicKey: b.publicKey });
    assert.ok(s.remoteAddress.equals(Address.of(9, b.address.node)));
    // Dialling a known session by a wrong address is refused too.
    await rejectsWith(a.connect(c.address, { endpoint: endpointOf(b), publicKey: b.publicKey }), 'ERR_HUBLESS_ADDRESS_MISMATCH');
  });
});

test('a wrong public key for an endpoint gets no answer: mac1 drops there, timeout here', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0], ...fast });
    const b = await set.open({ identity: ids[1] });
    await rejectsWith(a.connect(ids[2].publicKey, { endpoint: endpointOf(b), timeoutMs: 300 }), 'ERR_HUBLESS_HANDSHAKE_TIMEOUT');
    assert.ok(b.stats().drops.mac1 >= 2);
    assert.equal(b.stats().peers, 0);
    assert.equal(a.stats().peers, 0);
    assert.ok(a.stats().handshake.initiationsRetransmitted >= 1);
  });
});

test('a replayed or stale initiation is dropped and counted', async () => {
  const raw = await RawSocket.open();
  try {
    await withNodes(async (set) => {
      const a = await set.open({ identity: ids[0], handshakeRetryMs: 40, handshakeTimeoutMs: 5000 });
      const b = await set.open({ identity: ids[1] });
      // a dials b's key at the raw socket: we capture its initiations (the first and a retransmission).
      const pending = a.connect(b.publicKey, { endpoint: raw.endpoint, timeoutMs: 5000 }).catch(() => {});
      await until(() => raw.received.length >= 2, 2000, 'two initiations');
      const [first, second] = raw.received;
      raw.received.length = 0;
      await a.close();
      await pending;

      await raw.send(second, b.endpoint);
      await until(() => b.stats().handshake.responsesSent === 1, 2000, 'response to the newer one');
      await raw.send(second, b.endpoint); // exact replay
      await raw.send(first, b.endpoint); // older timestamp
      await until(() => b.stats().drops.replay === 2, 2000, 'two replay drops');
      assert.equal(b.stats().handshake.responsesSent, 1);
      await until(() => raw.received.length === 1);
      assert.equal(raw.received[0][1], PACKET_RESPONSE);
      assert.ok(raw.received[0].length < second.length, 'a response is smaller than the initiation');
      assert.equal(b.stats().replayGuardEntries, 1);
    });
  } finally {
    raw.close();
  }
});

test('simultaneous open ends in one session on each side, and the tie-break is counted', async () => {
  for (let round = 0; round < 3; round++) {
    await withNodes(async (set) => {
      const a = await set.open({ identity: ids[5 + 2 * round] });
      const b = await set.open({ identity: ids[6 + 2 * round] });
      const events = { a: 0, b: 0 };
      a.on('session', () => events.a++);
      b.on('session', () => events.b++);
      const [sa, sb] = await Promise.all([
        a.connect(b.publicKey, { endpoint: endpointOf(b) }),
        b.connect(a.publicKey, { endpoint: endpointOf(a) }),
      ]);
      assert.deepEqual(events, { a: 1, b: 1 });
      assert.deepEqual(a.sessions(), [sa]);
      assert.deepEqual(b.sessions(), [sb]);
      assert.equal(sa.initiator, !sb.initiator);
      const winner = Buffer.compare(a.publicKey, b.publicKey) > 0 ? a : b;
      assert.ok(winner.stats().drops.simultaneous >= 1);
      assert.equal((winner === a ? sa : sb).initiator, true);
      const gotA = collect(sa), gotB = collect(sb);
      sa.send(1, Buffer.from('a→b'));
      sb.send(1, Buffer.from('b→a'));
      await until(() => gotA.length === 1 && gotB.length === 1, 2000, 'traffic both ways');
      assert.equal(a.stats().transport.dropUnknownSession + b.stats().transport.dropUnknownSession, 0);
    });
  }
});

test('a restarted peer (new node, same key file) gets a fresh session at once and traffic resumes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hubless-restart-'));
  try {
    await withNodes(async (set) => {
      const keyFile = join(dir, 'a.key');
      const b = await set.open({ identity: ids[1] });
      const sessions: Session[] = [];
      b.on('session', (s) => sessions.push(s));
      const a1 = await set.open({ keyFile });
      const s1 = await a1.connect(b.address, { endpoint: endpointOf(b), publicKey: b.publicKey });
      await until(() => sessions.length === 1);
      const got1 = collect(sessions[0]);
      s1.send(4, Buffer.from('before'));
      await until(() => got1.length === 1);
      await a1.close();

      const a2 = await set.open({ keyFile });
      assert.ok(a2.address.equals(a1.address));
      const closed = new Promise<{ code?: string } | undefined>((r) => sessions[0].once('close', r));
      const t0 = performance.now();
      const s2 = await a2.connect(b.address, { endpoint: endpointOf(b), publicKey: b.publicKey });
      assert.ok(performance.now() - t0 < 500, 'no retransmission or timeout needed');
      assert.equal((await closed)?.code, 'ERR_HUBLESS_PEER_RESTARTED');
      assert.equal(sessions.length, 2);
      assert.equal(b.sessions().length, 1);
      const gotB = collect(sessions[1]), gotA = collect(s2);
      s2.send(4, Buffer.from('after'));
      sessions[1].send(4, Buffer.from('welcome back'));
      await until(() => gotB.length === 1 && gotA.length === 1, 2000, 'traffic after restart');
      assert.equal(gotB[0].data.toString(), 'after');
      assert.equal(gotA[0].data.toString(), 'welcome back');
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('allow-list and firewall refusals are dropped and counted; a node still dials refused peers', async () => {
  await withNodes(async (set) => {
    const [ia, ib, ic, id] = [ids[0], ids[1], ids[2], ids[3]];
    const a = await set.open({ identity: ia, ...fast });
    const c = await set.open({ identity: ic, ...fast });
    const b = await set.open({ identity: ib, allow: [ic.publicKey, randomBytes(32).toString('hex')] });
    await rejectsWith(a.connect(b.publicKey, { endpoint: endpointOf(b), timeoutMs: 300 }), 'ERR_HUBLESS_HANDSHAKE_TIMEOUT');
    assert.ok(b.stats().drops.refused >= 1);
    assert.equal(b.stats().sessions, 0);
    await c.connect(b.publicKey, { endpoint: endpointOf(b) });
    // b dials a itself: accepted whatever b's allow-list says.
    const ba = await b.connect(a.publicKey, { endpoint: endpointOf(a) });
    assert.ok(ba.remoteAddress.equals(a.address));

    const asked: string[] = [];
    const d = await set.open({
      identity: id,
      firewall: async (key, address) => {
        asked.push(`${key.toString('hex')} ${address.toString()}`);
        await sleep(1);
        return address.equals(c.address);
      },
    });
    await rejectsWith(a.connect(d.publicKey, { endpoint: endpointOf(d), timeoutMs: 300 }), 'ERR_HUBLESS_HANDSHAKE_TIMEOUT');
    assert.ok(d.stats().drops.refused >= 1);
    await c.connect(d.publicKey, { endpoint: endpointOf(d) });
    assert.ok(asked.includes(`${ia.publicKey.toString('hex')} ${ia.address.toString()}`));
    assert.ok(asked.includes(`${ic.publicKey.toString('hex')} ${ic.address.toString()}`));
    assert.deepEqual(d.sessions().map((s) => s.remoteAddress.toString()), [c.address.toString()]);

    // A throwing firewall refuses.
    const e = await set.open({ identity: ids[4], firewall: () => { throw new Error('boom'); } });
    await rejectsWith(a.connect(e.publicKey, { endpoint: endpointOf(e), timeoutMs: 200 }), 'ERR_HUBLESS_HANDSHAKE_TIMEOUT');
    assert.ok(e.stats().drops.refused >= 1);
    assert.equal(e.stats().handshake.errors, 0);
  });
});

test('malformed handshake packets are dropped and counted by reason, and the node keeps working', async () => {
  const raw = await RawSocket.open();
  try {
    await withNodes(async (set) => {
      const a = await set.open({ identity: ids[0] });
      const b = await set.open({ identity: ids[1] });
      const bLocal = RemoteStatic.fromPublicKey(b.publicKey)!;
      const clock = new Tai64nClock();
      const attacker = testKeys();
      const valid = (): Buffer => writeInitiation(testLocal(attacker), bLocal, 42, {
        rekey: false, aeads: 3, network: 0, nonce: 0, timestamp: clock.next(), publicKey: attacker.publicKey,
      }, null).body;
      const sent: Buffer[] = [];
      const send = (p: Buffer): void => void sent.push(p);

      for (let i = 0; i < 200; i++) send(randomBytes(1 + (i * 7) % 1300)); // not even hubless, mostly
      for (const n of [0, 1, 50, INITIATION_BYTES - 1, INITIATION_BYTES + 500, 1216]) {
        send(packet(PACKET_INITIATION, 0, randomBytes(n))); // wrong sizes, or right size without mac1
      }
      send(packet(PACKET_INITIATION, 0, randomBytes(INITIATION_BYTES)));
      send(packet(PACKET_INITIATION, 0, valid().subarray(0, INITIATION_BYTES - 1))); // truncated
      send(packet(PACKET_INITIATION, 7, valid())); // initiation with a receiver index
      const garbled = valid();
      garbled[60] ^= 1;
      writeMacs(garbled, PACKET_INITIATION, 0, bLocal.mac1Key, null); // valid mac1, broken Noise
      send(packet(PACKET_INITIATION, 0, garbled));
      const liar = writeInitiation(testLocal(attacker), bLocal, 42, {
        rekey: false, aeads: 3, network: 0, nonce: 0, timestamp: clock.next(), publicKey: testKeys().publicKey,
      }, null).body;
      send(packet(PACKET_INITIATION, 0, liar));
      const noAead = writeInitiation(testLocal(attacker), bLocal, 42, {
        rekey: false, aeads: 0, network: 0, nonce: 0, timestamp: clock.next(), publicKey: attacker.publicKey,
      }, null).body;
      send(packet(PACKET_INITIATION, 0, noAead));
      send(packet(PACKET_RESPONSE, 12345, randomBytes(96))); // nobody waits for it
      send(packet(PACKET_RESPONSE, 0, randomBytes(3)));
      send(packet(PACKET_COOKIE_REPLY, 12345, randomBytes(56)));
      send(packet(PACKET_COOKIE_REPLY, 12345, randomBytes(9)));
      for (const p of sent) await raw.send(p, b.endpoint);

      await until(() => {
        const d = b.stats().drops;
        return d.malformed >= 1 && d.mac1 >= 1 && d.decrypt >= 1 && d.keyMismatch >= 1 && d.payload >= 1 && d.unknownReceiver >= 2;
      }, 3000, 'drops by reason');
      const st = b.stats();
      // Sizes no handshake message has never reach JS: 6 wrong-size initiations, the truncated one,
      // the 3-byte response and the 9-byte cookie reply are dropped natively.
      assert.equal(st.transport.dropControlSize, 9);
      assert.equal(st.drops.malformed, 1); // the initiation with a receiver index
      assert.equal(st.drops.mac1, 1);
      assert.equal(st.drops.decrypt, 1);
      assert.equal(st.drops.keyMismatch, 1);
      assert.equal(st.drops.payload, 1);
      assert.equal(st.drops.unknownReceiver, 2); // a response and a cookie reply nobody waits for
      assert.equal(st.handshake.responsesSent, 0);
      assert.equal(st.handshake.errors, 0);
      assert.equal(st.peers, 0);
      assert.equal(st.replayGuardEntries, 0, 'no state for senders that failed authentication');
      assert.ok(st.transport.dropNotHubless > 0);
      assert.equal(raw.received.length, 0, 'nothing was answered');
      const s = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
      assert.ok(s.remoteAddress.equals(b.address));
    });
  } finally {
    raw.close();
  }
});

test('message listeners: once, off, and a throwing listener does not stop the others', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    await until(() => b.sessions().length === 1);
    const sb = b.sessions()[0];
    const got: string[] = [];
    const always = (d: Buffer): void => void got.push(`always ${d}`);
    sb.on('message', always);
    sb.once('message', (d) => got.push(`once ${d}`));
    sa.send(1, Buffer.from('1'));
    await until(() => got.length === 2);
    sa.send(1, Buffer.from('2'));
    await until(() => got.length === 3);
    sb.off('message', always);
    const portGot: string[] = [];
    b.listen(1, (m) => portGot.push(m.data.toString()));
    sa.send(1, Buffer.from('3'));
    await until(() => portGot.length === 1);
    assert.deepEqual(got, ['always 1', 'once 1', 'always 2']);

    const uncaught: string[] = [];
    const onUncaught = (e: Error): void => void uncaught.push(e.message);
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      sb.on('message', () => {
        throw new Error('listener bug');
      });
      sa.sendBatch(1, [Buffer.from('4'), Buffer.from('5')]);
      await until(() => portGot.length === 3 && uncaught.length === 2, 2000, 'delivery despite the throwing listener');
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of saved) process.on('uncaughtException', l);
    }
    assert.deepEqual(portGot, ['3', '4', '5']);

    // Event names that Object.prototype has are ordinary events on a session.
    assert.equal(sb.listenerCount('toString' as 'close'), 0);
    assert.equal(sb.listenerCount('constructor' as 'close'), 0);
    let ctor = 0;
    sb.on('constructor' as 'close', () => void ctor++);
    assert.equal(sb.emit('constructor' as 'close', undefined), true);
    assert.equal(ctor, 1);
    assert.equal(sb.emit('hasOwnProperty' as 'close', undefined), false);
    assert.deepEqual(sb.eventNames().filter((n) => (n as string) === 'constructor'), ['constructor']);
  });
});

test('mutated initiations, responses and cookie replies are all dropped; the genuine response still completes', async () => {
  const raw = await RawSocket.open();
  try {
    await withNodes(async (set) => {
      const a = await set.open({ identity: ids[0], handshakeRetryMs: 10_000 });
      const b = await set.open({ identity: ids[1] });
      // a dials b's key at the raw socket, which relays the initiation to b and holds b's response.
      const session = a.connect(b.publicKey, { endpoint: raw.endpoint, timeoutMs: 10_000 });
      await until(() => raw.received.length === 1, 2000, 'the initiation');
      const initiation = raw.received[0];
      await raw.send(initiation, b.endpoint);
      await until(() => raw.received.length === 2, 2000, 'the response');
      const response = raw.received[1];
      const receiver = response.readUInt32BE(4);

      // Bit flips anywhere but in mac2, which a version 1 response carries as zeros and nobody
      // reads (an initiation's mac2 only matters under load).
      const mutate = (p: Buffer, i: number): Buffer => {
        const m = Buffer.from(p);
        const flips = 1 + (i % 3);
        for (let f = 0; f < flips; f++) m[(i * 131 + f * 977) % (m.length - 16)] ^= 1 << ((i + f) % 8);
        return m;
      };
      for (let i = 0; i < 600; i++) {
        await raw.send(mutate(response, i), a.endpoint);
        await raw.send(mutate(initiation, i), b.endpoint);
      }
      for (let n = 0; n < 100; n++) {
        await raw.send(packet(PACKET_COOKIE_REPLY, receiver, randomBytes(56)), a.endpoint);
        await raw.send(packet(PACKET_RESPONSE, receiver, randomBytes(96)), a.endpoint);
        await raw.send(Buffer.concat([response, randomBytes(1 + n)]), a.endpoint);
        await raw.send(response.subarray(0, 16 + (n % 96)), a.endpoint);
      }
      await until(() => a.stats().handshake.responsesReceived >= 500 && b.stats().handshake.initiationsReceived >= 500, 3000, 'the flood handled');
      await sleep(50);
      assert.equal(a.stats().sessions, 0, 'no forged response completed the handshake');
      assert.equal(b.stats().handshake.responsesSent, 1, 'no mutated initiation was answered');
      assert.equal(a.stats().handshake.errors + b.stats().handshake.errors, 0);

      await raw.send(response, a.endpoint);
      const s = await session;
      assert.ok(s.remoteAddress.equals(b.address));
      // 1,000 forged packets reached a: dropped by the node, or before it by the native header checks.
      const d = a.stats().drops, tr = a.stats().transport;
      const native = tr.dropShort + tr.dropNotHubless + tr.dropVersion + tr.dropLength + tr.dropType;
      assert.equal(d.mac1 + d.decrypt + d.malformed + d.badCookie + d.unknownReceiver + native, 1000, JSON.stringify({ d, native }));
    });
  } finally {
    raw.close();
  }
});

test('API errors carry stable codes; close() is idempotent and rejects pending connects', async () => {
  const raw = await RawSocket.open();
  try {
    await withNodes(async (set) => {
      const a = await set.open({ identity: ids[0] });
      const b = await set.open({ identity: ids[1] });
      await rejectsWith(a.connect(b.address, { endpoint: endpointOf(b) }), 'ERR_HUBLESS_NO_ROUTE');
      await rejectsWith(a.connect(b.publicKey), 'ERR_HUBLESS_NO_ROUTE');
      await rejectsWith(a.connect(a.publicKey, { endpoint: endpointOf(b) }), 'ERR_HUBLESS_INVALID_ARGUMENT');
      await rejectsWith(a.connect(Buffer.alloc(31), { endpoint: endpointOf(b) }), 'ERR_HUBLESS_BAD_KEY');
      await rejectsWith(a.connect(Buffer.alloc(32), { endpoint: endpointOf(b) }), 'ERR_HUBLESS_BAD_KEY');
      await rejectsWith(a.connect('0:0000.0000.0001x'), 'ERR_HUBLESS_BAD_ADDRESS');
      await rejectsWith(a.connect(b.publicKey, { endpoint: { address: 'localhost', port: 1 } }), 'ERR_HUBLESS_INVALID_ARGUMENT');
      assert.throws(() => a.listen(0), { code: 'ERR_HUBLESS_BAD_PORT' });
      const l = a.listen(80);
      assert.throws(() => a.listen(80), { code: 'ERR_HUBLESS_PORT_IN_USE' });
      l.close();
      a.listen(80).close();

      const s = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
      assert.throws(() => s.send(1, Buffer.alloc(MAX_DATAGRAM_PAYLOAD + 1)), { code: 'ERR_HUBLESS_DATAGRAM_TOO_LARGE' });
      assert.throws(() => s.sendBatch(1, [Buffer.alloc(1), Buffer.alloc(1197)]), { code: 'ERR_HUBLESS_DATAGRAM_TOO_LARGE' });
      assert.throws(() => s.send(0, Buffer.alloc(1)), { code: 'ERR_HUBLESS_BAD_PORT' });
      assert.throws(() => s.send(65536, Buffer.alloc(1)), { code: 'ERR_HUBLESS_BAD_PORT' });
      assert.throws(() => s.send(1, Buffer.alloc(1), { srcPort: -1 }), { code: 'ERR_HUBLESS_BAD_PORT' });
      assert.throws(() => s.send(1, 'text' as unknown as Uint8Array), { code: 'ERR_HUBLESS_INVALID_ARGUMENT' });

      const iter = s.messages();
      const listener = a.listen(5);
      // Checked from the start: close() rejects it at once, and resolves only after the socket is released.
      const pendingConnect = rejectsWith(a.connect(ids[2].publicKey, { endpoint: raw.endpoint, timeoutMs: 10_000 }), 'ERR_HUBLESS_NODE_CLOSED');
      const closes: unknown[] = [];
      s.on('close', (e) => closes.push(e));
      await Promise.all([a.close(), a.close()]);
      await a.close();
      await pendingConnect;
      assert.deepEqual(closes, [undefined]);
      assert.equal(s.closed, true);
      assert.equal((await iter.next()).done, true);
      assert.equal((await listener[Symbol.asyncIterator]().next()).done, true);
      assert.throws(() => s.send(1, Buffer.alloc(1)), { code: 'ERR_HUBLESS_SESSION_CLOSED' });
      await rejectsWith(a.connect(b.publicKey, { endpoint: endpointOf(b) }), 'ERR_HUBLESS_NODE_CLOSED');
      assert.throws(() => a.listen(9), { code: 'ERR_HUBLESS_NODE_CLOSED' });
      assert.equal(ids[0].destroyed, false, 'an identity given by the caller is not destroyed');
    });
  } finally {
    raw.close();
  }
});

test('createNode with a key file creates it, keeps the address, and destroys its own identity on close', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hubless-node-'));
  try {
    const keyFile = join(dir, 'sub', 'id.key');
    const n1: Node = await createNode({ keyFile, listen: { host: '127.0.0.1' }, network: 3 });
    const addr = n1.address;
    assert.equal(addr.network, 3);
    await n1.close();
    const n2 = await createNode({ keyFile, listen: { host: '127.0.0.1' }, network: 3 });
    assert.ok(n2.address.equals(addr));
    await n2.close();
    await rejectsWith(createNode({ keyFile, listen: { host: '127.0.0.1' }, rekeyAfterMs: 200_000 }), 'ERR_HUBLESS_INVALID_ARGUMENT');
    await rejectsWith(createNode({ keyFile, identity: ids[0] }), 'ERR_HUBLESS_INVALID_ARGUMENT');
    await rejectsWith(createNode({ identity: ids[0], listen: { host: '127.0.0.1' }, transport: {} as Transport }), 'ERR_HUBLESS_INVALID_ARGUMENT');
    await rejectsWith(createNode({ identity: ids[0], algorithms: [] }), 'ERR_HUBLESS_INVALID_ARGUMENT');
    await rejectsWith(createNode({ identity: ids[0], allow: ['nothex'] }), 'ERR_HUBLESS_BAD_KEY');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
