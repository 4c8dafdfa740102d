// The directory end to end through the public API: a directory server (in this process, or a
// child for crashes), agents made with createNode({ directory, capabilities, hostname }), and a
// coordinator that finds, resolves, watches and connects by hostname over encrypted sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity } from '../../src/identity/identity.js';
import { createNode, type Node } from '../../src/node/node.js';
import type { NodeOptions } from '../../src/node/options.js';
import { startDirectoryServer, type DirectoryServer, type DirectoryServerOptions } from '../../src/directory/server.js';
import { DIRECTORY_PORT, DIRECTORY_WATCH_PORT } from '../../src/directory/protocol.js';
import { signRecord } from '../../src/directory/record.js';
import type { DirectoryWatchEvent } from '../../src/directory/client.js';
import { Children, fixture } from './fixtures/children.js';
import { waitFor } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'hubless-dir-e2e-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let ids: Identity[] = [];
before(async () => {
  ids = await Promise.all(Array.from({ length: 8 }, () => Identity.generate()));
});

class World {
  readonly nodes: Node[] = [];
  readonly servers: DirectoryServer[] = [];
  readonly children = new Children();
  async directory(o: DirectoryServerOptions = {}): Promise<DirectoryServer> {
    const s = await startDirectoryServer({
      identity: await Identity.generate(), listen: { host: '127.0.0.1', port: 0 },
      store: `lmdb:${mkdtempSync(join(tmp, 'db-'))}`, ...o,
    });
    this.servers.push(s);
    return s;
  }
  async node(o: NodeOptions): Promise<Node> {
    const n = await createNode({ listen: { host: '127.0.0.1' }, ...o });
    this.nodes.push(n);
    return n;
  }
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
    await Promise.all(this.servers.map((s) => s.close()));
    await this.children.killAll();
  }
}

async function world(fn: (w: World) => Promise<void>): Promise<void> {
  const w = new World();
  try {
    await fn(w);
  } finally {
    await w.close();
  }
}

test('agents register; a coordinator finds them by capability, resolves, connects by hostname and watches', async () => {
  await world(async (w) => {
    const dir = await w.directory();
    const directory = [dir.entry];
    const summarizer = await w.node({
      identity: ids[0], directory, hostname: 'summarizer.local',
      capabilities: [{ name: 'summarize', attributes: { lang: 'en', maxChars: 4096 } }],
    });
    summarizer.handle(100, (req) => `summary of ${String(req)}`);
    await w.node({ identity: ids[1], directory, capabilities: [{ name: 'summarize', attributes: { lang: 'fr' } }, 'math.eval'] });
    const coord = await w.node({ identity: ids[2], directory });
    assert.ok(summarizer.directory?.registration?.registered);

    const en = await coord.find({ capability: { name: 'summarize', attributes: { lang: 'en' } } });
    assert.deepEqual(en.records.map((r) => r.address), [summarizer.address.toString()]);
    const big = await coord.find({ capability: { name: 'summarize', attributes: { maxChars: { gte: 1000 } } } });
    assert.equal(big.records.length, 1);
    const any = await coord.find({ anyOf: ['math.eval', 'summarize'] });
    assert.equal(any.records.length, 2);
    const paged = await coord.find({ capability: 'summarize', limit: 1 });
    assert.equal(paged.records.length, 1);
    assert.ok(paged.cursor);
    const rest = await coord.find({ capability: 'summarize', limit: 1, cursor: paged.cursor });
    assert.notEqual(rest.records[0].address, paged.records[0].address);

    const byName = await coord.resolve('summarizer.local');
    assert.equal(byName.address, summarizer.address.toString());
    assert.deepEqual(byName.endpoints, [{ host: '127.0.0.1', port: summarizer.endpoint.port, kind: 'local' }]);
    assert.equal((await coord.resolve(summarizer.address.toString())).hostname, 'summarizer.local');
    await assert.rejects(coord.resolve('nobody.local'), { code: 'ERR_HUBLESS_NOT_FOUND' });

    // connect and request by hostname: key and endpoint come from the verified record
    assert.equal(await coord.request('summarizer.local', 100, 'text', { timeoutMs: 5000 }), 'summary of text');
    const session = await coord.connect(summarizer.address);
    assert.equal(session.remoteAddress.toString(), summarizer.address.toString());

    // watch: the current matches, then changes
    const watch = coord.watch({ capability: 'translate' });
    const events: DirectoryWatchEvent[] = [];
    watch.on('put', (e) => events.push(e));
    watch.on('leave', (e) => events.push(e));
    await watch.ready;
    const translator = await w.node({ identity: ids[3], directory, capabilities: [{ name: 'translate', attributes: { from: 'en', to: 'fr' } }] });
    await waitFor(() => events.length >= 1, 5000, 'put event');
    assert.equal(events[0].type, 'put');
    assert.equal(events[0].address, translator.address.toString());
    await translator.close(); // deregisters
    await waitFor(() => events.length >= 2, 5000, 'leave event');
    assert.deepEqual(events[1], { type: 'leave', address: translator.address.toString(), reason: 'removed' });
    // the iterator sees the same events
    const it = watch[Symbol.asyncIterator]();
    assert.equal((await it.next()).value.type, 'put');
    assert.equal((await it.next()).value.type, 'leave');
    watch.close();
    await waitFor(() => dir.stats().watches === 0, 2000, 'the server to end the watch');
  });
});

