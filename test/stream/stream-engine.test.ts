// The native stream engine end to end over loopback: transfers under loss, reordering and
// duplication (test-only fault injection), many streams, flow control, half-close, reset,
// idle timeout and hostile frames. The file runs in well under a minute on 2 cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { nextStream, readAll, withStreamPair, withTimeout, writeAll } from './helpers.js';
import type { Stream } from '../../src/stream/stream.js';

const MiB = 1 << 20;

async function transfer(size: number, faults?: { loss: number; reorder: number; duplicate: number }) {
  let result: {
    bytes: number; maxData: number; ok: boolean; lost: number; spurious: number; seconds: number; detail: string;
  } | undefined;
  await withStreamPair(async ({ ha, hb, ia }) => {
    if (faults) ha.setFaults({ ...faults, seed: 42 });
    if (faults) hb.setFaults({ ...faults, seed: 43 });
    const incoming = nextStream(hb);
    const t0 = performance.now();
    const s = ha.openStream(ia, 7);
    const sent = writeAll(s, size);
    const r = await incoming;
    const got = await withTimeout(readAll(r), 120_000, `${size} bytes`);
    const maxData = got.maxChunk;
    const hash = await sent;
    const seconds = (performance.now() - t0) / 1000;
    const st = ha.sessionStats(ia)!;
    const detail = `${st.packetsLost} packets lost (${st.spuriousLosses} of them only reordered), ` +
      `${st.congestionEvents} congestion events (${st.congestionUndone} undone), ${st.ptoCount} probe timeouts`;
    result = { bytes: got.bytes, maxData, ok: got.hash === hash, lost: st.packetsLost, spurious: st.spuriousLosses, seconds, detail };
    r.end();
    s.resume();
    await withTimeout(once(s, 'end'), 10_000, 'reverse FIN');
  });
  return result!;
}

test('moves 64 MiB byte-exact with no loss, in data chunks of at most 64 KiB', async () => {
  const r = await transfer(64 * MiB);
  assert.equal(r.bytes, 64 * MiB);
  assert.ok(r.ok, 'hash matches');
  assert.ok(r.maxData <= 64 * 1024, `largest chunk ${r.maxData}`);
  console.log(`# 64 MiB, 0% loss: ${(64 / r.seconds).toFixed(0)} MiB/s (one process, both ends)`);
});

test('moves 64 MiB byte-exact at 1% loss with reordering and duplication', async () => {
  const r = await transfer(64 * MiB, { loss: 0.01, reorder: 0.01, duplicate: 0.01 });
  assert.equal(r.bytes, 64 * MiB);
  assert.ok(r.ok, 'hash matches');
  assert.ok(r.lost > 0, 'losses were detected and repaired');
  console.log(`# 64 MiB, 1% loss: ${(64 / r.seconds).toFixed(0)} MiB/s; ${r.detail}`);
});

test('moves 64 MiB byte-exact at 10% loss with reordering and duplication', async () => {
  const r = await transfer(64 * MiB, { loss: 0.1, reorder: 0.02, duplicate: 0.02 });
  assert.equal(r.bytes, 64 * MiB);
  assert.ok(r.ok, 'hash matches');
  assert.ok(r.lost > 0);
  console.log(`# 64 MiB, 10% loss: ${(64 / r.seconds).toFixed(0)} MiB/s; ${r.detail}`);
});

test('reordering alone: late packets first taken for lost are recognised as spurious, and nothing is lost for good', async () => {
  const r = await transfer(16 * MiB, { loss: 0, reorder: 0.02, duplicate: 0 });
  assert.equal(r.bytes, 16 * MiB);
  assert.ok(r.ok, 'hash matches');
  assert.ok(r.spurious > 0, `spurious losses recognised: ${r.detail}`);
  console.log(`# 16 MiB, 2% reordered: ${(16 / r.seconds).toFixed(0)} MiB/s; ${r.detail}`);
});

