import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  NODE_ID_PWHASH_MEMLIMIT,
  NODE_ID_PWHASH_OPSLIMIT,
  NODE_ID_SALT,
  NODE_ID_SALT_LABEL,
  NONCE_MAX,
  VerifiedBindingCache,
  deriveFirstUsable,
  deriveFirstUsableSync,
  deriveNodeId,
  deriveNodeIdSync,
  nodeIdHash,
  nodeIdHashSync,
  verifyBinding,
} from '../../src/identity/derive.js';
import { Address } from '../../src/identity/address.js';
import { hasCode } from '../../src/errors.js';

const sodium = createRequire(import.meta.url)('sodium-native');

// Ed25519 public key of the all-zero seed.
const PK0 = Buffer.from('3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29', 'hex');

test('salt is BLAKE2b-128 of the label; parameters are the documented ones', () => {
  const salt = Buffer.alloc(16);
  sodium.crypto_generichash(salt, Buffer.from(NODE_ID_SALT_LABEL));
  assert.equal(NODE_ID_SALT.toString('hex'), salt.toString('hex'));
  assert.equal(NODE_ID_PWHASH_OPSLIMIT, 2);
  assert.equal(NODE_ID_PWHASH_MEMLIMIT, 32 * 1024 * 1024);
});

test('id is the first 32 bits (BE) of Argon2id(pk ‖ nonce BE) — recomputed from the spec', () => {
  const pw = Buffer.concat([PK0, Buffer.from([0, 0, 0, 1])]);
  const out = Buffer.alloc(16);
  sodium.crypto_pwhash(out, pw, NODE_ID_SALT, 2, 32 * 1024 * 1024, sodium.crypto_pwhash_ALG_ARGON2ID13);
  assert.equal(nodeIdHashSync(PK0, 1), out.readUInt32BE(0));
});

test('test vectors (all-zero seed), sync and async agree', async () => {
  const vectors: Array<[number, number]> = [[0, 0x08dd1b97], [1, 0xdd9d3253], [2, 0x86432719], [NONCE_MAX, 0xca3f4dad]];
  for (const [nonce, id] of vectors) {
    assert.equal(nodeIdHashSync(PK0, nonce), id);
    assert.equal(await nodeIdHash(PK0, nonce), id);
  }
  assert.equal(await deriveNodeId(PK0, 0), 0x08dd1b97);
  assert.equal(deriveNodeIdSync(PK0, 0), 0x08dd1b97);
});

test('deterministic per (key, nonce); a different nonce or key gives a different id', async () => {
  const pk = Buffer.alloc(32);
  sodium.randombytes_buf(pk);
  const a = await deriveNodeId(pk, 7);
  assert.equal(await deriveNodeId(Buffer.from(pk), 7), a);
  assert.notEqual(await deriveNodeId(pk, 8), a);
  const other = Buffer.from(pk);
  other[0] ^= 1;
  assert.notEqual(await deriveNodeId(other, 7), a);
});

test('async evaluation does not block the event loop', async () => {
  let resolved = false;
  const p = nodeIdHash(PK0, 3).then((id) => {
    resolved = true;
    return id;
  });
  // A hash computed synchronously would have settled before the next turn of the loop.
  await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false);
  assert.equal(await p, nodeIdHashSync(PK0, 3));
});

test('bad keys and nonces are rejected with stable codes', async () => {
  assert.throws(() => nodeIdHashSync(Buffer.alloc(31), 0), (e) => hasCode(e, 'ERR_HUBLESS_BAD_KEY'));
  await assert.rejects(nodeIdHash(Buffer.alloc(33), 0), (e) => hasCode(e, 'ERR_HUBLESS_BAD_KEY'));
  for (const n of [-1, NONCE_MAX + 1, 1.5, NaN]) {
    assert.throws(() => nodeIdHashSync(PK0, n), (e) => hasCode(e, 'ERR_HUBLESS_BAD_NONCE'), String(n));
  }
});

test('first usable nonce skips nonces that yield reserved ids (injected hash)', async () => {
  const table = new Map<number, number>([[5, 0], [6, 0xffffffff], [7, 42], [8, 43]]);
  const calls: number[] = [];
  const hash = (_pk: Uint8Array, nonce: number) => {
    calls.push(nonce);
    return table.get(nonce) ?? 1;
  };
  assert.deepEqual(await deriveFirstUsable(PK0, 5, hash), { nonce: 7, nodeId: 42 });
  assert.deepEqual(calls, [5, 6, 7]);
  assert.deepEqual(deriveFirstUsableSync(PK0, 5, hash), { nonce: 7, nodeId: 42 });
  assert.deepEqual(await deriveFirstUsable(PK0, 8, async (pk, n) => hash(pk, n)), { nonce: 8, nodeId: 43 });

  const alwaysZero = () => 0;
  await assert.rejects(deriveFirstUsable(PK0, NONCE_MAX - 1, alwaysZero), (e) => hasCode(e, 'ERR_HUBLESS_NONCE_EXHAUSTED'));
  assert.throws(() => deriveFirstUsableSync(PK0, NONCE_MAX, alwaysZero), (e) => hasCode(e, 'ERR_HUBLESS_NONCE_EXHAUSTED'));
});

test('first usable nonce with the real hash', async () => {
  assert.deepEqual(await deriveFirstUsable(PK0, 1), { nonce: 1, nodeId: 0xdd9d3253 });
});