test('leases end without heartbeats (the record leaves queries and watches see it expire); an agent that moves keeps its address', async () => {
  await world(async (w) => {
    const dir = await w.directory({ leaseMs: 600 });
    const keyFile = join(tmp, 'mover.key');
    const coord = await w.node({ identity: ids[4], directory: [dir.entry] });
    const watch = coord.watch({ capability: 'mover' });
    const events: DirectoryWatchEvent[] = [];
    watch.on('put', (e) => events.push(e));
    watch.on('leave', (e) => events.push(e));
    await watch.ready;
    const args = (port: number) => [JSON.stringify({ keyFile, directory: [dir.entry], port, hostname: 'mover.local', capabilities: ['mover'] })];
    const first = await w.children.start<{ address: string; port: number }>(fixture('agent.ts'), args(0));
    // heartbeats (every lease/3) keep it present well past one lease
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await coord.find({ capability: 'mover' })).records.length, 1);
    assert.equal(await coord.request('mover.local', 100, 'hi', { timeoutMs: 5000 }), 'HI');
    await first.kill(); // kill -9: no deregistration, the lease runs out
    const t0 = Date.now();
    await waitFor(() => events.some((e) => e.type === 'leave'), 5000, 'expiry');
    assert.ok(Date.now() - t0 < 3000, 'gone within the lease (0.6 s) plus a sweep period (1 s) and some slack');
    assert.deepEqual(events.at(-1), { type: 'leave', address: first.ready.address, reason: 'expired' });
    assert.equal((await coord.find({ capability: 'mover' })).records.length, 0);
    await assert.rejects(coord.resolve('mover.local'), { code: 'ERR_HUBLESS_NOT_FOUND' });
    // the same key file on another port: same address, new endpoint, reachable again by hostname
    const moved = await w.children.start<{ address: string; port: number }>(fixture('agent.ts'), args(0));
    assert.equal(moved.ready.address, first.ready.address);
    assert.notEqual(moved.ready.port, first.ready.port);
    const r = await coord.resolve('mover.local');
    assert.equal(r.endpoints[0].port, moved.ready.port);
    assert.ok(r.seq > (events.find((e) => e.type === 'put') as { record: { seq: number } }).record.seq);
    for (const s of coord.sessions()) if (s.remoteAddress.toString() === first.ready.address) s.close();
    assert.equal(await coord.request('mover.local', 100, 'back', { timeoutMs: 5000 }), 'BACK');
    watch.close();
  });
});

