// The directory server's request handling over a real lmdb store, without sockets: every rule
// and every refusal (with its counter), so the network tests only need to prove the wiring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbStore } from '../../src/directory/store-lmdb.js';
import { DirectoryService, type DirectoryPeer, type DirectoryServiceOptions } from '../../src/directory/service.js';
import type { WatchMessage } from '../../src/directory/protocol.js';
import { verifyRecord } from '../../src/directory/record.js';
import { encodeMessage } from '../../src/stream/messages.js';
import { EncodedAnswer } from '../../src/stream/request.js';
import { newAgent, sign, waitFor, type Agent } from './helpers.js';

async function withService(fn: (s: DirectoryService) => Promise<void>, opts: Partial<DirectoryServiceOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hubless-svc-'));
  const store = openLmdbStore({ path: dir, sweepIntervalMs: 50 });
  const svc = new DirectoryService({ store, verifyBinding: async () => true, ...opts });
  try {
    await fn(svc);
  } finally {
    svc.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const peerOf = (a: Agent, host = '127.0.0.1'): DirectoryPeer => ({ publicKey: a.signer.publicKey, host, port: 4000 });

async function refuses(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: { code?: string }) => {
    assert.equal(err.code, code);
    return true;
  });
}

test('registers a record, then get, get by hostname and query return its verifiable bytes', async () => {
  await withService(async (svc) => {
    const a = newAgent();
    const rec = sign(a, { hostname: 'alpha.test', capabilities: [{ name: 'summarize', attributes: { lang: 'en' } }] });
    const lease = (await svc.handle({ v: 1, op: 'register', record: rec.bytes }, peerOf(a))) as { leaseUntil: number; leaseMs: number; observed: unknown };
    assert.equal(lease.leaseMs, 30_000);
    assert.deepEqual(lease.observed, { host: '127.0.0.1', port: 4000 });
    const viewer = peerOf(newAgent());
    const byAddr = (await svc.handle({ v: 1, op: 'get', address: a.address }, viewer)) as { record: Uint8Array };
    assert.equal(verifyRecord(byAddr.record).record.address, a.address);
    const byHost = (await svc.handle({ v: 1, op: 'get', hostname: 'alpha.test' }, viewer)) as { record: Uint8Array };
    assert.deepEqual(Buffer.from(byHost.record), Buffer.from(rec.bytes));
    const q = (await svc.handle({ v: 1, op: 'query', query: { capability: { name: 'summarize', attributes: { lang: 'en' } } } }, viewer)) as { records: Uint8Array[] };
    assert.equal(q.records.length, 1);
    // Records travel as msgpack bin (PROTOCOL.md), not as msgpackr's typed-array extension.
    for (const answer of [q, byHost]) {
      const frame = encodeMessage([0, answer]);
      const bin = Buffer.from([0xc5, (rec.bytes.length >> 8) & 0xff, rec.bytes.length & 0xff]);
      assert.ok(frame.includes(Buffer.concat([rec.bytes.length < 256 ? Buffer.from([0xc4, rec.bytes.length]) : bin, Buffer.from(rec.bytes.subarray(0, 8))])), 'a bin header before the record');
    }
    // The server's way: a page the store serves again comes as its encoded answer, the same bytes.
    const query = { v: 1, op: 'query', query: { capability: { name: 'summarize', attributes: { lang: 'en' } } } };
    await svc.handle(query, viewer, { encoded: true });
    const encoded = await svc.handle(query, viewer, { encoded: true });
    assert.ok(encoded instanceof EncodedAnswer, 'a repeated query is answered pre-encoded');
    assert.deepEqual(encoded.frame, encodeMessage([0, await svc.handle(query, viewer)]));
    assert.equal(await svc.handle(query, viewer, { encoded: true }), encoded, 'one encoding while the page is kept');
    const none = (await svc.handle({ v: 1, op: 'get', hostname: 'nobody.test' }, viewer)) as { record: null };
    assert.equal(none.record, null);
    assert.equal(svc.stats().answered, 9);
  });
});

