import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode } from '../../src/errors.js';
import { collectPage, planQuery, singleSource, unionSource, type KeySource, type StoredRecord } from '../../src/directory/paging.js';
import { QUERY_LIMITS, matches, queryFingerprint, validateQuery, type DirectoryQuery } from '../../src/directory/query.js';
import { recordKey } from '../../src/directory/store.js';
import { newAgent, newSigner, sign } from './helpers.js';

const NOW = 1_800_000_000_000;
const bad = (q: unknown) => assert.throws(() => validateQuery(q), (e) => hasCode(e, 'ERR_HUBLESS_BAD_QUERY'), JSON.stringify(q));

const alice = newAgent(0x0a11ce);
const aliceRec = sign(alice, {
  hostname: 'alice',
  groups: ['research', 'eu'],
  capabilities: [
    { name: 'summarize', attributes: { lang: 'en', maxTokens: 8192, streaming: true } },
    { name: 'translate', attributes: { from: 'en', to: 'fr' } },
  ],
}, NOW).record;
const bob = newAgent(0x0b0b);
const bobRec = sign(bob, { capabilities: [{ name: 'summarize', attributes: { lang: 'de', maxTokens: 2048 } }, { name: 'math.eval' }], groups: ['eu'] }, NOW).record;

describe('query matching', () => {
  it('matches by address, hostname and group', () => {
    assert.ok(matches(aliceRec, { address: alice.address }));
    assert.ok(!matches(aliceRec, { address: bob.address }));
    assert.ok(matches(aliceRec, { hostname: 'alice' }));
    assert.ok(!matches(bobRec, { hostname: 'alice' }));
    assert.ok(matches(aliceRec, { group: 'research' }));
    assert.ok(!matches(bobRec, { group: 'research' }));
    assert.ok(matches(aliceRec, {}), 'an empty query matches every public record');
  });

  it('all-of needs every capability, any-of at least one', () => {
    assert.ok(matches(aliceRec, { allOf: ['summarize', 'translate'] }));
    assert.ok(!matches(bobRec, { allOf: ['summarize', 'translate'] }));
    assert.ok(matches(bobRec, { anyOf: ['translate', 'math.eval'] }));
    assert.ok(matches(aliceRec, { anyOf: ['translate', 'math.eval'] }));
    assert.ok(!matches(aliceRec, { anyOf: ['math.eval', 'code.run'] }));
    assert.ok(matches(bobRec, { capability: 'summarize', anyOf: ['math.eval'] }));
    assert.ok(!matches(aliceRec, { capability: 'summarize', anyOf: ['math.eval'] }));
    assert.ok(!matches(aliceRec, { capability: 'math' }), 'names match exactly, not by prefix');
  });

  it('filters on attributes of the same capability: equality, in, ranges', () => {
    const q = (attributes: Record<string, unknown>) => ({ capability: { name: 'summarize', attributes } }) as DirectoryQuery;
    assert.ok(matches(aliceRec, q({ lang: 'en' })));
    assert.ok(!matches(bobRec, q({ lang: 'en' })));
    assert.ok(matches(aliceRec, q({ streaming: true })));
    assert.ok(!matches(bobRec, q({ streaming: true })), 'a missing attribute never matches');
    assert.ok(!matches(aliceRec, q({ maxTokens: '8192' })), 'equality is typed');
    assert.ok(matches(bobRec, q({ lang: { in: ['de', 'fr'] } })));
    assert.ok(matches(aliceRec, q({ maxTokens: { gte: 4096 } })));
    assert.ok(!matches(bobRec, q({ maxTokens: { gte: 4096 } })));
    assert.ok(matches(bobRec, q({ maxTokens: { gt: 1000, lt: 4096 } })));
    assert.ok(!matches(aliceRec, q({ lang: { gte: 0 } })), 'ranges only match numbers');
    assert.ok(matches(aliceRec, q({ lang: 'en', maxTokens: { lte: 8192 } })));
    // Attributes must hold on one capability: alice's `to: fr` is on translate, not summarize.
    assert.ok(!matches(aliceRec, q({ to: 'fr' })));
  });

  it('private records match only for the owner and trusted keys', () => {
    const friend = newSigner();
    const carol = newAgent();
    const rec = sign(carol, { visibility: 'private', trust: [friend.publicKey], capabilities: [{ name: 'summarize' }] }, NOW).record;
    assert.ok(!matches(rec, { capability: 'summarize' }));
    assert.ok(!matches(rec, { capability: 'summarize' }, { viewer: newSigner().publicKey }));
    assert.ok(matches(rec, { capability: 'summarize' }, { viewer: friend.publicKey }));
    assert.ok(matches(rec, { capability: 'summarize' }, { viewer: carol.signer.publicKey }));
    assert.ok(matches(rec, { capability: 'summarize' }, { unrestricted: true }));
  });
});

