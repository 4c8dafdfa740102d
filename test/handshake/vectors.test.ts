// Test vectors for the hubless handshake packets (docs/PROTOCOL.md, "Handshake"): fixed static
// and ephemeral keys, indices and timestamp give fixed bytes. They pin the wire format: a change
// to any layout, label, MAC or key derivation fails here. Regenerate (only for a deliberate,
// versioned change) with HUBLESS_WRITE_VECTORS=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { keyPairFromSecretKey } from '../../src/handshake/noise/index.js';
import {
  LocalStatic, readInitiation, readResponse, RemoteStatic, writeInitiation, writeResponse, type ReadInitiation,
} from '../../src/handshake/messages.js';
import { cookieKey, mac1Key, openCookieReply, writeMacs } from '../../src/handshake/cookie.js';
import { decodeInitiationPayload, PACKET_INITIATION, PACKET_RESPONSE, PROLOGUE, PROTOCOL_NAME } from '../../src/handshake/wire.js';
import { encodeTai64n } from '../../src/handshake/timestamp.js';
import { native } from '../../src/native/binding.js';

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_ed25519_pk_to_curve25519(x: Uint8Array, ed: Uint8Array): void;
  crypto_sign_ed25519_sk_to_curve25519(x: Uint8Array, ed: Uint8Array): void;
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array, nsec: null, npub: Uint8Array, k: Uint8Array): number;
};

const FILE = new URL('../vectors/hubless-handshake-v1.json', import.meta.url);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h, 'hex');

function fromSeed(seed: Buffer): { publicKey: Buffer; x25519KeyPair: { publicKey: Buffer; secretKey: Buffer } } {
  const publicKey = Buffer.alloc(32), sk = Buffer.alloc(64), xp = Buffer.alloc(32), xs = Buffer.alloc(32);
  sodium.crypto_sign_seed_keypair(publicKey, sk, seed);
  sodium.crypto_sign_ed25519_pk_to_curve25519(xp, publicKey);
  sodium.crypto_sign_ed25519_sk_to_curve25519(xs, sk);
  return { publicKey, x25519KeyPair: { publicKey: xp, secretKey: xs } };
}

/** Everything derived from the fixed inputs, by the code under test. */
function compute() {
  const initiatorSeed = Buffer.alloc(32, 0x11), responderSeed = Buffer.alloc(32, 0x22);
  const initiatorEphemeral = Buffer.alloc(32, 0x33), responderEphemeral = Buffer.alloc(32, 0x44);
  const ik = fromSeed(initiatorSeed), rk = fromSeed(responderSeed);
  const initiator = new LocalStatic(ik), responder = new LocalStatic(rk);
  const senderIndex = 0x0a0b0c0d, responderIndex = 0x01020304;
  const timestamp = encodeTai64n(1_764_000_000_123_456_789n);
  const init = writeInitiation(initiator, RemoteStatic.fromPublicKey(rk.publicKey)!, senderIndex, {
    rekey: false, aeads: 3, network: 7, nonce: 2, timestamp, publicKey: ik.publicKey,
  }, null, keyPairFromSecretKey(initiatorEphemeral));
  const read = readInitiation(responder, init.body, keyPairFromSecretKey(responderEphemeral)) as ReadInitiation;
  const resp = writeResponse(read, responderIndex, { aead: 'aes-256-gcm', network: 0, nonce: 5 });
  const done = readResponse(initiator, init.noise, resp.body, senderIndex, 0n);
  if (typeof done === 'string') throw new Error(`response did not read: ${done}`);

  const cookie = Buffer.alloc(16, 0x55);
  const withMac2 = Buffer.from(init.body);
  writeMacs(withMac2, PACKET_INITIATION, 0, responder.mac1Key, cookie);
  const cookieNonce = Buffer.alloc(24, 0x66);
  const sealed = Buffer.alloc(32);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, cookie, init.mac1, null, cookieNonce, cookieKey(rk.x25519KeyPair.publicKey));
  return {
    description: 'hubless handshake v1: fixed keys, indices and timestamp; bodies exclude the 16-byte header, packets include it',
    protocol: PROTOCOL_NAME,
    prologue: hex(PROLOGUE),
    initiator: {
      ed25519Seed: hex(initiatorSeed), ed25519PublicKey: hex(ik.publicKey), x25519PublicKey: hex(ik.x25519KeyPair.publicKey),
      ephemeralSecretKey: hex(initiatorEphemeral), senderIndex, network: 7, nonce: 2, timestamp: hex(timestamp), aeads: 3,
    },
    responder: {
      ed25519Seed: hex(responderSeed), ed25519PublicKey: hex(rk.publicKey), x25519PublicKey: hex(rk.x25519KeyPair.publicKey),
      ephemeralSecretKey: hex(responderEphemeral), senderIndex: responderIndex, network: 0, nonce: 5, aead: 'aes-256-gcm',
      mac1Key: hex(mac1Key(rk.x25519KeyPair.publicKey)), cookieKey: hex(cookieKey(rk.x25519KeyPair.publicKey)),
    },
    initiationBody: hex(init.body),
    initiationPacket: hex(native.frameEncode(PACKET_INITIATION, 0, 0n, init.body)),
    responseBody: hex(resp.body),
    responsePacket: hex(native.frameEncode(PACKET_RESPONSE, senderIndex, 0n, resp.body)),
    initiatorTxKey: hex(done.tx),
    initiatorRxKey: hex(done.rx),
    cookie: hex(cookie),
    initiationBodyWithMac2: hex(withMac2),
    cookieReplyBody: hex(Buffer.concat([cookieNonce, sealed])),
    _check: { responderTx: hex(resp.tx), responderRx: hex(resp.rx), payload: read.payload },
  };
}

