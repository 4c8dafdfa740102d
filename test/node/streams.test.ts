// Streams through the public API: session.openStream / node.listen, request/response
// (node.handle / node.request), refusal, and streams that outlive rekeys.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Identity } from '../../src/identity/identity.js';
import type { Session } from '../../src/session/session.js';
import type { Stream } from '../../src/stream/stream.js';
import { HublessError } from '../../src/errors.js';
import { endpointOf, identities, rejectsWith, sleep, withNodes } from './helpers.js';
import { readAll, withTimeout, writeAll } from '../stream/helpers.js';

let ids: Identity[] = [];
before(async () => {
  ids = await identities(4);
});

test('session.openStream reaches node.listen(port) and carries bytes both ways', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    const listener = b.listen(7);
    const accepted = once(listener, 'stream') as Promise<[Stream, Session]>;
    const sa = await a.connect(b.address, { publicKey: b.publicKey, endpoint: endpointOf(b) });
    assert.equal(a.sessionTo(b.address), sa);
    assert.equal(a.sessionTo(b.address.toString()), sa);
    assert.equal(a.sessionTo(a.address), undefined);
    const s = sa.openStream(7);
    assert.equal(s.session, sa);
    const sent = writeAll(s, 2 << 20, 64 << 10);
    const [r, sb] = await withTimeout(accepted, 5000, 'incoming stream');
    assert.equal(r.session, sb);
    assert.equal(sb.remoteAddress.toString(), a.address.toString());
    assert.equal(r.localPort, 7);
    assert.equal(r.remotePort, s.localPort);
    const got = await withTimeout(readAll(r), 20_000, 'transfer');
    assert.equal(got.hash, await sent);
    // and back, on the same stream
    const back = writeAll(r, 100_000);
    const gotBack = await withTimeout(readAll(s), 10_000, 'reply');
    assert.equal(gotBack.hash, await back);
  });
});

test('streams() iterates incoming streams; a port nobody listens on refuses them', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    const listener = b.listen(9);
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    const first = listener.streams().next();
    sa.openStream(9).end('hi');
    const { value } = await withTimeout(first, 5000, 'streams()');
    const got = await readAll(value as Stream);
    assert.equal(got.bytes, 2);

    const refused = sa.openStream(10);
    refused.write('anyone there?');
    const [err] = await withTimeout(once(refused, 'error'), 5000, 'refusal') as [HublessError];
    assert.equal(err.code, 'ERR_HUBLESS_STREAM_REFUSED');
    assert.equal(b.stats().drops.streamsRefused, 1);
  });
});

test('node.handle / node.request: answers, remote errors keep their code, timeouts', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    b.handle(20, (req, { session }) => {
      const r = req as { op: string; x?: number };
      if (r.op === 'double') return { y: (r.x ?? 0) * 2, from: session.remoteAddress.toString() };
      if (r.op === 'slow') return sleep(2000).then(() => 'late');
      if (r.op === 'typed') throw new HublessError('ERR_HUBLESS_HOSTNAME_TAKEN', 'taken');
      throw new Error('no such op');
    });
    const target = { publicKey: b.publicKey, endpoint: endpointOf(b) };
    assert.deepEqual(await a.request(b.address, 20, { op: 'double', x: 21 }, target), { y: 42, from: a.address.toString() });
    // many at once on one session
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => a.request(b.address, 20, { op: 'double', x: i }, target)));
    assert.deepEqual(many.map((m) => (m as { y: number }).y), Array.from({ length: 50 }, (_, i) => 2 * i));
    try {
      await a.request(b.address, 20, { op: 'typed' }, target);
      assert.fail('should reject');
    } catch (err) {
      assert.equal((err as HublessError).code, 'ERR_HUBLESS_HOSTNAME_TAKEN');
      assert.equal((err as HublessError & { remote: boolean }).remote, true);
    }
    await rejectsWith(a.request(b.address, 20, { op: 'nope' }, target), 'ERR_HUBLESS_REMOTE_ERROR');
    await rejectsWith(a.request(b.address, 20, { op: 'slow' }, { ...target, timeoutMs: 200 }), 'ERR_HUBLESS_REQUEST_TIMEOUT');
    await rejectsWith(a.request(b.address, 21, 'x', target), 'ERR_HUBLESS_STREAM_REFUSED');
  });
});

