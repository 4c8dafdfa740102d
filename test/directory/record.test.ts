import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Packr } from 'msgpackr';
import { HublessError, hasCode } from '../../src/errors.js';
import { Identity } from '../../src/identity/identity.js';
import { capabilityToTuple } from '../../src/directory/capability.js';
import {
  RECORD_LIMITS, SIGNATURE_DOMAIN, checkBinding, decodeRecord, signRecord, verifyRecord,
} from '../../src/directory/record.js';
import type { RecordInput, RecordSigner } from '../../src/directory/record-types.js';
import { addressOf, newSigner } from './helpers.js';

const require = createRequire(import.meta.url);
const sodium = require('sodium-native') as { crypto_sign_detached(s: Uint8Array, m: Uint8Array, k: Uint8Array): void };

const NOW = 1_800_000_000_000;
const CODES = ['ERR_HUBLESS_BAD_RECORD', 'ERR_HUBLESS_RECORD_TOO_LARGE', 'ERR_HUBLESS_BAD_SIGNATURE', 'ERR_HUBLESS_RECORD_EXPIRED'];

function isRejection(code?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof HublessError, `expected a HublessError, got ${String(e)}`);
    if (code) assert.equal(e.code, code, e.message);
    else assert.ok(CODES.includes(e.code), e.code);
    return true;
  };
}

function fullInput(address = addressOf(0x1234abcd)): RecordInput {
  return {
    address, nonce: 3, hostname: 'summarizer.eu', seq: 42, issuedAt: NOW, expiresAt: NOW + 60_000,
    capabilities: [
      { name: 'summarize', version: '1.0.0', description: 'Summarizes text', tags: ['nlp'], examples: ['tl;dr this'], attributes: { lang: 'en', maxTokens: 8192 } },
      { name: 'math.eval', attributes: { exact: true } },
    ],
    groups: ['research', 'eu', 'research'],
    endpoints: [{ host: '192.168.1.10', port: 4100, kind: 'local' }, { host: '2001:db8::1', port: 62000, kind: 'reflexive' }],
    relay: { address: addressOf(0x42), endpoint: { host: '203.0.113.5', port: 3478 } },
  };
}

/** Signs an arbitrary body tuple properly, to test the schema behind a valid signature. */
function signTuple(tuple: unknown, signer: { sk: Buffer }): Uint8Array {
  const body = new Packr({ useRecords: false }).pack(tuple);
  return signRaw(body, signer.sk);
}
function signRaw(body: Uint8Array, sk: Buffer, domain = SIGNATURE_DOMAIN): Uint8Array {
  const sig = Buffer.alloc(64);
  sodium.crypto_sign_detached(sig, Buffer.concat([Buffer.from(domain, 'latin1'), body]), sk);
  return Buffer.concat([body, sig]);
}
function rawSigner(): RecordSigner & { sk: Buffer } {
  const pk = Buffer.alloc(32);
  const sk = Buffer.alloc(64);
  (require('sodium-native') as { crypto_sign_keypair(p: Buffer, s: Buffer): void }).crypto_sign_keypair(pk, sk);
  return {
    sk, publicKey: pk,
    sign(m) {
      const s = Buffer.alloc(64);
      sodium.crypto_sign_detached(s, m, sk);
      return s;
    },
  };
}

function goodTuple(pk: Uint8Array): unknown[] {
  return [1, addressOf(0x77), pk, 0, null, [capabilityToTuple({ name: 'x' })], [], [], null, 'public', [], 1, NOW, NOW + 1000];
}