test('hostile registrations each get their own code and counter, and the store stays intact', async () => {
  await withService(async (svc) => {
    const a = newAgent();
    const b = newAgent();
    await svc.handle({ v: 1, op: 'register', record: sign(a, { hostname: 'taken.test' }).bytes }, peerOf(a));
    // someone else's record
    await refuses(svc.handle({ v: 1, op: 'register', record: sign(b).bytes }, peerOf(a)), 'ERR_HUBLESS_NOT_OWNER');
    // bad signature
    const forged = new Uint8Array(sign(b).bytes);
    forged[forged.length - 1] ^= 1;
    await refuses(svc.handle({ v: 1, op: 'register', record: forged }, peerOf(b)), 'ERR_HUBLESS_BAD_SIGNATURE');
    // stale seq (a replay of a's first record)
    const old = sign(a, { hostname: 'taken.test' });
    await svc.handle({ v: 1, op: 'register', record: old.bytes }, peerOf(a));
    await refuses(svc.handle({ v: 1, op: 'register', record: old.bytes }, peerOf(a)), 'ERR_HUBLESS_STALE_RECORD');
    // hostname squatting
    await refuses(svc.handle({ v: 1, op: 'register', record: sign(b, { hostname: 'taken.test' }).bytes }, peerOf(b)), 'ERR_HUBLESS_HOSTNAME_TAKEN');
    // oversized and malformed records, malformed envelopes
    await refuses(svc.handle({ v: 1, op: 'register', record: new Uint8Array(9000) }, peerOf(b)), 'ERR_HUBLESS_RECORD_TOO_LARGE');
    await refuses(svc.handle({ v: 1, op: 'register', record: Buffer.from('c1c1c1c1'.repeat(20), 'hex') }, peerOf(b)), 'ERR_HUBLESS_BAD_RECORD');
    await refuses(svc.handle({ v: 2, op: 'get', address: a.address }, peerOf(b)), 'ERR_HUBLESS_BAD_REQUEST');
    await refuses(svc.handle('garbage', peerOf(b)), 'ERR_HUBLESS_BAD_REQUEST');
    await refuses(svc.handle({ v: 1, op: 'drop-tables' }, peerOf(b)), 'ERR_HUBLESS_BAD_REQUEST');
    await refuses(svc.handle({ v: 1, op: 'get', hostname: 'BAD..name' }, peerOf(b)), 'ERR_HUBLESS_BAD_QUERY');
    await refuses(svc.handle({ v: 1, op: 'query', query: { capability: 'x', evil: 1 } }, peerOf(b)), 'ERR_HUBLESS_BAD_QUERY');
    // bad binding
    const bad = new DirectoryService({ store: svc.store, verifyBinding: async () => false });
    await refuses(bad.handle({ v: 1, op: 'register', record: sign(b).bytes }, peerOf(b)), 'ERR_HUBLESS_BAD_BINDING');
    const s = svc.stats();
    for (const code of ['ERR_HUBLESS_NOT_OWNER', 'ERR_HUBLESS_BAD_SIGNATURE', 'ERR_HUBLESS_STALE_RECORD', 'ERR_HUBLESS_HOSTNAME_TAKEN',
      'ERR_HUBLESS_RECORD_TOO_LARGE', 'ERR_HUBLESS_BAD_RECORD', 'ERR_HUBLESS_BAD_QUERY']) {
      assert.ok(s.refused[code] >= 1, `counted ${code}`);
    }
    assert.equal(s.refused.ERR_HUBLESS_BAD_REQUEST, 3);
    assert.equal(s.requests.invalid, 3);
    const held = (await svc.handle({ v: 1, op: 'get', hostname: 'taken.test' }, peerOf(b))) as { record: Uint8Array };
    assert.equal(verifyRecord(held.record).record.seq, old.record.seq);
  });
});

test('a registration flood from one key, and from one source, is cut at the rate limit and counted', async () => {
  await withService(async (svc) => {
    const a = newAgent();
    let limited = 0;
    for (let i = 0; i < 30; i++) {
      try {
        await svc.handle({ v: 1, op: 'register', record: sign(a).bytes }, peerOf(a, `10.0.0.${i}`)); // one key, many sources
      } catch (err) {
        assert.equal((err as { code: string }).code, 'ERR_HUBLESS_RATE_LIMITED');
        limited++;
      }
    }
    assert.equal(limited, 10);
    // reads of that key still go through: separate buckets
    await svc.handle({ v: 1, op: 'get', address: a.address }, peerOf(a));
    // many keys from one source address
    let fromSource = 0;
    for (let i = 0; i < 12; i++) {
      const k = newAgent();
      try {
        await svc.handle({ v: 1, op: 'register', record: sign(k).bytes }, peerOf(k, '10.9.9.9'));
      } catch (err) {
        assert.equal((err as { code: string }).code, 'ERR_HUBLESS_RATE_LIMITED');
        fromSource++;
      }
    }
    assert.equal(fromSource, 7);
    assert.equal(svc.stats().refused.ERR_HUBLESS_RATE_LIMITED, limited + 7);
  }, { rateLimits: { writesPerKey: { perSecond: 0.001, burst: 20 }, writesPerSource: { perSecond: 0.001, burst: 5 } } });
});