test('session.request: large requests and answers in many pieces, answer limits, truncated and missing answers, abort, a session closed under it', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    // Echoes the request's length and a copy of it: a 1 MiB request (4 write pieces) and answer (many deliveries).
    b.handle(20, (req) => ({ n: (req as Buffer).length, back: req }), { maxRequestSize: 4 << 20 });
    const s = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const answers = await Promise.all([0, 1, 2].map(() => s.request(20, big) as Promise<{ n: number; back: Buffer }>));
    for (const r of answers) {
      assert.equal(r.n, big.length);
      assert.ok(Buffer.from(r.back).equals(big));
    }
    await rejectsWith(s.request(20, big, { maxResponseSize: 1000 }), 'ERR_HUBLESS_MESSAGE_TOO_LARGE');
    assert.equal((await s.request(20, Buffer.alloc(10)) as { n: number }).n, 10);  // the session carries on
    // Raw responders: half a message then FIN; FIN alone; bytes one at a time.
    const raw = b.listen(21);
    raw.on('stream', (st: Stream) => {
      st.once('data', (chunk: Buffer) => {
        const mode = chunk.readUInt8(chunk.length - 1);  // the request is msgpack of a small integer
        if (mode === 1) st.end(Buffer.from([0, 0, 0, 10, 0x92]));
        else if (mode === 2) st.end();
        else {
          const frame = Buffer.from([0, 0, 0, 3, 0x92, 0x00, 0x2a]);  // [0, 42]
          let i = 0;
          const next = (): void => {
            if (i < frame.length) st.write(frame.subarray(i, ++i), () => setTimeout(next, 2));
            else st.end();
          };
          next();
        }
      });
    });
    await rejectsWith(s.request(21, 1), 'ERR_HUBLESS_MESSAGE_TRUNCATED');
    await rejectsWith(s.request(21, 2), 'ERR_HUBLESS_MESSAGE_TRUNCATED');
    assert.equal(await s.request(21, 3), 42);
    // Abort: before sending and while waiting.
    const early = new AbortController();
    early.abort(new Error('early'));
    await rejectsWith(s.request(20, 1, { signal: early.signal }), 'ERR_HUBLESS_ABORTED');
    b.handle(22, () => sleep(5000));
    const late = new AbortController();
    const pending = s.request(22, 1, { signal: late.signal });
    setTimeout(() => late.abort(), 20);
    await rejectsWith(pending, 'ERR_HUBLESS_ABORTED');
    await rejectsWith(s.request(20, 1, { timeoutMs: 0 }), 'ERR_HUBLESS_INVALID_ARGUMENT');
    // The session closes with requests in flight: they fail at once, not at their timeout.
    const started = Date.now();
    const inFlight = [s.request(22, 1, { timeoutMs: 5000 }), s.request(22, 2, { timeoutMs: 5000 })];
    await sleep(20);
    s.close();
    for (const p of inFlight) {
      await assert.rejects(p, (err: HublessError) => err.code === 'ERR_HUBLESS_STREAM_CLOSED' || err.code === 'ERR_HUBLESS_SESSION_CLOSED');
    }
    assert.ok(Date.now() - started < 2000);
    await rejectsWith(s.request(20, 1), 'ERR_HUBLESS_SESSION_CLOSED');
  });
});

test('a request larger than the handler accepts is refused with ERR_HUBLESS_MESSAGE_TOO_LARGE', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    let calls = 0;
    b.handle(20, () => ++calls, { maxRequestSize: 1000 });
    const s = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    await rejectsWith(s.request(20, Buffer.alloc(5000)), 'ERR_HUBLESS_MESSAGE_TOO_LARGE');
    assert.equal(await s.request(20, Buffer.alloc(100)), 1);
    assert.equal(calls, 1);
  });
});