describe('record signing and verification', () => {
  it('round-trips every field and normalizes sets', () => {
    const signer = newSigner();
    const signed = signRecord(fullInput(), signer);
    const { record, bytes } = verifyRecord(signed.bytes, { now: NOW });
    assert.deepEqual(bytes, signed.bytes);
    assert.deepEqual(record, signed.record);
    assert.equal(record.version, 1);
    assert.deepEqual(Buffer.from(record.publicKey), Buffer.from(signer.publicKey));
    assert.deepEqual(record.groups, ['eu', 'research']);
    assert.equal(record.visibility, 'public');
    assert.equal(record.capabilities[0].attributes!.maxTokens, 8192);
    assert.deepEqual(record.relay, { address: addressOf(0x42), endpoint: { host: '203.0.113.5', port: 3478 } });
    assert.ok(signed.bytes.length < 600, `a typical record is small (${signed.bytes.length} bytes)`);
    // decodeRecord (for trusted storage) sees the same record.
    assert.deepEqual(decodeRecord(signed.bytes).record, record);
  });

  it('private records carry a sorted, deduplicated trust list', () => {
    const a = newSigner().publicKey;
    const b = newSigner().publicKey;
    const signed = signRecord({ address: addressOf(9), nonce: 0, seq: 1, issuedAt: NOW, expiresAt: NOW + 1, visibility: 'private', trust: [b, a, b] }, newSigner());
    const { record } = verifyRecord(signed.bytes, { now: NOW });
    assert.equal(record.trust.length, 2);
    assert.ok(Buffer.compare(Buffer.from(record.trust[0]), Buffer.from(record.trust[1])) < 0);
    assert.throws(() => signRecord({ address: addressOf(9), nonce: 0, seq: 1, expiresAt: NOW + 1, issuedAt: NOW, trust: [a] }, newSigner()), isRejection('ERR_HUBLESS_BAD_RECORD'));
  });

  it('rejects every single flipped byte', () => {
    const signed = signRecord(fullInput(), newSigner());
    for (let i = 0; i < signed.bytes.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const t = Buffer.from(signed.bytes);
        t[i] ^= mask;
        assert.throws(() => verifyRecord(t, { now: NOW }), isRejection(), `byte ${i} mask ${mask}`);
      }
    }
  });

  it('rejects a signature made without the domain prefix, or by another key', () => {
    const s = rawSigner();
    const body = new Packr({ useRecords: false }).pack(goodTuple(s.publicKey));
    assert.doesNotThrow(() => verifyRecord(signRaw(body, s.sk), { now: NOW }));
    assert.throws(() => verifyRecord(signRaw(body, s.sk, ''), { now: NOW }), isRejection('ERR_HUBLESS_BAD_SIGNATURE'));
    assert.throws(() => verifyRecord(signRaw(body, s.sk, 'hubless-record-v2\0'), { now: NOW }), isRejection('ERR_HUBLESS_BAD_SIGNATURE'));
    assert.throws(() => verifyRecord(signRaw(body, rawSigner().sk), { now: NOW }), isRejection('ERR_HUBLESS_BAD_SIGNATURE'));
  });

  it('refuses a signer whose signatures do not match its public key', () => {
    const a = rawSigner();
    const liar: RecordSigner = { publicKey: newSigner().publicKey, sign: (m) => a.sign(m) };
    assert.throws(() => signRecord(fullInput(), liar), isRejection('ERR_HUBLESS_BAD_SIGNATURE'));
  });

  it('checks the size before decoding', () => {
    assert.throws(() => verifyRecord(randomBytes(RECORD_LIMITS.maxBytes + 1)), isRejection('ERR_HUBLESS_RECORD_TOO_LARGE'));
    // A valid-looking but oversized body is refused by size, not by parsing.
    const s = rawSigner();
    const huge = goodTuple(s.publicKey);
    huge[6] = Array(3000).fill('group');
    assert.throws(() => verifyRecord(signTuple(huge, s)), isRejection('ERR_HUBLESS_RECORD_TOO_LARGE'));
    const caps = Array.from({ length: 20 }, (_, i) => ({ name: `c${String.fromCharCode(97 + i)}`, description: 'd'.repeat(1000) }));
    assert.throws(() => signRecord({ ...fullInput(), capabilities: caps }, newSigner()), isRejection('ERR_HUBLESS_RECORD_TOO_LARGE'));
  });

  it('answers random bytes with Hubless errors only', () => {
    for (let i = 0; i < 3000; i++) {
      const len = i < 100 ? i : Math.floor(Math.random() * 9000);
      const junk = randomBytes(len);
      if (i % 3 === 0 && len > 0) junk[0] = 0x9e; // looks like a 14-element array
      assert.throws(() => verifyRecord(junk, { now: NOW }), isRejection());
    }
    assert.throws(() => verifyRecord('not bytes' as unknown as Uint8Array), isRejection('ERR_HUBLESS_BAD_RECORD'));
  });

  it('rejects malformed bodies behind a valid signature with ERR_HUBLESS_BAD_RECORD', () => {
    const s = rawSigner();
    const pk = s.publicKey;
    const cases: [string, (t: unknown[]) => unknown][] = [
      ['not an array', () => ({ v: 1 })],
      ['version 2', (t) => ((t[0] = 2), t)],
      ['version as string', (t) => ((t[0] = '1'), t)],
      ['missing field', (t) => t.slice(0, 13)],
      ['extra field', (t) => [...t, 0]],
      ['address wrong type', (t) => ((t[1] = 5), t)],
      ['address uppercase', (t) => ((t[1] = '0:0000.0000.00AB'), t)],
      ['address broadcast', (t) => ((t[1] = '0:0000.ffff.ffff'), t)],
      ['short key', (t) => ((t[2] = pk.subarray(0, 31)), t)],
      ['key as string', (t) => ((t[2] = 'k'.repeat(32)), t)],
      ['negative nonce', (t) => ((t[3] = -1), t)],
      ['nonce > u32', (t) => ((t[3] = 2 ** 32), t)],
      ['hostname uppercase', (t) => ((t[4] = 'Alice'), t)],
      ['hostname number', (t) => ((t[4] = 7), t)],
      ['capability map', (t) => ((t[5] = [{ name: 'x' }]), t)],
      ['duplicate capability', (t) => ((t[5] = [capabilityToTuple({ name: 'x' }), capabilityToTuple({ name: 'x' })]), t)],
      ['unsorted attributes', (t) => ((t[5] = [['x', null, null, [], [], [['b', 1], ['a', 2]]]]), t)],
      ['groups unsorted', (t) => ((t[6] = ['b', 'a']), t)],
      ['groups too many', (t) => ((t[6] = Array.from({ length: 200 }, (_, i) => `g${i}`)), t)],
      ['group bad', (t) => ((t[6] = ['Bad Group']), t)],
      ['endpoint bad ip', (t) => ((t[7] = [['example.com', 1, 'local']]), t)],
      ['endpoint port 0', (t) => ((t[7] = [['10.0.0.1', 0, 'local']]), t)],
      ['endpoint kind', (t) => ((t[7] = [['10.0.0.1', 1, 'relay']]), t)],
      ['relay empty', (t) => ((t[8] = [null, null]), t)],
      ['visibility', (t) => ((t[9] = 'secret'), t)],
      ['trust on public', (t) => ((t[10] = [pk]), t)],
      ['seq float', (t) => ((t[11] = 1.5), t)],
      ['seq negative', (t) => ((t[11] = -3), t)],
      ['seq too big', (t) => ((t[11] = 2 ** 60), t)],
      ['seq bigint', (t) => ((t[11] = 2n ** 40n), t)],
      ['expires before issued', (t) => ((t[13] = NOW - 1), t)],
      ['date object', (t) => ((t[12] = new Date(NOW)), t)],
      ['toString trap', (t) => ((t[0] = { toString: 5 }), t)],
    ];
    for (const [what, mutate] of cases) {
      const bytes = signTuple(mutate(goodTuple(pk)), s);
      assert.throws(() => verifyRecord(bytes, { now: NOW }), isRejection('ERR_HUBLESS_BAD_RECORD'), what);
    }
  });

  it('rejects bodies msgpackr cannot decode, including a lying array header', () => {
    const s = rawSigner();
    const lying = Buffer.from('dd7fffffff01', 'hex'); // array32 of 2^31-1 elements, 1 present
    const nested = Buffer.alloc(5000, 0x91); // 5000 nested one-element arrays
    const trailing = Buffer.concat([new Packr({ useRecords: false }).pack(goodTuple(s.publicKey)), Buffer.from([0])]);
    for (const body of [lying, nested, trailing, Buffer.from('c1', 'hex')]) {
      assert.throws(() => verifyRecord(signRaw(body, s.sk), { now: NOW }), isRejection('ERR_HUBLESS_BAD_RECORD'));
    }
  });

  it('accepts only the canonical encoding', () => {
    const s = rawSigner();
    const body = new Packr({ useRecords: false }).pack(goodTuple(s.publicKey));
    assert.equal(body[0], 0x9e);
    assert.equal(body[1], 0x01);
    const longForm = Buffer.concat([body.subarray(0, 1), Buffer.from([0xcc, 0x01]), body.subarray(2)]);
    assert.throws(() => verifyRecord(signRaw(longForm, s.sk), { now: NOW }), /canonical/);
  });

  it('checks times: expired, issued in the future, too long a lease', () => {
    const signer = newSigner();
    const r = signRecord({ address: addressOf(5), nonce: 0, seq: 1, issuedAt: NOW, expiresAt: NOW + 1000 }, signer);
    assert.throws(() => verifyRecord(r.bytes, { now: NOW + 1000 }), isRejection('ERR_HUBLESS_RECORD_EXPIRED'));
    assert.doesNotThrow(() => verifyRecord(r.bytes, { now: NOW + 1000, allowExpired: true }));
    assert.throws(() => verifyRecord(r.bytes, { now: NOW - 10 * 60_000 }), isRejection('ERR_HUBLESS_BAD_RECORD'));
    assert.doesNotThrow(() => verifyRecord(r.bytes, { now: NOW - 60_000 }), 'within clock skew');
    const long = signRecord({ address: addressOf(5), nonce: 0, seq: 1, issuedAt: NOW, expiresAt: NOW + 48 * 3600_000 }, signer);
    assert.throws(() => verifyRecord(long.bytes, { now: NOW }), isRejection('ERR_HUBLESS_BAD_RECORD'));
    assert.doesNotThrow(() => verifyRecord(long.bytes, { now: NOW, maxLifetimeMs: 72 * 3600_000 }));
  });

  it('signs with an Identity and checks the address binding', async () => {
    const id = await Identity.generate();
    const mine = signRecord({ address: id.address.toString(), nonce: id.nonce, seq: 1, expiresAt: Date.now() + 60_000 }, id);
    await checkBinding(verifyRecord(mine.bytes).record);
    const other = signRecord({ address: addressOf(0xdead), nonce: id.nonce, seq: 1, expiresAt: Date.now() + 60_000 }, id);
    await assert.rejects(checkBinding(other.record), (e) => hasCode(e, 'ERR_HUBLESS_BAD_BINDING'));
    const wrongNonce = signRecord({ address: id.address.toString(), nonce: id.nonce + 1, seq: 1, expiresAt: Date.now() + 60_000 }, id);
    await assert.rejects(checkBinding(wrongNonce.record), (e) => hasCode(e, 'ERR_HUBLESS_BAD_BINDING'));
    // An injected verifier is used as given; its failure is a binding failure too.
    await checkBinding(other.record, async () => true);
    await assert.rejects(checkBinding(mine.record, async () => { throw new Error('boom'); }), (e) => hasCode(e, 'ERR_HUBLESS_BAD_BINDING'));
    id.destroy();
  });

  it('refuses invalid input at signing time', () => {
    const signer = newSigner();
    const base = { address: addressOf(5), nonce: 0, seq: 1, issuedAt: NOW, expiresAt: NOW + 1000 };
    for (const patch of [{ address: 'nope' }, { hostname: 'UPPER' }, { seq: -1 }, { capabilities: [{ name: 'Bad' }] }, { endpoints: [{ host: '1.2.3.4', port: 70000, kind: 'local' }] }, { groups: [''] }]) {
      assert.throws(() => signRecord({ ...base, ...patch } as never, signer), isRejection('ERR_HUBLESS_BAD_RECORD'));
    }
  });
});