test('heartbeats renew the lease; only the owner renews or deregisters; expired records leave', async () => {
  await withService(async (svc) => {
    const a = newAgent();
    const b = newAgent();
    await svc.handle({ v: 1, op: 'register', record: sign(a, { capabilities: [{ name: 'echo' }] }).bytes }, peerOf(a));
    await refuses(svc.handle({ v: 1, op: 'renew', address: a.address }, peerOf(b)), 'ERR_HUBLESS_NOT_OWNER');
    await refuses(svc.handle({ v: 1, op: 'deregister', address: a.address }, peerOf(b)), 'ERR_HUBLESS_NOT_OWNER');
    const find = async () => ((await svc.handle({ v: 1, op: 'query', query: { capability: 'echo' } }, peerOf(b))) as { records: unknown[] }).records.length;
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 120));
      await svc.handle({ v: 1, op: 'renew', address: a.address }, peerOf(a));
    }
    assert.equal(await find(), 1); // 480 ms > one lease: the heartbeats kept it
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await find(), 0);
    await refuses(svc.handle({ v: 1, op: 'renew', address: a.address }, peerOf(a)), 'ERR_HUBLESS_NOT_REGISTERED');
    await svc.handle({ v: 1, op: 'register', record: sign(a, { capabilities: [{ name: 'echo' }] }).bytes }, peerOf(a));
    assert.equal(await find(), 1);
    assert.deepEqual(await svc.handle({ v: 1, op: 'deregister', address: a.address }, peerOf(a)), { v: 1, removed: true });
    assert.equal(await find(), 0);
  }, { leaseMs: 200 });
});

test('private records resolve only for the owner and its trust list', async () => {
  await withService(async (svc) => {
    const a = newAgent();
    const friend = newAgent();
    const stranger = newAgent();
    await svc.handle({ v: 1, op: 'register', record: sign(a, { hostname: 'secret.test', visibility: 'private', trust: [friend.signer.publicKey] }).bytes }, peerOf(a));
    const get = async (p: Agent) => ((await svc.handle({ v: 1, op: 'get', hostname: 'secret.test' }, peerOf(p))) as { record: unknown }).record;
    assert.ok(await get(a));
    assert.ok(await get(friend));
    assert.equal(await get(stranger), null);
  });
});

test('a watch sends the current matches, then synced, then live changes; watches are capped per key', async () => {
  await withService(async (svc) => {
    const a = newAgent();
    const b = newAgent();
    await svc.handle({ v: 1, op: 'register', record: sign(a, { capabilities: [{ name: 'math.eval' }] }).bytes }, peerOf(a));
    const got: WatchMessage[] = [];
    const w = await svc.watch({ v: 1, op: 'watch', query: { capability: 'math.eval' }, initial: true }, peerOf(b), { send: (m) => got.push(m), close: () => {} });
    assert.deepEqual(got.map((m) => m.type), ['put', 'synced']);
    await svc.handle({ v: 1, op: 'register', record: sign(b, { capabilities: [{ name: 'math.eval' }] }).bytes }, peerOf(b));
    await svc.handle({ v: 1, op: 'deregister', address: a.address }, peerOf(a));
    await waitFor(() => got.length >= 4, 2000, 'watch events');
    assert.deepEqual(got.slice(2).map((m) => m.type), ['put', 'leave']);
    assert.equal(svc.stats().watches, 1);
    await refuses(svc.watch({ v: 1, op: 'watch', query: { capability: 'x' } }, peerOf(b), { send() {}, close() {} }), 'ERR_HUBLESS_TOO_MANY_WATCHES');
    await refuses(svc.watch({ v: 1, op: 'get' }, peerOf(a), { send() {}, close() {} }), 'ERR_HUBLESS_BAD_REQUEST');
    w.close();
    assert.equal(svc.stats().watches, 0);
  }, { maxWatchesPerKey: 1 });
});
