// The directory client: failover between replicas (with an injected transport), and through
// real sessions: a rogue directory's tampered records are rejected, and a directory that cannot
// prove it holds the pinned key is never used.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HublessError } from '../../src/errors.js';
import { Identity } from '../../src/identity/identity.js';
import { createNode, type Node } from '../../src/node/node.js';
import { DirectoryClient, type DirectoryTransport } from '../../src/directory/client.js';
import { formatEntry, parseEntry, type ResolvedEntry } from '../../src/directory/entry.js';
import { DIRECTORY_PORT } from '../../src/directory/protocol.js';
import { signRecord } from '../../src/directory/record.js';
import { startDirectoryServer } from '../../src/directory/server.js';
import { newAgent, sign } from './helpers.js';

const KEY = 'ab'.repeat(32);
const entries = [1, 2, 3].map((i) => parseEntry(`${KEY.slice(0, 62)}0${i}@127.0.0.${i}:4900`));

test('directory entries parse strictly', () => {
  const e = parseEntry(`${KEY}@[::1]:4900`);
  assert.deepEqual(e.endpoint, { address: '::1', port: 4900 });
  assert.equal(e.label, `${KEY}@[::1]:4900`);
  for (const bad of [`${KEY}@localhost:4900`, `${KEY}@1.2.3.4`, `${KEY}@1.2.3.4:0`, `${KEY}@1.2.3.4:65536`, `${KEY}@1.2.3.4:04900`,
    `${KEY.slice(2)}@1.2.3.4:1`, `${KEY}@::1:4900`, `${KEY}@999.2.3.4:1`, `zz${KEY.slice(2)}@1.2.3.4:1`]) {
    assert.throws(() => parseEntry(bad), { code: 'ERR_HUBLESS_BAD_DIRECTORY_ENTRY' }, bad);
  }
});

function fakeTransport(answer: (e: ResolvedEntry, payload: unknown) => unknown | Promise<unknown>): DirectoryTransport & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async request(e, payload, timeoutMs) {
      calls.push(e.endpoint.address);
      const a = answer(e, payload);
      if (a === 'hang') {
        await new Promise((r) => setTimeout(r, timeoutMs));
        throw new HublessError('ERR_HUBLESS_REQUEST_TIMEOUT', 'timeout');
      }
      return a;
    },
    async openWatch() {
      throw new HublessError('ERR_HUBLESS_REQUEST_TIMEOUT', 'no');
    },
  };
}

test('a dead replica costs one timeout, then the client sticks to the next one; refusals are not retried elsewhere', async () => {
  const a = newAgent();
  const rec = sign(a);
  const dead = new Set(['127.0.0.1']);
  const t = fakeTransport((e) => (dead.has(e.endpoint.address) ? 'hang' : { v: 1, record: rec.bytes }));
  const client = new DirectoryClient({ entries, transport: t, requestTimeoutMs: 100, verifyBinding: async () => true });
  const t0 = Date.now();
  assert.equal((await client.get(a.address))?.record.address, a.address);
  assert.ok(Date.now() - t0 < 400);
  assert.deepEqual(t.calls, ['127.0.0.1', '127.0.0.2']);
  await client.get(a.address);
  assert.deepEqual(t.calls.slice(2), ['127.0.0.2']); // sticky, the dead one is not tried first
  assert.equal(client.stats().failovers, 1);
  // a refusal is an answer
  const refusing = fakeTransport(() => {
    const err = new HublessError('ERR_HUBLESS_HOSTNAME_TAKEN', 'taken');
    (err as HublessError & { remote: boolean }).remote = true;
    throw err;
  });
  const c2 = new DirectoryClient({ entries, transport: refusing, verifyBinding: async () => true });
  await assert.rejects(c2.register(rec), { code: 'ERR_HUBLESS_HOSTNAME_TAKEN' });
  assert.equal(refusing.calls.length, 1);
  // nobody answers
  dead.add('127.0.0.2').add('127.0.0.3');
  await assert.rejects(client.get(a.address), (err: HublessError) => err.code === 'ERR_HUBLESS_DIRECTORY_UNAVAILABLE' && /no directory answered/.test(err.message));
});

test('a replica serving a tampered record is skipped for an honest one; alone, its record is rejected with a clear error', async () => {
  const a = newAgent();
  const rec = sign(a, { hostname: 'real.test' });
  const tampered = new Uint8Array(rec.bytes);
  tampered[10] ^= 1;
  const t = fakeTransport((e) => ({ v: 1, record: e.endpoint.address === '127.0.0.1' ? tampered : rec.bytes }));
  const client = new DirectoryClient({ entries, transport: t, verifyBinding: async () => true });
  assert.equal((await client.getByHostname('real.test'))?.record.address, a.address);
  assert.equal(client.stats().rejectedRecords, 1);
  const alone = new DirectoryClient({ entries: entries.slice(0, 1), transport: t, verifyBinding: async () => true });
  await assert.rejects(alone.getByHostname('real.test'), (err: HublessError) =>
    ['ERR_HUBLESS_BAD_SIGNATURE', 'ERR_HUBLESS_BAD_RECORD'].includes(err.code) && /a directory served an invalid record/.test(err.message));
});