function countingHash() {
  const state = { calls: 0 };
  const hash = async (pk: Uint8Array, nonce: number) => {
    state.calls++;
    return (pk[0] * 1000 + nonce + 1) >>> 0;
  };
  return { state, hash };
}

test('cache: a hit does not call the hash; mismatches are answered from the cache', async () => {
  const { state, hash } = countingHash();
  const cache = new VerifiedBindingCache({ hash });
  const pk = Buffer.alloc(32, 3);
  assert.equal(await cache.verify(pk, 4, 3005), true);
  assert.equal(state.calls, 1);
  assert.equal(await cache.verify(pk, 4, 3005), true);
  assert.equal(await cache.verify(Buffer.from(pk), 4, 3005), true);
  assert.equal(await cache.verify(pk, 4, 9999), false);
  assert.equal(await cache.verifyAddress(pk, 4, Address.of(9, 3005)), true);
  assert.equal(state.calls, 1);
  assert.equal(cache.hits, 4);
  assert.equal(cache.misses, 1);
  assert.equal(await cache.verify(pk, 5, 3005), false); // new pair: one more hash
  assert.equal(state.calls, 2);
  // Reserved or out-of-range claims never cost a hash.
  assert.equal(await cache.verify(pk, 6, 0), false);
  assert.equal(await cache.verify(pk, 6, 0xffffffff), false);
  assert.equal(await cache.verify(pk, 6, -3), false);
  assert.equal(state.calls, 2);
});

test('cache: concurrent checks of one pair share one evaluation', async () => {
  const { state, hash } = countingHash();
  const cache = new VerifiedBindingCache({ hash });
  const pk = Buffer.alloc(32, 1);
  const results = await Promise.all(Array.from({ length: 10 }, () => cache.verify(pk, 0, 1001)));
  assert.deepEqual(results, Array(10).fill(true));
  assert.equal(state.calls, 1);
});

test('cache: bounded, least recently used entry goes first', async () => {
  const { state, hash } = countingHash();
  const cache = new VerifiedBindingCache({ hash, maxEntries: 2 });
  const pk = Buffer.alloc(32, 0);
  await cache.verify(pk, 1, 2);
  await cache.verify(pk, 2, 3);
  await cache.verify(pk, 1, 2); // touch nonce 1: nonce 2 is now the oldest
  await cache.verify(pk, 3, 4); // evicts nonce 2
  assert.equal(cache.size, 2);
  assert.equal(state.calls, 3);
  await cache.verify(pk, 1, 2);
  assert.equal(state.calls, 3);
  await cache.verify(pk, 2, 3);
  assert.equal(state.calls, 4);
  assert.equal(new VerifiedBindingCache().maxEntries, 65_536);
  assert.throws(() => new VerifiedBindingCache({ maxEntries: 0 }), (e) => hasCode(e, 'ERR_HUBLESS_BAD_ARGUMENT'));
});

test('cache: protected pairs (peers with a session) are not pushed out by a stream of new pairs', async () => {
  const { state, hash } = countingHash();
  const cache = new VerifiedBindingCache({ hash, maxEntries: 4, maxProtected: 2 });
  const pk = Buffer.alloc(32, 7);
  await cache.nodeIdOf(pk, 1);
  await cache.nodeIdOf(pk, 2);
  assert.equal(cache.protect(pk, 1), true);
  assert.equal(cache.protect(pk, 99), false, 'not cached: nothing to protect');
  // 100 throw-away pairs cycle through the main LRU only.
  for (let n = 1000; n < 1100; n++) await cache.nodeIdOf(pk, n);
  const calls = state.calls;
  await cache.nodeIdOf(pk, 1);
  assert.equal(state.calls, calls, 'the protected pair is still known');
  assert.ok(cache.has(pk, 1));
  assert.equal(cache.has(pk, 2), false, 'the unprotected one was pushed out');
  assert.equal(cache.size, 5);
  assert.equal(cache.protectedSize, 1);
  // The protected LRU is bounded too; what falls out goes back to the main LRU (most recent).
  await cache.nodeIdOf(pk, 3);
  await cache.nodeIdOf(pk, 4);
  cache.protect(pk, 3);
  cache.protect(pk, 4); // pushes nonce 1 (least recently used) back to the main LRU
  assert.equal(cache.protectedSize, 2);
  assert.ok(cache.has(pk, 1));
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(new VerifiedBindingCache().maxProtected, 16_384);
  assert.throws(() => new VerifiedBindingCache({ maxProtected: -1 }), (e) => hasCode(e, 'ERR_HUBLESS_BAD_ARGUMENT'));
});

test('cache: a failing hash is not cached', async () => {
  let fail = true;
  const cache = new VerifiedBindingCache({
    hash: async () => {
      if (fail) throw new Error('boom');
      return 77;
    },
  });
  await assert.rejects(cache.verify(PK0, 0, 77), /boom/);
  fail = false;
  assert.equal(await cache.verify(PK0, 0, 77), true);
});

test('verifyBinding with the real hash', async () => {
  assert.equal(await verifyBinding(PK0, 0, 0x08dd1b97), true);
  assert.equal(await verifyBinding(PK0, 0, 0x08dd1b98), false);
  assert.equal(await verifyBinding(PK0, 1, 0x08dd1b97), false);
});
