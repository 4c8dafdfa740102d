import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Identity } from '../../src/identity/identity.js';
import type { Node } from '../../src/node/node.js';
import type { Session } from '../../src/session/session.js';
import { endpointOf, identities, RawSocket, sleep, until, withNodes } from './helpers.js';

let ids: Identity[] = [];
before(async () => {
  ids = await identities(6);
});

/** Counts every datagram by sequence number; duplicates are counted too. */
class Tally {
  readonly seen: Uint8Array;
  received = 0;
  duplicates = 0;

  constructor(total: number, session: Session) {
    this.seen = new Uint8Array(total);
    session.on('message', (data) => {
      const seq = data.readUInt32BE(0);
      if (this.seen[seq] === 1) this.duplicates++;
      this.seen[seq] = 1;
      this.received++;
    });
  }
}

/** Sends `total` numbered datagrams in batches, never more than `window` ahead of the receiver. */
async function pump(session: Session, total: number, tally: Tally, batch = 40, window = 1500): Promise<void> {
  let seq = 0;
  while (seq < total) {
    if (seq - tally.received > window) {
      await sleep(1);
      continue;
    }
    const n = Math.min(batch, total - seq);
    const datagrams = Array.from({ length: n }, (_, i) => {
      const d = Buffer.alloc(64);
      d.writeUInt32BE(seq + i, 0);
      return d;
    });
    session.sendBatch(9, datagrams);
    seq += n;
    await new Promise((r) => setImmediate(r));
  }
}

function assertNoDataPlaneDrops(...nodes: Node[]): void {
  for (const n of nodes) {
    const t = n.stats().transport;
    assert.equal(t.dropUnknownSession, 0, 'no packet for a removed index');
    assert.equal(t.dropNoKey, 0, 'no packet for an index without keys');
    assert.equal(t.dropAuth, 0);
    assert.equal(t.dropReplay, 0);
    assert.equal(n.stats().handshake.errors, 0);
  }
}

test('rekey by volume under continuous traffic both ways loses nothing on loopback', async (t) => {
  await withNodes(async (set) => {
    const opts = { rekeyAfterPackets: 400, rekeyGraceMs: 1000 };
    const a = await set.open({ identity: ids[0], ...opts });
    const b = await set.open({ identity: ids[1], ...opts });
    const incoming = new Promise<Session>((r) => b.once('session', r));
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    const sb = await incoming;
    const total = 12_000;
    const atB = new Tally(total, sb), atA = new Tally(total, sa);
    await Promise.all([pump(sa, total, atB), pump(sb, total, atA)]);
    await until(() => atB.received >= total && atA.received >= total, 10_000, 'every datagram');
    await sleep(20);
    assert.equal(atB.received, total);
    assert.equal(atA.received, total);
    assert.equal(atB.duplicates + atA.duplicates, 0);
    assert.ok(atB.seen.every((x) => x === 1) && atA.seen.every((x) => x === 1));
    const ra = sa.stats().rekeys, rb = sb.stats().rekeys;
    t.diagnostic(`rekeys: a ${ra}, b ${rb}; collisions resolved by tie-break: ${a.stats().drops.simultaneous + b.stats().drops.simultaneous}`);
    assert.ok(ra >= 20 && rb >= 20, `${ra} and ${rb} rekeys`);
    assert.equal(ra, rb);
    assertNoDataPlaneDrops(a, b);
    assert.equal(a.sessions().length, 1);
    assert.equal(b.sessions().length, 1);
    // Replaced keys go once the grace period is over.
    await until(() => sa.stats().installedKeys === 1 && sb.stats().installedKeys === 1, 3000, 'old keys removed');
  });
});

test('rekey by time under continuous traffic; old keys are retired after the grace period', async () => {
  await withNodes(async (set) => {
    const opts = { rekeyAfterMs: 150, rekeyGraceMs: 100 };
    const a = await set.open({ identity: ids[2], ...opts });
    const b = await set.open({ identity: ids[3], ...opts });
    const incoming = new Promise<Session>((r) => b.once('session', r));
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    const sb = await incoming;
    const total = 4000;
    const atB = new Tally(total, sb);
    let sent = 0;
    const started = Date.now();
    while (Date.now() - started < 1300) {
      const d = Buffer.alloc(32);
      for (let i = 0; i < 10 && sent < total; i++) {
        d.writeUInt32BE(sent++, 0);
        sa.send(9, d);
      }
      await sleep(3);
    }
    await until(() => atB.received === sent, 3000, 'every datagram');
    assert.equal(atB.duplicates, 0);
    const st = sa.stats();
    assert.ok(st.rekeys >= 5, `${st.rekeys} rekeys in 1.3 s`);
    assert.ok(st.keyAgeMs < 400, `key age ${st.keyAgeMs} ms`);
    assertNoDataPlaneDrops(a, b);
    await until(() => sa.stats().installedKeys <= 2 && sb.stats().installedKeys <= 2, 1000, 'retired keys');
  });
});