test('the handshake reproduces its test vectors (test/vectors/hubless-handshake-v1.json)', () => {
  const v = compute();
  const { _check, ...vector } = v;
  assert.equal(_check.responderTx, vector.initiatorRxKey);
  assert.equal(_check.responderRx, vector.initiatorTxKey);
  if (process.env.HUBLESS_WRITE_VECTORS === '1') writeFileSync(FILE, `${JSON.stringify(vector, null, 2)}\n`);
  const stored = JSON.parse(readFileSync(FILE, 'utf8')) as typeof vector;
  assert.deepEqual(vector, stored);
  assert.equal(bytes(stored.initiationPacket).length, 204);
  assert.equal(bytes(stored.responsePacket).length, 112);
  assert.equal(bytes(stored.cookieReplyBody).length, 56);
});

test('the vectors read back: payload fields, and the cookie reply opens to the cookie', () => {
  const stored = JSON.parse(readFileSync(FILE, 'utf8')) as ReturnType<typeof compute>;
  const rk = fromSeed(bytes(stored.responder.ed25519Seed));
  const read = readInitiation(new LocalStatic(rk), bytes(stored.initiationBody)) as ReadInitiation;
  assert.equal(typeof read, 'object');
  assert.equal(read.senderIndex, stored.initiator.senderIndex);
  assert.equal(read.payload.network, 7);
  assert.equal(read.payload.nonce, 2);
  assert.equal(hex(read.payload.timestamp), stored.initiator.timestamp);
  assert.deepEqual(hex(read.remote.publicKey), stored.initiator.ed25519PublicKey);
  const mac1 = bytes(stored.initiationBody).subarray(156, 172);
  const cookie = openCookieReply(bytes(stored.cookieReplyBody), bytes(stored.responder.cookieKey), mac1);
  assert.equal(cookie && hex(cookie), stored.cookie);
  // The payload sits at a fixed place in the plaintext: version 1, flags 0, AEAD bitmask 3.
  const payload = decodeInitiationPayload(Buffer.from([1, 0, 3, 0, 0, 7, 0, 0, 0, 0, 0, 2, ...bytes(stored.initiator.timestamp), ...bytes(stored.initiator.ed25519PublicKey)]));
  assert.equal(payload?.nonce, 2);
});
