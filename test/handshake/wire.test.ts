import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { constants, native } from '../../src/native/binding.js';
import {
  aeadMask, chooseAead, COOKIE_REPLY_BYTES, decodeInitiationPayload, decodeResponsePayload,
  encodeInitiationPayload, encodeResponsePayload, INITIATION_BYTES, INITIATION_PAYLOAD_BYTES, PAYLOAD_MAX,
  RESPONSE_BYTES, RESPONSE_PAYLOAD_BYTES, PACKET_INITIATION, PROTOCOL_NAME,
} from '../../src/handshake/wire.js';
import {
  checkMac1, CookieChecker, cookieKey, LoadMeter, mac1Key, mac1Of, mac2IsZero, macOver, openCookieReply, writeMacs,
} from '../../src/handshake/cookie.js';
import { compareTimestamps, decodeTai64n, encodeTai64n, Tai64nClock } from '../../src/handshake/timestamp.js';

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void;
};

test('handshake packets have the sizes docs/PROTOCOL.md gives', () => {
  assert.equal(PROTOCOL_NAME, 'Noise_IK_25519_AESGCM_SHA256');
  assert.equal(INITIATION_PAYLOAD_BYTES, 56);
  assert.equal(RESPONSE_PAYLOAD_BYTES, 12);
  assert.equal(INITIATION_BYTES, 188);
  assert.equal(RESPONSE_BYTES, 96);
  assert.equal(COOKIE_REPLY_BYTES, 56);
  // With the 16-byte header: 204, 112 and 72 bytes on the wire; replies are never larger.
  assert.ok(RESPONSE_BYTES < INITIATION_BYTES && COOKIE_REPLY_BYTES < INITIATION_BYTES);
});

test('initiation and response payloads round-trip and refuse bad sizes and version 0', () => {
  const p = {
    rekey: true, aeads: 3, network: 7, nonce: 0xfedcba98, timestamp: encodeTai64n(1_700_000_000_123_456_789n),
    publicKey: randomBytes(32),
  };
  const enc = encodeInitiationPayload(p);
  assert.equal(enc.length, INITIATION_PAYLOAD_BYTES);
  assert.deepEqual(decodeInitiationPayload(enc), p);
  assert.equal(decodeInitiationPayload(enc.subarray(0, 55)), null);
  assert.equal(decodeInitiationPayload(Buffer.concat([enc, Buffer.alloc(PAYLOAD_MAX)])), null);
  // Later versions append fields: a longer payload of version 2 still reads.
  const v2 = Buffer.concat([enc, Buffer.from('future')]);
  v2[0] = 2;
  assert.deepEqual(decodeInitiationPayload(v2), p);
  const v0 = Buffer.from(enc);
  v0[0] = 0;
  assert.equal(decodeInitiationPayload(v0), null);

  const r = { aead: 'chacha20-poly1305' as const, network: 65535, nonce: 3 };
  const renc = encodeResponsePayload(r);
  assert.equal(renc.length, RESPONSE_PAYLOAD_BYTES);
  assert.deepEqual(decodeResponsePayload(renc), r);
  const unknownAead = Buffer.from(renc);
  unknownAead[2] = 9;
  assert.equal(decodeResponsePayload(unknownAead), null);
  assert.equal(decodeResponsePayload(renc.subarray(0, 11)), null);
});

test('the responder picks AES-256-GCM only when both sides have it', () => {
  const both = aeadMask(['aes-256-gcm', 'chacha20-poly1305']);
  const chacha = aeadMask(['chacha20-poly1305']);
  assert.equal(chooseAead(both, both), 'aes-256-gcm');
  assert.equal(chooseAead(chacha, both), 'chacha20-poly1305');
  assert.equal(chooseAead(both, chacha), 'chacha20-poly1305');
  assert.equal(chooseAead(aeadMask(['aes-256-gcm']), chacha), null);
});

test('mac1 covers the 16-byte header exactly as the native codec writes it', () => {
  const key = mac1Key(randomBytes(32));
  const body = randomBytes(INITIATION_BYTES);
  const receiver = 0x01020304;
  writeMacs(body, PACKET_INITIATION, receiver, key, null);
  const wire = native.frameEncode(PACKET_INITIATION, receiver, 0n, body);
  const header = wire.subarray(0, constants.headerSize);
  const expected = Buffer.alloc(16);
  sodium.crypto_generichash(expected, Buffer.concat([header, body.subarray(0, body.length - 32)]), key);
  assert.deepEqual(mac1Of(body), expected);
  assert.ok(checkMac1(body, PACKET_INITIATION, receiver, 0n, key));
  assert.ok(mac2IsZero(body));
  // Any change of header field or body byte breaks it.
  assert.ok(!checkMac1(body, PACKET_INITIATION, receiver + 1, 0n, key));
  assert.ok(!checkMac1(body, PACKET_INITIATION + 1, receiver, 0n, key));
  assert.ok(!checkMac1(body, PACKET_INITIATION, receiver, 1n, key));
  body[10] ^= 1;
  assert.ok(!checkMac1(body, PACKET_INITIATION, receiver, 0n, key));
  assert.ok(!checkMac1(Buffer.alloc(8), PACKET_INITIATION, receiver, 0n, key));
});