test('a stream survives many rekeys while data flows, byte-exact', async () => {
  await withNodes(async (set) => {
    const opts = { rekeyAfterMs: 150, rekeyGraceMs: 100 };
    const a = await set.open({ identity: ids[2], ...opts });
    const b = await set.open({ identity: ids[3], ...opts });
    const listener = b.listen(7);
    const accepted = once(listener, 'stream') as Promise<[Stream, Session]>;
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    const s = sa.openStream(7);
    const [r] = await (async () => {
      s.write('x');
      return withTimeout(accepted, 5000, 'incoming');
    })();
    const got = readAll(r);
    // Trickle data for ~2 s so that it spans many key switches on both sides.
    const block = Buffer.alloc(32 << 10, 7);
    let sent = 1;
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      if (!s.write(block)) await once(s, 'drain');
      sent += block.length;
      await sleep(5);
    }
    s.end();
    const result = await withTimeout(got, 20_000, 'transfer across rekeys');
    assert.equal(result.bytes, sent);
    assert.ok(sa.stats().rekeys >= 5, `${sa.stats().rekeys} rekeys`);
    const ts = a.stats().transport, tb = b.stats().transport;
    assert.equal(ts.dropAuth + tb.dropAuth, 0, 'no packet failed authentication');
  });
});

test('closing a session ends its streams; the peer restarting fails them with an error', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    b.listen(7).on('stream', (st) => st.resume());
    const sa = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    const s = sa.openStream(7);
    s.write('hello');
    let errored: unknown = null;
    s.on('error', (e) => (errored = e));
    const closed = once(s, 'close');
    sa.close();
    assert.equal(a.sessionTo(b.address), undefined, 'a closed session is not found by address');
    await withTimeout(closed, 2000, 'stream close');
    assert.equal(errored, null, 'a local close is not an error');
    assert.throws(() => sa.openStream(7), { code: 'ERR_HUBLESS_SESSION_CLOSED' });
  });
});

test('requests to a peer that restarted: the timeout starts a dead-peer check, then a fresh session answers', async () => {
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0], handshakeTimeoutMs: 600, handshakeRetryMs: 100 });
    const b1 = await set.open({ identity: ids[1] });
    const port = b1.endpoint.port;
    b1.handle(20, (x) => `first ${String(x)}`);
    const target = { publicKey: b1.publicKey, endpoint: { address: '127.0.0.1', port } };
    assert.equal(await a.request(b1.address, 20, 1, target), 'first 1');
    const stale = a.session(b1.publicKey)!;
    await b1.close();
    // The same identity comes back on the same port, knowing nothing of the old session.
    const b2 = await set.open({ identity: ids[1], listen: { host: '127.0.0.1', port } });  // close() released the port
    b2.handle(20, (x) => `second ${String(x)}`);
    await rejectsWith(a.request(b1.address, 20, 2, { ...target, timeoutMs: 300 }), 'ERR_HUBLESS_REQUEST_TIMEOUT');
    const [closeErr] = await withTimeout(once(stale, 'close'), 5000, 'the stale session closes') as [HublessError];
    assert.equal(closeErr.code, 'ERR_HUBLESS_HANDSHAKE_TIMEOUT');
    assert.ok(b2.stats().drops.noSession >= 1, 'the restarted peer refused the rekey');
    assert.equal(await a.request(b1.address, 20, 3, target), 'second 3');
  });
});

test('many short request streams on one session never exhaust its receive window', async () => {
  await withNodes(async (set) => {
    // A 1 MiB session window; 800 answers of 2 KB are 1.6 MB. A reader that stops at its last
    // message leaves bytes unreported: the freed stream must give them back to the session.
    const streams = { sessionWindow: 1 << 20 };
    const a = await set.open({ identity: ids[0], streams });
    const b = await set.open({ identity: ids[1], streams });
    b.handle(9, () => Buffer.alloc(2000, 1));
    const s = await a.connect(b.publicKey, { endpoint: endpointOf(b) });
    for (let i = 0; i < 800; i++) {
      const answer = await s.request(9, i, { timeoutMs: 5000 }) as Buffer;
      assert.equal(answer.length, 2000);
    }
    assert.equal(a.stats().streams.dropFlowControl, 0);
  });
});