let ids: Identity[] = [];
before(async () => {
  ids = await Promise.all(Array.from({ length: 4 }, () => Identity.generate()));
});

test('through real sessions: a rogue directory cannot forge, swap or re-sign records; a wrong pinned key is never used', async () => {
  const nodes: Node[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hubless-rogue-'));
  const honest = await startDirectoryServer({ identity: ids[0], listen: { host: '127.0.0.1', port: 0 }, store: `lmdb:${dir}` });
  try {
    const agent = await createNode({ identity: ids[1], listen: { host: '127.0.0.1' }, directory: [honest.entry], hostname: 'victim.test', capabilities: ['pay'] });
    nodes.push(agent);
    const real = (await honest.store.getByHostname('victim.test'))!;
    // The rogue: a hubless node answering the directory protocol with doctored records.
    const rogue = await createNode({ identity: ids[2], listen: { host: '127.0.0.1' } });
    nodes.push(rogue);
    let mode = 'flip';
    rogue.handle(DIRECTORY_PORT, () => {
      if (mode === 'flip') { // one bit of the body changed (e.g. the endpoint)
        const b = new Uint8Array(real.bytes);
        b[b.length - 70] ^= 1;
        return { v: 1, record: b };
      }
      if (mode === 'resign') { // the victim's address and hostname with the rogue's own key and endpoint
        const r = real.record;
        const fake = signRecord({ address: r.address, nonce: r.nonce, hostname: r.hostname, capabilities: r.capabilities, seq: r.seq + 1,
          expiresAt: r.expiresAt, endpoints: [{ host: '127.0.0.1', port: rogue.endpoint.port, kind: 'local' }] },
        { publicKey: new Uint8Array(ids[2].publicKey), sign: (m) => ids[2].sign(m) });
        return { v: 1, record: fake.bytes };
      }
      return { v: 1, record: real.bytes }; // 'swap': a genuine record, but not the one asked for
    });
    const rogueEntry = formatEntry(rogue.publicKey, { address: '127.0.0.1', port: rogue.endpoint.port });
    const victim = await createNode({ identity: ids[3], listen: { host: '127.0.0.1' }, directory: [rogueEntry], register: false });
    nodes.push(victim);
    await assert.rejects(victim.resolve('victim.test'), (err: HublessError) => ['ERR_HUBLESS_BAD_SIGNATURE', 'ERR_HUBLESS_BAD_RECORD'].includes(err.code));
    mode = 'resign';
    await assert.rejects(victim.resolve('victim.test'), { code: 'ERR_HUBLESS_BAD_BINDING' });
    await assert.rejects(victim.connect('victim.test'), { code: 'ERR_HUBLESS_BAD_BINDING' });
    mode = 'swap';
    await assert.rejects(victim.resolve('other.test'), { code: 'ERR_HUBLESS_BAD_RESPONSE' });
    assert.equal(victim.directory!.client.stats().rejectedRecords, 4);
    // the honest directory's endpoint pinned with the rogue's key: the handshake cannot complete
    const wrongKey = formatEntry(rogue.publicKey, { address: '127.0.0.1', port: honest.endpoint.port });
    const pinned = await createNode({ listen: { host: '127.0.0.1' }, identity: await Identity.generate(), directory: [wrongKey], register: false, directoryOptions: { requestTimeoutMs: 300 } });
    nodes.push(pinned);
    await assert.rejects(pinned.resolve('victim.test'), { code: 'ERR_HUBLESS_DIRECTORY_UNAVAILABLE' });
    // with the honest entry after the rogue one: failover to the genuine record
    const both = await createNode({ listen: { host: '127.0.0.1' }, identity: await Identity.generate(), directory: [rogueEntry, honest.entry], register: false });
    nodes.push(both);
    mode = 'resign';
    assert.deepEqual(Buffer.from((await both.resolve('victim.test')).publicKey), ids[1].publicKey);
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
    await honest.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a request lost on a replica that answers others is retried there; a lone directory gets a second try on a fresh session', async () => {
  const a = newAgent();
  const rec = sign(a);
  let n = 0;
  const resets: string[] = [];
  const t = fakeTransport(() => (++n === 1 ? 'hang' : { v: 1, record: rec.bytes }));
  t.reset = (e) => void resets.push(e.label);
  const one = new DirectoryClient({ entries: entries.slice(0, 1), transport: t, requestTimeoutMs: 150, verifyBinding: async () => true });
  // two requests at once: the first is lost, the second answered meanwhile, so the first is retried, not failed
  const [x, y] = await Promise.all([one.get(a.address), new Promise((r) => setTimeout(r, 20)).then(() => one.get(a.address))]);
  assert.equal(x?.record.address, a.address);
  assert.equal(y?.record.address, a.address);
  assert.deepEqual(resets, []);
  assert.equal(one.stats().failovers, 0);
  // a stale session (e.g. the directory restarted): the first try times out, the session is reset, the second works
  n = 0;
  const t0 = Date.now();
  assert.equal((await one.get(a.address))?.record.address, a.address);
  assert.ok(Date.now() - t0 >= 150);
  assert.equal(resets.length, 1);
});
