// One body of contract tests, run against every DirectoryStore implementation
// (store-lmdb.test.ts, store-redis.test.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hasCode, type HublessErrorCode } from '../../src/errors.js';
import type { ChangeEvent, DirectoryStore, SignalBus } from '../../src/directory/store.js';
import type { DirectoryQuery } from '../../src/directory/query.js';
import { fakeClock, newAgent, newSigner, sign, waitFor, type Agent } from './helpers.js';

export interface StoreHarness {
  store: DirectoryStore & SignalBus;
  clock: ReturnType<typeof fakeClock>;
  close(): Promise<void>;
}

/** Creates a fresh, empty store with a fake clock (sweeping only when the test asks). */
export type StoreFactory = () => Promise<StoreHarness>;

const code = (c: string) => (e: unknown) => hasCode(e as Error, c as HublessErrorCode);

async function collect(store: DirectoryStore, query: DirectoryQuery, view = {}) {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.query({ ...query, ...(cursor ? { cursor } : {}) }, view);
    out.push(...page.records.map((r) => r.record.address));
    cursor = page.cursor;
    if (!cursor) return out;
  }
  throw new Error('too many pages');
}

function recorder(store: DirectoryStore, query: DirectoryQuery, view = {}) {
  const events: ChangeEvent[] = [];
  const watch = store.watch(query, (e) => events.push(e), view);
  return { events, watch };
}

