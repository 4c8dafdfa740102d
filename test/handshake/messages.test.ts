import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HandshakeIK } from '../../src/handshake/noise/index.js';
import {
  initiationSizeOk, readInitiation, readResponse, RemoteStatic, writeInitiation, writeResponse,
  type ReadInitiation,
} from '../../src/handshake/messages.js';
import { checkMac1, writeMacs } from '../../src/handshake/cookie.js';
import { Tai64nClock } from '../../src/handshake/timestamp.js';
import {
  encodeInitiationPayload, INITIATION_BYTES, PACKET_INITIATION, PACKET_RESPONSE, PROLOGUE, PROTOCOL_NAME,
  readIndex, RESPONSE_BYTES, type InitiationPayload,
} from '../../src/handshake/wire.js';
import { testKeys, testLocal } from './keys.js';

const clock = new Tai64nClock();

function payloadOf(publicKey: Buffer, extra: Partial<InitiationPayload> = {}): InitiationPayload {
  return { rekey: false, aeads: 3, network: 0, nonce: 0, timestamp: clock.next(), publicKey, ...extra };
}

test('a full handshake in memory: sizes, indices, payloads, and matching per-direction keys', () => {
  const ik = testKeys(), rk = testKeys();
  const initiator = testLocal(ik), responder = testLocal(rk);
  const remote = RemoteStatic.fromPublicKey(rk.publicKey)!;
  const init = writeInitiation(initiator, remote, 0xaabbccdd, payloadOf(ik.publicKey, { network: 9, nonce: 4 }), null);
  assert.equal(init.body.length, INITIATION_BYTES);
  assert.ok(initiationSizeOk(init.body));
  assert.ok(checkMac1(init.body, PACKET_INITIATION, 0, 0n, responder.mac1Key));

  const read = readInitiation(responder, init.body) as ReadInitiation;
  assert.equal(typeof read, 'object');
  assert.equal(read.senderIndex, 0xaabbccdd);
  assert.deepEqual(read.remote.publicKey, ik.publicKey);
  assert.equal(read.payload.network, 9);
  assert.equal(read.payload.nonce, 4);

  const resp = writeResponse(read, 0x11223344, { aead: 'chacha20-poly1305', network: 3, nonce: 1 });
  assert.equal(resp.body.length, RESPONSE_BYTES);
  assert.equal(readIndex(resp.body), 0x11223344);
  assert.ok(checkMac1(resp.body, PACKET_RESPONSE, 0xaabbccdd, 0n, initiator.mac1Key));

  const done = readResponse(initiator, init.noise, resp.body, 0xaabbccdd, 0n);
  assert.equal(typeof done, 'object');
  if (typeof done === 'string') return;
  assert.equal(done.senderIndex, 0x11223344);
  assert.deepEqual(done.payload, { aead: 'chacha20-poly1305', network: 3, nonce: 1 });
  assert.deepEqual(Buffer.from(done.tx), Buffer.from(resp.rx));
  assert.deepEqual(Buffer.from(done.rx), Buffer.from(resp.tx));
  assert.notDeepEqual(Buffer.from(done.tx), Buffer.from(done.rx));
});

