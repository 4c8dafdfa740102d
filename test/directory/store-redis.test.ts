import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { hasCode } from '../../src/errors.js';
import { openRedisStore, type RedisDirectoryStore } from '../../src/directory/store-redis.js';
import type { ChangeEvent } from '../../src/directory/store.js';
import { startRedis, type RedisServer } from './fixtures/redis-server.js';
import { fakeClock, newAgent, newSigner, sign, waitFor } from './helpers.js';
import { storeContract } from './store-contract.js';

let redis: RedisServer | undefined;
const server = () => {
  if (!redis) throw new Error('redis-server did not start (see the before hook)');
  return redis;
};
const prefix = () => `{hubless-test-${randomBytes(4).toString('hex')}}:`;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

describe('redis store: contract', () => {
  storeContract(async () => {
    const clock = fakeClock(Date.now());
    const store = await openRedisStore({ url: server().url, prefix: prefix(), now: clock.now, sweepIntervalMs: 0 });
    return { store, clock, close: () => store.close() };
  });
});

describe('redis store: replicas', () => {
  async function pair(): Promise<{ a: RedisDirectoryStore; b: RedisDirectoryStore; clock: ReturnType<typeof fakeClock> }> {
    const clock = fakeClock(Date.now());
    const p = prefix();
    const a = await openRedisStore({ url: server().url, prefix: p, now: clock.now, sweepIntervalMs: 0 });
    const b = await openRedisStore({ url: server().url, prefix: p, now: clock.now, sweepIntervalMs: 0 });
    return { a, b, clock };
  }

  it('a write through one replica is readable and watched on another', async () => {
    const { a, b, clock } = await pair();
    try {
      const events: ChangeEvent[] = [];
      const w = b.watch({ capability: 'summarize' }, (e) => events.push(e));
      const agent = newAgent();
      await a.put(sign(agent, { hostname: 'shared', capabilities: [{ name: 'summarize' }] }, clock.now(), 5_000));
      assert.equal((await b.get(agent.address))?.record.hostname, 'shared');
      assert.equal((await b.getByHostname('shared'))?.record.address, agent.address);
      assert.deepEqual((await b.query({ capability: 'summarize' })).records.map((r) => r.record.address), [agent.address]);
      await waitFor(() => events.length === 1, 3000, 'put event on the other replica');
      assert.equal(events[0].type, 'put');
      // Uniqueness holds across replicas: the check runs inside Redis.
      await assert.rejects(b.put(sign(newAgent(), { hostname: 'shared' }, clock.now())), (e) => hasCode(e, 'ERR_HUBLESS_HOSTNAME_TAKEN'));
      // Expiry swept by one replica is seen once by the other's watch.
      clock.advance(5_000);
      const [na, nb] = await Promise.all([a.sweep(), b.sweep()]);
      assert.equal(na + nb, 1, 'exactly one replica sweeps a given record');
      await waitFor(() => events.length === 2, 3000, 'expired event');
      assert.deepEqual(events[1], { type: 'leave', key: events[1].key, address: agent.address, reason: 'expired' });
      w.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('racing registrations of one hostname through two replicas: exactly one wins', async () => {
    const { a, b, clock } = await pair();
    try {
      for (let round = 0; round < 20; round++) {
        const name = `race-${round}`;
        const results = await Promise.allSettled([
          a.put(sign(newAgent(), { hostname: name }, clock.now())),
          b.put(sign(newAgent(), { hostname: name }, clock.now())),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, name);
      }
      const victim = newAgent();
      const rivals = Array.from({ length: 2 }, () => ({ signer: newSigner(), address: victim.address, seq: 0 }));
      const res = await Promise.allSettled([a.put(sign(rivals[0], {}, clock.now())), b.put(sign(rivals[1], {}, clock.now()))]);
      assert.equal(res.filter((r) => r.status === 'fulfilled').length, 1, 'one key per node id');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('routes signals between replicas', async () => {
    const { a, b } = await pair();
    try {
      const got: Buffer[] = [];
      await b.onSignal('relay:0000beef', (p) => got.push(p));
      const payload = randomBytes(300);
      await a.publishSignal('relay:0000beef', payload);
      await waitFor(() => got.length === 1, 3000, 'signal on the other replica');
      assert.deepEqual(got[0], payload, 'binary payloads arrive intact');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('record keys carry a TTL (presence survives no replica sweeping)', async () => {
    const { a, b, clock } = await pair();
    try {
      const agent = newAgent();
      await a.put(sign(agent, {}, clock.now(), 30_000));
      const { Redis } = await import('ioredis');
      const raw = new Redis(server().url);
      try {
        const keys = await raw.keys('*:r:*');
        const ttls = await Promise.all(keys.map((k) => raw.pttl(k)));
        assert.ok(ttls.some((t) => t > 0 && t <= 30_000 + 600_000), `TTLs ${ttls}`);
      } finally {
        raw.disconnect();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reports an unreachable Redis as ERR_HUBLESS_STORE_FAILED', async () => {
    const store = await openRedisStore({ url: server().url, prefix: prefix(), sweepIntervalMs: 0 }).catch((e) => e);
    await store.close();
    const dead = await openRedisStore({ url: 'redis://127.0.0.1:1', redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null }, sweepIntervalMs: 0 }).catch((e) => e);
    assert.ok(hasCode(dead, 'ERR_HUBLESS_STORE_FAILED'), String(dead));
  });
});