test('a path that goes dark for 100 ms: persistent congestion restarts the window, the transfer completes', async () => {
  await withStreamPair(async ({ ha, hb, ia }) => {
    const incoming = nextStream(hb);
    const s = ha.openStream(ia, 7);
    const sent = writeAll(s, 16 * MiB);
    const got = readAll(await incoming);
    await new Promise((res) => setTimeout(res, 30));
    ha.setFaults({ loss: 1, seed: 3 });  // every data packet and probe vanishes
    await new Promise((res) => setTimeout(res, 100));
    ha.setFaults(null);
    const r = await withTimeout(got, 30_000, 'transfer after the dark period');
    assert.equal(r.bytes, 16 * MiB);
    assert.equal(r.hash, await sent);
    const st = ha.sessionStats(ia)!;
    assert.ok(st.persistentCongestion >= 1, `persistent congestion declared: ${JSON.stringify(st)}`);
    console.log(`# dark for 100 ms: ${st.ptoCount} probe timeouts, ${st.packetsLost} packets lost, persistent congestion ${st.persistentCongestion}`);
  });
});

test('carries 64 concurrent streams on one session, each byte-exact', async () => {
  await withStreamPair(async ({ ha, hb, ia }) => {
    const n = 64, size = 256 * 1024;
    const got = new Map<number, Promise<{ hash: string; bytes: number }>>();
    hb.on('stream', (s: Stream) => got.set(s.remotePort, readAll(s)));
    const sent = new Map<number, Promise<string>>();
    const streams: Stream[] = [];
    for (let i = 0; i < n; i++) {
      const s = ha.openStream(ia, 9, 1000 + i);
      streams.push(s);
      sent.set(1000 + i, writeAll(s, size, 16 * 1024));
    }
    await withTimeout((async () => {
      while (got.size < n) await new Promise((r) => setTimeout(r, 5));
      for (const [port, p] of got) {
        const r = await p;
        assert.equal(r.bytes, size);
        assert.equal(r.hash, await sent.get(port));
      }
    })(), 60_000, 'all streams');
    assert.equal(hb.stats().dropStreamLimit, 0);
  });
});

test('a slow reader bounds memory: the writer is held back and everything arrives later', async () => {
  await withStreamPair(async ({ ha, hb, ia, ib }) => {
    const incoming = nextStream(hb);
    const s = ha.openStream(ia, 7);
    s.write(Buffer.alloc(1));
    const r = await incoming;
    r.pause();
    // Write far more than the windows (1 MiB stream, 4 MiB session) and send buffer (1 MiB).
    const total = 32 * MiB;
    let written = 0, blocked = false;
    const chunk = randomBytes(64 * 1024);
    while (written < total) {
      written += chunk.length;
      if (!s.write(chunk)) { blocked = true; break; }
    }
    assert.ok(blocked, 'write() returned false');
    await new Promise((res) => setTimeout(res, 300));
    // Receiver side holds at most its window (plus one read-ahead buffer) in JS.
    assert.ok(r.readableLength <= 1 * MiB + 64 * 1024 + 1, `reader buffered ${r.readableLength}`);
    const st = ha.sessionStats(ia)!;
    assert.ok(st.bytesSent <= 1 * MiB + 256 * 1024 + 1, `sent ${st.bytesSent} with a closed window`);
    assert.ok(hb.stats().dropFlowControl === 0);
    let got = 0;
    r.on('data', (c: Buffer) => { got += c.length; });
    r.resume();
    s.end();
    await withTimeout(once(r, 'end'), 20_000, 'end after resume');
    assert.equal(got, written + 1);
    assert.ok(ib > 0);
  });
});

test('half-closes in each direction independently', async () => {
  await withStreamPair(async ({ ha, hb, ia }) => {
    const incoming = nextStream(hb);
    const a = ha.openStream(ia, 7);
    a.end(Buffer.from('request'));
    const b = await incoming;
    const req = await readAll(b);
    assert.equal(req.bytes, 7);
    // a's write side is closed; b can still write back, then end.
    const reply = readAll(a);
    b.write(Buffer.from('reply part 1, '));
    await new Promise((r) => setTimeout(r, 20));
    b.end(Buffer.from('part 2'));
    const got = await withTimeout(reply, 5000, 'reply');
    assert.equal(got.bytes, 20);
    const closed = (s: Stream) => (s.closed ? Promise.resolve() : once(s, 'close'));
    await withTimeout(Promise.all([closed(a), closed(b)]), 5000, 'both closed');
    assert.equal(a.errored, null);
    assert.equal(b.errored, null);
  });
});