test('the initiator\'s transmit key is Noise\'s first Split() key (checked against a plain HandshakeIK run)', () => {
  const ik = testKeys(), rk = testKeys();
  const initiator = testLocal(ik), responder = testLocal(rk);
  const init = writeInitiation(initiator, RemoteStatic.fromPublicKey(rk.publicKey)!, 1, payloadOf(ik.publicKey), null);
  // An independent responder built directly on the Noise core with the documented name and prologue.
  const plain = new HandshakeIK({ initiator: false, protocol: PROTOCOL_NAME, prologue: PROLOGUE, s: rk.x25519KeyPair });
  plain.readMessage(init.body.subarray(4, init.body.length - 32));
  const msg2 = plain.writeMessage(Buffer.from([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  const keys = plain.split();
  const body = Buffer.alloc(4 + msg2.length + 32);
  body.writeUInt32BE(2, 0);
  body.set(msg2, 4);
  writeMacs(body, PACKET_RESPONSE, 1, initiator.mac1Key, null);
  const done = readResponse(initiator, init.noise, body, 1, 0n);
  assert.equal(typeof done, 'object');
  if (typeof done === 'string') return;
  assert.deepEqual(Buffer.from(done.tx), Buffer.from(keys.rx));
  assert.equal(done.payload.aead, 'aes-256-gcm');
  void responder;
});

test('an initiation made for another responder key fails mac1 and does not decrypt', () => {
  const ik = testKeys();
  const initiator = testLocal(ik), responder = testLocal(), other = testLocal();
  const init = writeInitiation(initiator, RemoteStatic.fromPublicKey(testKeys().publicKey)!, 1, payloadOf(ik.publicKey), null);
  assert.ok(!checkMac1(init.body, PACKET_INITIATION, 0, 0n, responder.mac1Key));
  assert.equal(readInitiation(responder, init.body), 'decrypt');
  assert.equal(readInitiation(other, init.body), 'decrypt');
});

test('tampered, truncated and key-mismatched initiations are refused by reason', () => {
  const ik = testKeys(), rk = testKeys();
  const initiator = testLocal(ik), responder = testLocal(rk);
  const remote = RemoteStatic.fromPublicKey(rk.publicKey)!;
  const init = writeInitiation(initiator, remote, 5, payloadOf(ik.publicKey), null);
  for (const at of [0 + 4, 40, 100, INITIATION_BYTES - 33]) {
    const bad = Buffer.from(init.body);
    bad[at] ^= 0x80;
    assert.equal(readInitiation(responder, bad), 'decrypt', `byte ${at}`);
  }
  assert.ok(!initiationSizeOk(init.body.subarray(0, INITIATION_BYTES - 1)));
  assert.ok(!initiationSizeOk(Buffer.alloc(2000)));

  // The payload names an Ed25519 key that is not the one behind the Noise static key.
  const liar = writeInitiation(initiator, remote, 5, payloadOf(testKeys().publicKey), null);
  assert.equal(readInitiation(responder, liar.body), 'keyMismatch');
  // A payload that is not a valid Ed25519 point.
  const zero = writeInitiation(initiator, remote, 5, payloadOf(Buffer.alloc(32)), null);
  assert.equal(readInitiation(responder, zero.body), 'keyMismatch');
});

test('a malformed payload inside a valid Noise message is refused as payload', () => {
  const ik = testKeys(), rk = testKeys();
  const responder = testLocal(rk);
  const withPayload = (payload: Uint8Array): Buffer => {
    const noise = new HandshakeIK({
      initiator: true, protocol: PROTOCOL_NAME, prologue: PROLOGUE, s: ik.x25519KeyPair, rs: rk.x25519KeyPair.publicKey,
    });
    const msg = noise.writeMessage(payload);
    const body = Buffer.alloc(4 + msg.length + 32);
    body.set(msg, 4);
    return body;
  };
  const v0 = encodeInitiationPayload(payloadOf(ik.publicKey));
  v0[0] = 0;
  assert.equal(readInitiation(responder, withPayload(v0)), 'payload');
  // 40 bytes of payload: the message is shorter than an initiation, the size check catches it.
  const short = withPayload(encodeInitiationPayload(payloadOf(ik.publicKey)).subarray(0, 40));
  assert.ok(!initiationSizeOk(short));
  assert.equal(readInitiation(responder, short), 'payload');
});

test('a forged response leaves the pending handshake intact for the genuine one', () => {
  const ik = testKeys(), rk = testKeys();
  const initiator = testLocal(ik), responder = testLocal(rk);
  const init = writeInitiation(initiator, RemoteStatic.fromPublicKey(rk.publicKey)!, 77, payloadOf(ik.publicKey), null);
  const read = readInitiation(responder, init.body) as ReadInitiation;
  const resp = writeResponse(read, 88, { aead: 'aes-256-gcm', network: 0, nonce: 0 });

  const forged = Buffer.from(resp.body);
  forged[20] ^= 1;
  writeMacs(forged, PACKET_RESPONSE, 77, initiator.mac1Key, null); // valid mac1, broken Noise
  assert.equal(readResponse(initiator, init.noise, forged, 77, 0n), 'decrypt');
  assert.equal(readResponse(initiator, init.noise, randomBytes(RESPONSE_BYTES), 77, 0n), 'mac1');
  assert.equal(readResponse(initiator, init.noise, resp.body.subarray(0, 50), 77, 0n), 'malformed');
  assert.equal(readResponse(initiator, init.noise, resp.body, 78, 0n), 'mac1'); // wrong receiver in header
  const ok = readResponse(initiator, init.noise, resp.body, 77, 0n);
  assert.equal(typeof ok, 'object');
});