test('a cookie reply opens only with the responder key and the quoted mac1, and its cookie makes a valid mac2', () => {
  const responderStatic = randomBytes(32);
  let now = 1_000_000;
  const checker = new CookieChecker(responderStatic, () => now);
  const from = { address: '127.0.0.1', port: 40000 };
  const body = randomBytes(INITIATION_BYTES);
  const mac1 = writeMacs(body, PACKET_INITIATION, 0, mac1Key(responderStatic), null);
  assert.ok(!checker.checkMac2(body, PACKET_INITIATION, 0, 0n, from));

  const reply = checker.makeReply(mac1, from);
  assert.equal(reply.length, COOKIE_REPLY_BYTES);
  assert.equal(openCookieReply(reply, cookieKey(randomBytes(32)), mac1), null);
  assert.equal(openCookieReply(reply, cookieKey(responderStatic), randomBytes(16)), null);
  assert.equal(openCookieReply(reply.subarray(1), cookieKey(responderStatic), mac1), null);
  const cookie = openCookieReply(reply, cookieKey(responderStatic), mac1);
  assert.ok(cookie !== null && cookie.length === 16);

  writeMacs(body, PACKET_INITIATION, 0, mac1Key(responderStatic), cookie);
  assert.ok(checker.checkMac2(body, PACKET_INITIATION, 0, 0n, from));
  // Bound to the source address and port.
  assert.ok(!checker.checkMac2(body, PACKET_INITIATION, 0, 0n, { address: '127.0.0.2', port: 40000 }));
  assert.ok(!checker.checkMac2(body, PACKET_INITIATION, 0, 0n, { address: '127.0.0.1', port: 40001 }));
  // The secret rotates every two minutes; old cookies stop working.
  now += 120_000;
  assert.ok(!checker.checkMac2(body, PACKET_INITIATION, 0, 0n, from));
});

test('macOver writes a 16-byte keyed BLAKE2b', () => {
  const out = Buffer.alloc(16);
  const key = randomBytes(16);
  const body = randomBytes(40);
  macOver(out, key, 2, 7, 0n, body, 8);
  const header = native.frameEncode(2, 7, 0n, body).subarray(0, 16);
  const expected = Buffer.alloc(16);
  sodium.crypto_generichash(expected, Buffer.concat([header, body.subarray(0, 8)]), key);
  assert.deepEqual(out, expected);
});

test('the load meter counts initiations per second; threshold 0 always demands cookies', () => {
  let now = 10_000;
  const m = new LoadMeter(5, () => now);
  for (let i = 0; i < 5; i++) m.hit();
  assert.equal(m.underLoad, false);
  m.hit();
  assert.equal(m.underLoad, true);
  now += 1000; // the previous window still counts
  assert.equal(m.underLoad, true);
  now += 1000;
  assert.equal(m.underLoad, false);
  now += 60_000;
  assert.equal(m.underLoad, false);
  assert.equal(new LoadMeter(0, () => now).underLoad, true);
});

test('TAI64N timestamps encode, decode, order, and never repeat from one clock', () => {
  const ns = 1_764_000_000_987_654_321n;
  const t = encodeTai64n(ns);
  assert.equal(t.length, 12);
  assert.equal(t.readBigUInt64BE(0), (1n << 62n) + 10n + 1_764_000_000n);
  assert.equal(decodeTai64n(t), ns);
  assert.ok(compareTimestamps(encodeTai64n(ns + 1n), t) > 0);
  const frozen = new Tai64nClock(() => 5_000_000_000n);
  const a = frozen.next(), b = frozen.next(), c = frozen.next();
  assert.ok(compareTimestamps(b, a) > 0 && compareTimestamps(c, b) > 0);
  const real = new Tai64nClock();
  let prev = real.next();
  for (let i = 0; i < 1000; i++) {
    const next = real.next();
    assert.ok(compareTimestamps(next, prev) > 0);
    prev = next;
  }
  assert.ok(Math.abs(Number(decodeTai64n(prev) / 1_000_000n) - Date.now()) < 5000);
});