test('hostile input over the network: each refusal has a clear error and a counter, and the directory keeps serving', async () => {
  await world(async (w) => {
    const dir = await w.directory({ rateLimits: { writesPerKey: { perSecond: 1, burst: 10 } } });
    const owner = await w.node({ identity: ids[5], directory: [dir.entry], hostname: 'taken.local', capabilities: ['echo'] });
    // hostname squatting through the public API: createNode fails and says why
    await assert.rejects(w.node({ identity: ids[6], directory: [dir.entry], hostname: 'taken.local' }), { code: 'ERR_HUBLESS_HOSTNAME_TAKEN' });
    const raw = await w.node({ identity: ids[6] });
    const session = await raw.connect(dir.publicKey, { endpoint: { address: '127.0.0.1', port: dir.endpoint.port } });
    const req = (payload: unknown) => session.request(DIRECTORY_PORT, payload, { timeoutMs: 5000 });
    const signer = { publicKey: new Uint8Array(ids[6].publicKey), sign: (m: Uint8Array) => ids[6].sign(m) };
    const record = (seq: number, extra = {}) => signRecord({ address: ids[6].address.toString(), nonce: ids[6].nonce, seq, expiresAt: Date.now() + 60_000, ...extra }, signer);
    // oversized request: refused by the stream layer before decoding
    await assert.rejects(req({ v: 1, op: 'register', record: new Uint8Array(64 << 10) }), { code: 'ERR_HUBLESS_MESSAGE_TOO_LARGE' });
    // malformed msgpack on a raw stream
    const s = session.openStream(DIRECTORY_PORT);
    const bad = Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]);
    const failed = new Promise<Error>((resolve) => s.once('error', resolve));
    s.end(bad);
    assert.equal(((await failed) as { code?: string }).code, 'ERR_HUBLESS_MESSAGE_INVALID');
    // not a directory request, bad signature, stale seq, squatting the hostname with a raw record
    await assert.rejects(req({ v: 1, op: 'nope' }), { code: 'ERR_HUBLESS_BAD_REQUEST', remote: true });
    const forged = new Uint8Array(record(Date.now()).bytes);
    forged[forged.length - 5] ^= 0x40;
    await assert.rejects(req({ v: 1, op: 'register', record: forged }), { code: 'ERR_HUBLESS_BAD_SIGNATURE' });
    const r1 = record(Date.now());
    await req({ v: 1, op: 'register', record: r1.bytes });
    await assert.rejects(req({ v: 1, op: 'register', record: r1.bytes }), { code: 'ERR_HUBLESS_STALE_RECORD' });
    await assert.rejects(req({ v: 1, op: 'register', record: record(Date.now() + 1, { hostname: 'taken.local' }).bytes }), { code: 'ERR_HUBLESS_HOSTNAME_TAKEN' });
    // someone else's record
    await assert.rejects(req({ v: 1, op: 'renew', address: owner.address.toString() }), { code: 'ERR_HUBLESS_NOT_OWNER' });
    // a flood of registrations from one key
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => req({ v: 1, op: 'register', record: record(Date.now() + 10 + i).bytes })));
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'ERR_HUBLESS_RATE_LIMITED');
    assert.ok(limited.length >= 10, `${limited.length} rate limited`);
    // a watch with a bad query is refused with its reason
    const ws = session.openStream(DIRECTORY_WATCH_PORT);
    await ws.sendMessage({ v: 1, op: 'watch', query: { capability: 'NOT VALID' } });
    const first = await ws.messages().next();
    assert.equal((first.value as { code: string }).code, 'ERR_HUBLESS_BAD_QUERY');
    const stats = dir.stats();
    for (const code of ['ERR_HUBLESS_MESSAGE_TOO_LARGE', 'ERR_HUBLESS_MESSAGE_INVALID', 'ERR_HUBLESS_BAD_REQUEST', 'ERR_HUBLESS_BAD_SIGNATURE',
      'ERR_HUBLESS_STALE_RECORD', 'ERR_HUBLESS_HOSTNAME_TAKEN', 'ERR_HUBLESS_NOT_OWNER', 'ERR_HUBLESS_RATE_LIMITED', 'ERR_HUBLESS_BAD_QUERY']) {
      assert.ok((stats.refused[code] ?? 0) >= 1, `${code} counted: ${JSON.stringify(stats.refused)}`);
    }
    // still serving, store intact
    const coord = await w.node({ identity: ids[7], directory: [dir.entry], register: false });
    assert.equal((await coord.resolve('taken.local')).address, owner.address.toString());
    assert.equal((await coord.find({ capability: 'echo' })).records.length, 1);
  });
});