test('destroy(err) resets the stream; the peer sees ERR_HUBLESS_STREAM_RESET with the code', async () => {
  await withStreamPair(async ({ ha, hb, ia }) => {
    const incoming = nextStream(hb);
    const a = ha.openStream(ia, 7);
    a.write(Buffer.from('x'));
    const b = await incoming;
    b.resume();
    const err = Object.assign(new Error('abort'), { resetCode: 77 });
    a.on('error', () => {});
    a.destroy(err);
    const [e] = await withTimeout(once(b, 'error'), 5000, 'reset at peer') as [Error & { code: string; resetCode: number }];
    assert.equal(e.code, 'ERR_HUBLESS_STREAM_RESET');
    assert.equal(e.resetCode, 77);
  });
});

test('write after end fails with a code, natively too', async () => {
  await withStreamPair(async ({ ha, ia }) => {
    const a = ha.openStream(ia, 7);
    a.end();
    const [e] = await new Promise<[NodeJS.ErrnoException]>((resolve) => {
      a.on('error', (err) => resolve([err]));
      a.write(Buffer.from('late'));
    });
    assert.equal(e.code, 'ERR_STREAM_WRITE_AFTER_END');
  });
});

async function zeroWindowThenRead(loseUpdates: boolean) {
  await withStreamPair(async ({ ha, hb, ia }) => {
    const incoming = nextStream(hb);
    const a = ha.openStream(ia, 7);
    const total = 4 * MiB;
    const sent = writeAll(a, total, 64 * 1024);
    const b = await incoming;
    b.pause();
    await new Promise((r) => setTimeout(r, 200));
    const before = ha.sessionStats(ia)!.bytesSent;
    // The paused reader holds exactly one stream window; the sender is blocked at it.
    assert.equal(before, 256 * 1024, 'the sender had stopped at the window');
    assert.equal(b.readableLength, 256 * 1024);
    // Every packet from the receiver is lost while it starts reading: its window updates vanish.
    if (loseUpdates) hb.setFaults({ loss: 1, seed: 5 });
    const got = readAll(b);
    if (loseUpdates) {
      await new Promise((r) => setTimeout(r, 150));
      hb.setFaults(null);
      assert.ok(hb.stats().faultDropped > 0, 'window updates were lost');
    }
    const r = await withTimeout(got, 20_000, 'transfer after the window reopened');
    assert.equal(r.bytes, total);
    assert.equal(r.hash, await sent);
  }, { streamWindow: 256 * 1024, sessionWindow: 1 * MiB, sendHighWater: 256 * 1024 });
}

test('a reader that resumes with a full buffer at a closed window reopens the window', async () => {
  await zeroWindowThenRead(false);
});

test('a zero window stops the sender; lost window updates are recovered by probing', async () => {
  await zeroWindowThenRead(true);
});

async function refusedPastLimit(loseRefusal: boolean) {
  await withStreamPair(async ({ ha, hb, ia }) => {
    hb.on('stream', (s: Stream) => s.resume());
    const open = [ha.openStream(ia, 7), ha.openStream(ia, 7)];
    for (const s of open) s.write(Buffer.from('x'));
    await new Promise((r) => setTimeout(r, 50));
    // The receiver's refusal (RESET_STREAM + STOP_SENDING) is lost the first time.
    if (loseRefusal) hb.setFaults({ loss: 1, seed: 9 });
    const third = ha.openStream(ia, 7);
    const failed = once(third, 'error') as Promise<[Error & { code: string }]>;
    third.write(Buffer.from('one too many'));
    if (loseRefusal) {
      await new Promise((r) => setTimeout(r, 50));
      hb.setFaults(null);
      assert.ok(hb.stats().faultDropped > 0, 'the first refusal was lost');
    }
    const [e] = await withTimeout(failed, 5000, 'refusal');
    assert.equal(e.code, 'ERR_HUBLESS_STREAM_REFUSED');
    assert.ok(hb.stats().dropStreamLimit >= 1);
    for (const s of open) assert.equal(s.destroyed, false);
  }, { maxStreams: 2 });
}

test('a stream past the peer\'s live-stream limit is refused with ERR_HUBLESS_STREAM_REFUSED', async () => {
  await refusedPastLimit(false);
});

test('a lost refusal is sent again', async () => {
  await refusedPastLimit(true);
});