test('a session whose peer vanished closes when its rekey gets no answer', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0], rekeyAfterMs: 100, handshakeTimeoutMs: 300, handshakeRetryMs: 50 });
    const b = await set.open({ identity: ids[1] });
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    const closed = new Promise<{ code?: string } | undefined>((r) => sa.once('close', r));
    await b.close();
    const t0 = Date.now();
    assert.equal((await closed)?.code, 'ERR_HUBLESS_HANDSHAKE_TIMEOUT');
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(a.stats().sessions, 0);
    assert.equal(a.stats().peers, 0);
  });
});

test('a new incoming session holds early sends until the initiator\'s first packet, then flushes them', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[4] });
    const b = await set.open({ identity: ids[5] });
    b.on('session', (s) => {
      assert.equal(s.stats().confirmed, false);
      s.send(3, Buffer.from('early 1'));
      s.sendBatch(3, [Buffer.from('early 2'), Buffer.from('early 3')]);
    });
    const got: string[] = [];
    a.listen(3, (m) => got.push(m.data.toString()));
    await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    await until(() => got.length === 3, 2000, 'staged datagrams');
    assert.deepEqual(got, ['early 1', 'early 2', 'early 3']);
    assert.equal(b.sessions()[0].stats().confirmed, true);
    assertNoDataPlaneDrops(a, b);
  });
});

test('an incoming session that is never confirmed (a replayed-elsewhere initiation) expires', async () => {
  const raw = await RawSocket.open();
  try {
    await withNodes(async (set) => {
      const a = await set.open({ identity: ids[0], handshakeTimeoutMs: 5000 });
      const b = await set.open({ identity: ids[1], handshakeTimeoutMs: 200 });
      const pending = a.connect(b.publicKey, { endpoint: raw.endpoint, timeoutMs: 5000 }).catch(() => {});
      await until(() => raw.received.length >= 1, 2000, 'an initiation');
      await a.close();
      await pending;
      const session = new Promise<Session>((r) => b.once('session', r));
      await raw.send(raw.received[0], b.endpoint);
      const s = await session;
      const closed = await new Promise<{ code?: string } | undefined>((r) => s.once('close', r));
      assert.equal(closed?.code, 'ERR_HUBLESS_HANDSHAKE_TIMEOUT');
      assert.equal(b.stats().sessions, 0);
    });
  } finally {
    raw.close();
  }
});

test('one-way traffic: the receiver sends passive keepalives, so the sender never suspects it', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0], keepaliveMs: 100 });
    const b = await set.open({ identity: ids[1], keepaliveMs: 100 });
    const incoming = new Promise<Session>((r) => b.once('session', r));
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    const sb = await incoming;
    let got = 0;
    sb.on('message', () => got++);
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 1000) {
      sa.send(2, Buffer.from('tick'));
      sent++;
      await sleep(20);
    }
    await until(() => got === sent, 1000);
    assert.ok(b.stats().handshake.keepalivesSent >= 3, `${b.stats().handshake.keepalivesSent} passive keepalives`);
    assert.equal(a.stats().handshake.deadPeerChecks, 0);
    assert.equal(sa.stats().rekeys, 0);
    assert.equal(sa.closed, false);
  });
});

test('a peer that restarted without a word is noticed: data goes unanswered, the check is refused, the session closes', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[2], keepaliveMs: 100, handshakeTimeoutMs: 300, handshakeRetryMs: 50 });
    const b1 = await set.open({ identity: ids[3] });
    const port = b1.endpoint.port;
    const sa = await a.connect(b1.publicKey, { endpoint: endpointOf(b1) });
    await b1.close();
    let b2: Node | undefined;
    for (let tries = 0; b2 === undefined; tries++) {
      try {
        b2 = await set.open({ identity: ids[3], listen: { host: '127.0.0.1', port } });
      } catch (err) {
        if (tries > 100 || (err as { code?: string }).code !== 'ERR_HUBLESS_ADDRESS_IN_USE') throw err;
        await sleep(10); // the old socket's close completes on the next loop turns
      }
    }
    const closed = new Promise<{ code?: string } | undefined>((r) => sa.once('close', r));
    const timer = setInterval(() => {
      if (!sa.closed) sa.send(2, Buffer.from('anyone there?'));
    }, 20);
    try {
      assert.equal((await closed)?.code, 'ERR_HUBLESS_HANDSHAKE_TIMEOUT');
    } finally {
      clearInterval(timer);
    }
    assert.ok(a.stats().handshake.deadPeerChecks >= 1);
    assert.ok(b2.stats().drops.noSession >= 1, 'the restarted peer refused a rekey of a session it does not know');
    assert.ok(b2.stats().transport.dropUnknownSession > 0);
    // The application reconnects and gets a fresh session with the restarted peer.
    const fresh = await a.connect(b2.publicKey, { endpoint: endpointOf(b2) });
    assert.notEqual(fresh, sa);
    const got: string[] = [];
    b2.listen(2, (m) => got.push(m.data.toString()));
    fresh.send(2, Buffer.from('hello again'));
    await until(() => got.length === 1);
  });
});