test('an agent started while its directory is down starts anyway, and registers once the directory is back', async () => {
  await world(async (w) => {
    const identity = await Identity.generate();
    const storePath = mkdtempSync(join(tmp, 'db-'));
    const first = await startDirectoryServer({ identity, listen: { host: '127.0.0.1', port: 0 }, store: `lmdb:${storePath}` });
    const { entry } = first;
    const port = first.endpoint.port;
    await first.close();
    const t0 = Date.now();
    const agent = await w.node({ identity: ids[4], directory: [entry], capabilities: ['patient'] });
    assert.ok(Date.now() - t0 < 3000, 'createNode does not wait long for an absent directory (two 700 ms tries)');
    assert.equal(agent.directory!.registration!.registered, false);
    await assert.rejects(agent.find({ capability: 'patient' }), (err: { code: string; message: string }) =>
      err.code === 'ERR_HUBLESS_DIRECTORY_UNAVAILABLE' && /no directory answered/.test(err.message));
    const again = await w.directory({ identity, listen: { host: '127.0.0.1', port }, store: `lmdb:${storePath}` });
    assert.equal(again.entry, entry);
    await waitFor(() => agent.directory!.registration!.registered, 8000, 'the registration to go through');
    assert.equal((await agent.find({ capability: 'patient' })).records.length, 1);
  });
});

test('private records resolve only for trusted keys; groups filter; connect tries a record\'s endpoints in order', async () => {
  await world(async (w) => {
    const dir = await w.directory();
    const directory = [dir.entry];
    const [secretId, friendId, strangerId, multiId] = await Promise.all(Array.from({ length: 4 }, () => Identity.generate()));
    await w.node({
      identity: secretId, directory, hostname: 'secret.test', capabilities: ['vault'], groups: ['ops'],
      visibility: 'private', trust: [friendId.publicKey.toString('hex')],
    });
    const friend = await w.node({ identity: friendId, directory, register: false });
    const stranger = await w.node({ identity: strangerId, directory, register: false });
    assert.equal((await friend.resolve('secret.test')).address, secretId.address.toString());
    assert.equal((await friend.find({ capability: 'vault', group: 'ops' })).records.length, 1);
    assert.equal((await friend.find({ capability: 'vault', group: 'dev' })).records.length, 0);
    await assert.rejects(stranger.resolve('secret.test'), { code: 'ERR_HUBLESS_NOT_FOUND' });
    assert.equal((await stranger.find({ capability: 'vault' })).records.length, 0);
    await assert.rejects(stranger.connect('secret.test'), { code: 'ERR_HUBLESS_NOT_FOUND' });

    // a record whose first endpoint is dead: connect moves on to the next one
    const multi = await w.node({ identity: multiId, directory, register: false });
    multi.handle(100, () => 'here');
    const dead = { host: '127.0.0.1', port: 9, kind: 'local' as const };
    const live = { host: '127.0.0.1', port: multi.endpoint.port, kind: 'local' as const };
    await multi.directory!.client.register(signRecord(
      { address: multiId.address.toString(), nonce: multiId.nonce, hostname: 'multi.test', seq: Date.now(), expiresAt: Date.now() + 60_000, endpoints: [dead, live] },
      { publicKey: new Uint8Array(multiId.publicKey), sign: (m) => multiId.sign(m) },
    ));
    const t0 = Date.now();
    assert.equal(await friend.request('multi.test', 100, 'hi', { timeoutMs: 4000 }), 'here');
    assert.ok(Date.now() - t0 >= 500, 'the dead endpoint was tried first');
  });
});