test('a peer that vanishes fails the stream with ERR_HUBLESS_STREAM_TIMEOUT', async () => {
  await withStreamPair(async ({ a: _a, b, ha, hb, ia }) => {
    const incoming = nextStream(hb);
    const s = ha.openStream(ia, 7);
    s.write(Buffer.from('hello'));
    (await incoming).resume();
    const t0 = Date.now();
    b.close();  // the peer disappears without a word
    const [e] = await withTimeout(once(s, 'error'), 5000, 'idle timeout') as [Error & { code: string }];
    assert.equal(e.code, 'ERR_HUBLESS_STREAM_TIMEOUT');
    assert.ok(Date.now() - t0 >= 250, 'not before the idle timeout');
    assert.equal(ha.stats().timeouts, 1);
  }, { idleTimeoutMs: 400, keepaliveMs: 100 });
});

test('keepalives hold an idle stream open past the idle timeout', async () => {
  await withStreamPair(async ({ ha, hb, ia }) => {
    const incoming = nextStream(hb);
    const s = ha.openStream(ia, 7);
    s.write(Buffer.from('hello'));
    const r = await incoming;
    r.resume();
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(s.destroyed, false);
    assert.equal(r.destroyed, false);
    assert.equal(ha.stats().timeouts + hb.stats().timeouts, 0);
  }, { idleTimeoutMs: 300, keepaliveMs: 50 });
});

test('hostile but authentic frames are counted and dropped; other streams carry on', async () => {
  await withStreamPair(async ({ ha, hb, ia }) => {
    const incoming = nextStream(hb);
    const s = ha.openStream(ia, 7);
    const sent = writeAll(s, 4 * MiB, 64 * 1024);
    const r = await incoming;
    const got = readAll(r);
    const frames: Buffer[] = [];
    for (let i = 0; i < 2000; i++) frames.push(randomBytes(1 + (i % 1200)));
    // Structured attacks: forged ACK past anything sent, absurd window, data past the window,
    // a stream past the id window, truncated frames, unknown types.
    const ack = Buffer.alloc(18); ack[0] = 0x02; ack.writeBigUInt64BE(1n << 60n, 1);
    const maxData = Buffer.alloc(9); maxData[0] = 0x04; maxData.writeBigUInt64BE(0xffffffffffffffffn, 1);
    const past = Buffer.alloc(20 + 10); past[0] = 0x03; past[1] = 0x02; past.writeUInt32BE(2, 2);
    past.writeBigUInt64BE(1n << 40n, 6); past.writeUInt16BE(10, 14); past.writeUInt16BE(7, 16);
    const far = Buffer.alloc(20); far[0] = 0x03; far[1] = 0x02; far.writeUInt32BE(2 * 100000, 2);
    frames.push(ack, maxData, past, far, Buffer.from([0x03, 0x00]), Buffer.from([0x7f]), Buffer.from([0x05, 1]));
    for (const f of frames) ha.injectPlaintext(ia, f);
    const res = await withTimeout(got, 30_000, 'transfer beside hostile frames');
    assert.equal(res.hash, await sent);
    const st = hb.stats();
    const drops = st.dropMalformed + st.dropUnknownFrame + st.dropAck + st.dropFlowControl + st.dropStreamLimit + st.dropNoOpen;
    assert.ok(drops > 100, `drops counted: ${JSON.stringify(st)}`);
    assert.ok(st.dropAck >= 1);
    assert.ok(st.dropFlowControl >= 1);
    assert.ok(st.dropStreamLimit >= 1);
  });
});

test('messages: length-prefixed msgpack both ways, with a size limit checked before decoding', async () => {
  await withStreamPair(async ({ ha, hb, ia }) => {
    const incoming = nextStream(hb);
    const a = ha.openStream(ia, 7);
    await a.sendMessage({ hello: 'world', n: 1 });
    await a.sendMessage([1, 2, 3]);
    await a.sendMessage({ big: Buffer.alloc(100_000, 7) });
    a.end();
    const b = await incoming;
    const got: unknown[] = [];
    for await (const m of b.messages()) got.push(m);
    assert.deepEqual(got[0], { hello: 'world', n: 1 });
    assert.deepEqual(got[1], [1, 2, 3]);
    assert.equal((got[2] as { big: Uint8Array }).big.length, 100_000);

    const incoming2 = nextStream(hb);
    const c = ha.openStream(ia, 8);
    c.on('error', () => {});
    await c.sendMessage({ big: Buffer.alloc(10_000) });
    const d = await incoming2;
    d.on('error', () => {});
    await assert.rejects(async () => {
      for await (const _ of d.messages({ maxMessageSize: 1000 })) { /* nothing */ }
    }, { code: 'ERR_HUBLESS_MESSAGE_TOO_LARGE' });
  });
});