describe('query validation', () => {
  it('refuses hostile or malformed queries with ERR_HUBLESS_BAD_QUERY', () => {
    for (const q of [
      null, 'x', [], { nope: 1 }, { address: 'x' }, { address: 5 }, { hostname: 'UP' }, { group: '' }, { group: 'a b' },
      { capability: 'Bad' }, { capability: { name: 'x', extra: 1 } }, { capability: 5 },
      { allOf: 'x' }, { allOf: Array(QUERY_LIMITS.filters + 1).fill('x') }, { anyOf: [{}] },
      { capability: 'x', allOf: Array(QUERY_LIMITS.filters).fill('y') },
      { capability: { name: 'x', attributes: { k: { in: [] } } } },
      { capability: { name: 'x', attributes: { k: { in: Array(QUERY_LIMITS.inValues + 1).fill(1) } } } },
      { capability: { name: 'x', attributes: { k: { in: [{}] } } } },
      { capability: { name: 'x', attributes: { k: { gt: 'a' } } } },
      { capability: { name: 'x', attributes: { k: { gt: Infinity } } } },
      { capability: { name: 'x', attributes: { k: { between: [1, 2] } } } },
      { capability: { name: 'x', attributes: { k: {} } } },
      { capability: { name: 'x', attributes: { k: null } } },
      { capability: { name: 'x', attributes: { __proto__x: 1 } } },
      { capability: { name: 'x', attributes: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 1])) } },
      { limit: 0 }, { limit: QUERY_LIMITS.maxLimit + 1 }, { limit: 1.5 }, { limit: '5' },
      { cursor: '' }, { cursor: 'garbage' }, { cursor: 'x'.repeat(1000) }, { cursor: 5 },
    ]) bad(q);
  });

  it('cursors are opaque and bound to their query', () => {
    const q = validateQuery({ capability: 'summarize' });
    const cursor = Buffer.from(`1.0000abcd.${queryFingerprint(q)}`).toString('base64url');
    assert.equal(validateQuery({ capability: 'summarize', cursor, limit: 3 }).after, '0000abcd');
    bad({ capability: 'translate', cursor });
  });

  it('plans an index walk instead of a scan when it can', () => {
    assert.deepEqual(planQuery(validateQuery({ capability: 'a', group: 'g' })), { kind: 'index', union: [{ kind: 'capability', name: 'a' }] });
    assert.deepEqual(planQuery(validateQuery({ group: 'g', anyOf: ['a'] })), { kind: 'index', union: [{ kind: 'group', name: 'g' }] });
    assert.deepEqual(planQuery(validateQuery({ anyOf: ['a', 'b', 'a'] })).kind, 'index');
    assert.equal(planQuery(validateQuery({ hostname: 'h', capability: 'a' })).kind, 'hostname');
    assert.equal(planQuery(validateQuery({})).kind, 'scan');
  });
});

describe('paging', () => {
  const agents = Array.from({ length: 37 }, (_, i) => newAgent(0x5000 + i * 7));
  const stored = new Map<string, StoredRecord>();
  for (const [i, a] of agents.entries()) {
    const caps = [{ name: i % 2 ? 'odd' : 'even' }, ...(i % 3 === 0 ? [{ name: 'three' }] : [])];
    const signed = sign(a, { capabilities: caps }, NOW);
    stored.set(recordKey(a.address), { signed, leaseUntil: i === 4 ? NOW : NOW + 1000 }); // #4 expired
  }
  const sorted = [...stored.keys()].sort();
  const arraySource = (keys: string[]): KeySource => async (after, n) => keys.filter((k) => after === undefined || k > after).slice(0, n);
  const load = async (keys: string[]) => keys.map((k) => stored.get(k));

  async function all(query: DirectoryQuery, source: KeySource, budget?: number) {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const q = validateQuery({ ...query, ...(cursor ? { cursor } : {}) });
      const page = await collectPage(q, {}, NOW, source, load, budget);
      assert.ok(page.records.length <= q.limit);
      seen.push(...page.records.map((r) => recordKey(r.record.address)));
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 100);
    return { seen, pages };
  }

  it('returns each live match exactly once, in node-id order, across pages', async () => {
    for (const limit of [1, 2, 5, 7, 36, 50]) {
      const { seen } = await all({ limit }, arraySource(sorted));
      const expected = sorted.filter((k) => stored.get(k)!.leaseUntil > NOW);
      assert.deepEqual(seen, expected, `limit ${limit}`);
    }
  });

  it('union of indexes (any-of) pages without duplicates', async () => {
    const idx = (name: string) => sorted.filter((k) => stored.get(k)!.signed.record.capabilities.some((c) => c.name === name));
    const { seen } = await all({ anyOf: ['odd', 'three'], limit: 4 }, unionSource([arraySource(idx('odd')), arraySource(idx('three'))]));
    const expected = sorted.filter((k) => stored.get(k)!.leaseUntil > NOW && stored.get(k)!.signed.record.capabilities.some((c) => c.name === 'odd' || c.name === 'three'));
    assert.deepEqual(seen, expected);
    assert.equal(new Set(seen).size, seen.length);
  });

  it('a scan budget yields short pages with a cursor rather than unbounded work', async () => {
    const { seen, pages } = await all({ capability: 'three', limit: 50 }, arraySource(sorted), 5);
    const expected = sorted.filter((k) => stored.get(k)!.leaseUntil > NOW && stored.get(k)!.signed.record.capabilities.some((c) => c.name === 'three'));
    assert.deepEqual(seen, expected);
    assert.ok(pages >= 7, `budget of 5 over 37 candidates takes several pages (${pages})`);
  });

  it('single-key sources page like the others', async () => {
    assert.deepEqual(await singleSource('0000000a')(undefined, 5), ['0000000a']);
    assert.deepEqual(await singleSource('0000000a')('0000000a', 5), []);
    assert.deepEqual(await singleSource(undefined)(undefined, 5), []);
  });
});