export function storeContract(factory: StoreFactory): void {
  async function withStore(fn: (h: StoreHarness) => Promise<void>) {
    const h = await factory();
    try {
      await fn(h);
    } finally {
      await h.close();
    }
  }
  const put = (h: StoreHarness, a: Agent, fields = {}, ttl = 60_000) => h.store.put(sign(a, fields, h.clock.now(), ttl));

  it('stores, gets, resolves hostnames and queries by capability and group', () => withStore(async (h) => {
    const a = newAgent();
    const res = await put(h, a, { hostname: 'alice', capabilities: [{ name: 'summarize', attributes: { lang: 'en' } }], groups: ['eu'] });
    assert.equal(res.previous, undefined);
    assert.equal((await h.store.get(a.address))?.record.hostname, 'alice');
    assert.equal((await h.store.getByHostname('alice'))?.record.address, a.address);
    assert.equal(await h.store.getByHostname('bob'), undefined);
    assert.equal(await h.store.get(a.address.replace(/^0:0000/, '1:0001')), undefined, 'exact address, not just node id');
    assert.deepEqual(await collect(h.store, { capability: { name: 'summarize', attributes: { lang: 'en' } } }), [a.address]);
    assert.deepEqual(await collect(h.store, { capability: { name: 'summarize', attributes: { lang: 'de' } } }), []);
    assert.deepEqual(await collect(h.store, { group: 'eu' }), [a.address]);
    assert.deepEqual(await collect(h.store, { hostname: 'alice' }), [a.address]);
    assert.deepEqual(await collect(h.store, { address: a.address }), [a.address]);
    assert.deepEqual(await collect(h.store, {}), [a.address]);
    const got = await h.store.get(a.address);
    assert.ok(got && got.bytes.length > 64);
  }));

  it('accepts only increasing sequence numbers per key, and re-indexes on update', () => withStore(async (h) => {
    const a = newAgent();
    const first = sign(a, { capabilities: [{ name: 'old.skill' }], hostname: 'moving' }, h.clock.now());
    await h.store.put(first);
    await assert.rejects(h.store.put(first), code('ERR_HUBLESS_STALE_RECORD'), 'equal seq (replay)');
    const second = sign(a, { capabilities: [{ name: 'new.skill' }], hostname: 'moved', endpoints: [{ host: '10.0.0.2', port: 9, kind: 'local' }] }, h.clock.now());
    const res = await h.store.put(second);
    assert.equal(res.previous?.record.seq, first.record.seq);
    a.seq = 0;
    await assert.rejects(put(h, a), code('ERR_HUBLESS_STALE_RECORD'), 'lower seq');
    assert.deepEqual(await collect(h.store, { capability: 'old.skill' }), []);
    assert.deepEqual(await collect(h.store, { capability: 'new.skill' }), [a.address]);
    assert.equal(await h.store.getByHostname('moving'), undefined, 'old hostname released');
    assert.equal((await h.store.getByHostname('moved'))?.record.endpoints[0].host, '10.0.0.2');
  }));

  it('refuses hostname squatting while the holder is live, frees it on expiry', () => withStore(async (h) => {
    const alice = newAgent();
    const mallory = newAgent();
    await put(h, alice, { hostname: 'alice' }, 10_000);
    await assert.rejects(put(h, mallory, { hostname: 'alice' }), code('ERR_HUBLESS_HOSTNAME_TAKEN'));
    assert.equal(await h.store.get(mallory.address), undefined, 'a refused put stores nothing');
    // The same key under another node id may carry its own hostname across.
    const alice2: Agent = { signer: alice.signer, address: newAgent().address, seq: 0 };
    await put(h, alice2, { hostname: 'alice' });
    assert.equal((await h.store.getByHostname('alice'))?.record.address, alice2.address);
    // After every holder expired, someone else may take it; the old owner then gets refused.
    const bob = newAgent();
    await put(h, bob, { hostname: 'bobby' }, 5_000);
    h.clock.advance(5_000);
    assert.equal(await h.store.getByHostname('bobby'), undefined, 'expired holder no longer resolves');
    await put(h, mallory, { hostname: 'bobby' });
    assert.equal((await h.store.getByHostname('bobby'))?.record.address, mallory.address);
    await assert.rejects(put(h, bob, { hostname: 'bobby' }), code('ERR_HUBLESS_HOSTNAME_TAKEN'));
  }));

  it('refuses a second key for a live node id', () => withStore(async (h) => {
    const a = newAgent();
    await put(h, a, {}, 5_000);
    const impostor: Agent = { signer: newSigner(), address: a.address, seq: 100 };
    await assert.rejects(put(h, impostor), code('ERR_HUBLESS_ADDRESS_TAKEN'));
    assert.deepEqual(Buffer.from((await h.store.get(a.address))!.record.publicKey), Buffer.from(a.signer.publicKey));
    // Another network, same node id: still the same node id.
    const other: Agent = { signer: newSigner(), address: a.address.replace(/^0:0000/, '7:0007'), seq: 0 };
    await assert.rejects(put(h, other), code('ERR_HUBLESS_ADDRESS_TAKEN'));
    h.clock.advance(5_000);
    await put(h, impostor);
    assert.deepEqual(Buffer.from((await h.store.get(a.address))!.record.publicKey), Buffer.from(impostor.signer.publicKey));
  }));

  it('leases: expired records leave reads at once, renew extends up to expiresAt, sweep deletes', () => withStore(async (h) => {
    const a = newAgent();
    const b = newAgent();
    const t0 = h.clock.now();
    await h.store.put(sign(a, { capabilities: [{ name: 'lease.test' }] }, t0, 60_000), { leaseUntil: t0 + 1_000 });
    await put(h, b, { capabilities: [{ name: 'lease.test' }] }, 60_000);
    const w = recorder(h.store, { capability: 'lease.test' });
    h.clock.advance(900);
    assert.equal(await h.store.renew(a.address, h.clock.now() + 2_000), true);
    h.clock.advance(1_500);
    assert.ok(await h.store.get(a.address), 'renewed lease still live');
    assert.equal(await h.store.renew(a.address, t0 + 10 * 60_000), true);
    h.clock.set(t0 + 60_000 - 1);
    assert.ok(await h.store.get(a.address), 'renewal capped at the signed expiry, which is not reached yet');
    h.clock.set(t0 + 60_000);
    assert.equal(await h.store.get(a.address), undefined, 'signed expiry reached');
    assert.deepEqual(await collect(h.store, { capability: 'lease.test' }), [], 'both expired now');
    assert.equal(await h.store.renew(a.address, h.clock.now() + 1_000), false, 'an expired lease cannot be renewed');
    assert.equal(await h.store.sweep(), 2);
    // (Redis delivers events asynchronously: the watch may also see the puts made just before it.)
    const leaves = () => w.events.filter((e) => e.type === 'leave');
    await waitFor(() => leaves().length === 2, 3000, 'expired events');
    assert.deepEqual(leaves().map((e) => e.type === 'leave' && e.reason), ['expired', 'expired']);
    assert.equal(await h.store.sweep(), 0);
    // Gone for good: the owner's seq history is gone too, but a fresh record is accepted.
    await put(h, a);
    assert.ok(await h.store.get(a.address));
    w.watch.close();
  }));

  it('refuses records that are already expired', () => withStore(async (h) => {
    const a = newAgent();
    const past = sign(a, {}, h.clock.now() - 20_000, 10_000);
    await assert.rejects(h.store.put(past), code('ERR_HUBLESS_RECORD_EXPIRED'));
    await assert.rejects(h.store.put(sign(a, {}, h.clock.now()), { leaseUntil: h.clock.now() }), code('ERR_HUBLESS_RECORD_EXPIRED'));
  }));

  it('remove deregisters and frees the hostname', () => withStore(async (h) => {
    const a = newAgent();
    await put(h, a, { hostname: 'gone', capabilities: [{ name: 'x' }], groups: ['g'] });
    const w = recorder(h.store, { group: 'g' });
    assert.equal(await h.store.remove(a.address), true);
    assert.equal(await h.store.remove(a.address), false);
    assert.equal(await h.store.get(a.address), undefined);
    assert.equal(await h.store.getByHostname('gone'), undefined);
    assert.deepEqual(await collect(h.store, { capability: 'x' }), []);
    const leaves = () => w.events.filter((e) => e.type === 'leave');
    await waitFor(() => leaves().length === 1, 3000, 'removed event');
    assert.deepEqual(leaves()[0], { type: 'leave', key: leaves()[0].key, address: a.address, reason: 'removed' });
    await put(h, newAgent(), { hostname: 'gone' });
    w.watch.close();
  }));

  it('watch reports puts that match, and leaves when an update stops matching', () => withStore(async (h) => {
    const a = newAgent();
    const other = newAgent();
    const w = recorder(h.store, { capability: { name: 'summarize', attributes: { lang: 'en' } } });
    await put(h, other, { capabilities: [{ name: 'unrelated' }] });
    await put(h, a, { capabilities: [{ name: 'summarize', attributes: { lang: 'en' } }] });
    await waitFor(() => w.events.length >= 1, 3000, 'put event');
    await put(h, a, { capabilities: [{ name: 'summarize', attributes: { lang: 'en' } }], endpoints: [{ host: '10.1.1.1', port: 5, kind: 'reflexive' }] });
    await waitFor(() => w.events.length >= 2, 3000, 'update event');
    await put(h, a, { capabilities: [{ name: 'summarize', attributes: { lang: 'de' } }] });
    await waitFor(() => w.events.length >= 3, 3000, 'leave event');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(w.events.map((e) => [e.type, e.address, e.type === 'leave' ? e.reason : e.record.record.seq]), [
      ['put', a.address, 1], ['put', a.address, 2], ['leave', a.address, 'changed'],
    ]);
    w.watch.close();
    await put(h, a, { capabilities: [{ name: 'summarize', attributes: { lang: 'en' } }] });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(w.events.length, 3, 'closed watch gets nothing');
  }));

  it('private records resolve only for their owner and trusted keys', () => withStore(async (h) => {
    const friend = newSigner();
    const a = newAgent();
    await put(h, a, { hostname: 'hidden', visibility: 'private', trust: [friend.publicKey], capabilities: [{ name: 'secret.op' }] });
    const stranger = { viewer: newSigner().publicKey };
    assert.equal(await h.store.get(a.address), undefined);
    assert.equal(await h.store.get(a.address, stranger), undefined);
    assert.equal(await h.store.getByHostname('hidden', stranger), undefined);
    assert.deepEqual(await collect(h.store, { capability: 'secret.op' }, stranger), []);
    assert.ok(await h.store.get(a.address, { viewer: friend.publicKey }));
    assert.ok(await h.store.getByHostname('hidden', { viewer: a.signer.publicKey }));
    assert.deepEqual(await collect(h.store, { capability: 'secret.op' }, { viewer: friend.publicKey }), [a.address]);
    const ws = recorder(h.store, { capability: 'secret.op' }, stranger);
    const wf = recorder(h.store, { capability: 'secret.op' }, { viewer: friend.publicKey });
    await put(h, a, { visibility: 'private', trust: [friend.publicKey], capabilities: [{ name: 'secret.op' }] });
    await waitFor(() => wf.events.some((e) => e.type === 'put' && e.record.record.seq === 2), 3000, 'trusted watch event');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ws.events.length, 0, 'a stranger sees no event for a private record');
    ws.watch.close();
    wf.watch.close();
  }));

  it('a repeated query sees every change at once: puts, updates, removals, lease ends, viewers', () => withStore(async (h) => {
    // The lmdb store reuses the page of an identical query until something changes: it must never
    // serve one that went stale.
    const sorted = (l: string[]) => [...l].sort();
    const q = { capability: 'repeat.op' };
    const t0 = h.clock.now();
    const [a, b, c] = [newAgent(), newAgent(), newAgent()];
    await h.store.put(sign(a, { capabilities: [{ name: 'repeat.op' }] }, t0, 60_000), { leaseUntil: t0 + 1_000 });
    await put(h, b, { capabilities: [{ name: 'repeat.op' }] });
    assert.deepEqual(sorted(await collect(h.store, q)), sorted([a.address, b.address]));
    const page = await h.store.query(q);
    assert.deepEqual(sorted(page.records.map((r) => r.record.address)), sorted([a.address, b.address]), 'same answer again');
    page.records.length = 0; // callers own the page they get
    assert.equal((await h.store.query(q)).records.length, 2);
    h.clock.advance(1_000); // a's lease ends (no sweep)
    assert.deepEqual(await collect(h.store, q), [b.address]);
    assert.equal(await h.store.renew(b.address, h.clock.now() + 30_000), true);
    assert.deepEqual(await collect(h.store, q), [b.address]);
    await put(h, c, { capabilities: [{ name: 'repeat.op' }] });
    assert.deepEqual(sorted(await collect(h.store, q)), sorted([b.address, c.address]));
    await put(h, b, { capabilities: [{ name: 'other.op' }] });
    assert.deepEqual(await collect(h.store, q), [c.address]);
    assert.equal(await h.store.remove(c.address), true);
    assert.deepEqual(await collect(h.store, q), []);
    const friend = newSigner();
    const stranger = { viewer: newSigner().publicKey };
    const d = newAgent();
    await put(h, d, { visibility: 'private', trust: [friend.publicKey], capabilities: [{ name: 'repeat.op' }] });
    assert.deepEqual(await collect(h.store, q, stranger), []);
    assert.deepEqual(await collect(h.store, q, { viewer: friend.publicKey }), [d.address]);
    assert.deepEqual(await collect(h.store, q, stranger), []);
    assert.deepEqual(await collect(h.store, q, { viewer: friend.publicKey }), [d.address]);
  }));

  it('pages through indexes and scans: every record exactly once, in order', () => withStore(async (h) => {
    const agents = Array.from({ length: 41 }, () => newAgent());
    for (const [i, a] of agents.entries()) {
      await put(h, a, { capabilities: [{ name: i % 2 ? 'odd' : 'even', attributes: { i } }, ...(i % 5 === 0 ? [{ name: 'five' }] : [])], groups: i % 3 === 0 ? ['three'] : [] });
    }
    const byAddr = (f: (i: number) => boolean) => agents.filter((_, i) => f(i)).map((a) => a.address).sort();
    for (const limit of [1, 3, 10, 50]) {
      assert.deepEqual(await collect(h.store, { capability: 'odd', limit }), byAddr((i) => i % 2 === 1));
      assert.deepEqual(await collect(h.store, { anyOf: ['five', 'odd'], limit }), byAddr((i) => i % 2 === 1 || i % 5 === 0));
      assert.deepEqual(await collect(h.store, { group: 'three', limit }), byAddr((i) => i % 3 === 0));
      assert.deepEqual(await collect(h.store, { limit }), byAddr(() => true));
    }
    assert.deepEqual(await collect(h.store, { allOf: ['even', 'five'], group: 'three' }), byAddr((i) => i % 30 === 0));
    assert.deepEqual(await collect(h.store, { capability: { name: 'even', attributes: { i: { gte: 10, lt: 20 } } } }), byAddr((i) => i % 2 === 0 && i >= 10 && i < 20));
    await assert.rejects(h.store.query({ limit: 0 }), code('ERR_HUBLESS_BAD_QUERY'));
    assert.throws(() => h.store.watch({ capability: 'Bad' }, () => {}), code('ERR_HUBLESS_BAD_QUERY'));
    assert.throws(() => h.store.watch(null as never, () => {}), code('ERR_HUBLESS_BAD_QUERY'));
    await assert.rejects(h.store.get('not an address'), code('ERR_HUBLESS_BAD_QUERY'));
  }));

  it('routes signals to subscribers of the channel', () => withStore(async (h) => {
    const got: string[] = [];
    const off = await h.store.onSignal('punch:0000abcd', (p) => got.push(p.toString()));
    await h.store.publishSignal('punch:0000abcd', Buffer.from('hello'));
    await h.store.publishSignal('punch:other', Buffer.from('not for us'));
    await waitFor(() => got.length === 1, 3000, 'signal');
    await off();
    await h.store.publishSignal('punch:0000abcd', Buffer.from('after unsubscribe'));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, ['hello']);
    await assert.rejects(h.store.publishSignal('bad channel!', Buffer.alloc(1)), code('ERR_HUBLESS_BAD_ARGUMENT'));
    await assert.rejects(h.store.renew(newAgent().address, 1.5), code('ERR_HUBLESS_BAD_ARGUMENT'));
  }));

  it('refuses use after close', async () => {
    const h = await factory();
    await h.close();
    await assert.rejects(h.store.put(sign(newAgent(), {}, h.clock.now())), code('ERR_HUBLESS_STORE_CLOSED'));
    await assert.rejects(h.store.query({}), code('ERR_HUBLESS_STORE_CLOSED'));
    await h.store.close();
  });
}
