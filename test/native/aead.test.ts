import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { constants, native } from '../../src/native/binding.js';

const AES = 1, CHACHA = 2;
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 8439 section 2.8.2.
const RFC8439 = {
  key: hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'),
  nonce: hex('070000004041424344454647'),
  ad: hex('50515253c0c1c2c3c4c5c6c7'),
  plaintext: Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."),
  ciphertext: hex(`d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
    1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116`),
  tag: hex('1ae10b594f09e26a7e902ecbd0600691'),
};

// The GCM specification (McGrew & Viega), test case 16: AES-256, 96-bit IV, with AD.
const GCM16 = {
  key: hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
  nonce: hex('cafebabefacedbaddecaf888'),
  ad: hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
  plaintext: hex(`d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525
    b16aedf5aa0de657ba637b39`),
  ciphertext: hex(`522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838
    c5f61e6393ba7a0abcc9f662`),
  tag: hex('76fc6ece0f4e1768cddf8853bb2d551b'),
};

test('ChaCha20-Poly1305 reproduces the RFC 8439 AEAD vector and opens it', () => {
  const v = RFC8439;
  const sealed = native.aeadSeal(CHACHA, v.key, v.nonce, v.ad, v.plaintext);
  assert.equal(sealed.toString('hex'), Buffer.concat([v.ciphertext, v.tag]).toString('hex'));
  assert.deepEqual(native.aeadOpen(CHACHA, v.key, v.nonce, v.ad, sealed), v.plaintext);
});

test('AES-256-GCM reproduces the GCM specification test case 16 and opens it', { skip: !constants.aesGcmAvailable && 'no AES-NI on this CPU' }, () => {
  const v = GCM16;
  const sealed = native.aeadSeal(AES, v.key, v.nonce, v.ad, v.plaintext);
  assert.equal(sealed.toString('hex'), Buffer.concat([v.ciphertext, v.tag]).toString('hex'));
  assert.deepEqual(native.aeadOpen(AES, v.key, v.nonce, v.ad, sealed), v.plaintext);
});

// The transport nonce is Noise's: 4 zero bytes, then the counter big-endian (AESGCM) or
// little-endian (ChaChaPoly). Checked against OpenSSL through node:crypto.
function opensslSeal(algorithm: 'aes-256-gcm' | 'chacha20-poly1305', key: Buffer, nonce: Buffer, ad: Buffer, m: Buffer) {
  const c = createCipheriv(algorithm, key, nonce, { authTagLength: 16 } as never);
  (c as unknown as { setAAD(b: Buffer, o?: object): void }).setAAD(ad, { plaintextLength: m.length });
  return Buffer.concat([c.update(m), c.final(), (c as unknown as { getAuthTag(): Buffer }).getAuthTag()]);
}

test('counter nonces match Noise transport nonces for both ciphers', () => {
  const key = randomBytes(32), ad = randomBytes(16), m = randomBytes(1200);
  for (const counter of [0, 1, 255, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) {
    const be = Buffer.alloc(12); be.writeBigUInt64BE(BigInt(counter), 4);
    const le = Buffer.alloc(12); le.writeBigUInt64LE(BigInt(counter), 4);
    if (constants.aesGcmAvailable) {
      assert.deepEqual(native.aeadSeal(AES, key, counter, ad, m), opensslSeal('aes-256-gcm', key, be, ad, m));
    }
    assert.deepEqual(native.aeadSeal(CHACHA, key, counter, ad, m), opensslSeal('chacha20-poly1305', key, le, ad, m));
  }
});

test('any flipped bit in ciphertext, tag or associated data fails to open', () => {
  const key = randomBytes(32), ad = randomBytes(16), m = randomBytes(64);
  for (const algo of constants.aesGcmAvailable ? [AES, CHACHA] : [CHACHA]) {
    const sealed = native.aeadSeal(algo, key, 3, ad, m);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Buffer.from(sealed); bad[i] ^= 1 << (i % 8);
      assert.equal(native.aeadOpen(algo, key, 3, ad, bad), null, `byte ${i}`);
    }
    for (let i = 0; i < ad.length; i++) {
      const badAd = Buffer.from(ad); badAd[i] ^= 0x80;
      assert.equal(native.aeadOpen(algo, key, 3, badAd, sealed), null);
    }
    assert.equal(native.aeadOpen(algo, key, 4, ad, sealed), null, 'wrong counter');
    assert.equal(native.aeadOpen(algo, key, 3, ad, sealed.subarray(0, 15)), null, 'shorter than a tag');
  }
});

test('bad AEAD arguments throw with codes', () => {
  const code = (fn: () => unknown, c: string) => assert.throws(fn, (e: NodeJS.ErrnoException) => e.code === c);
  code(() => native.aeadSeal(3, randomBytes(32), 0, Buffer.alloc(0), Buffer.alloc(1)), 'ERR_HUBLESS_INVALID_ARGUMENT');
  code(() => native.aeadSeal(CHACHA, randomBytes(31), 0, Buffer.alloc(0), Buffer.alloc(1)), 'ERR_HUBLESS_INVALID_ARGUMENT');
  code(() => native.aeadSeal(CHACHA, randomBytes(32), -1, Buffer.alloc(0), Buffer.alloc(1)), 'ERR_HUBLESS_INVALID_ARGUMENT');
  code(() => native.aeadSeal(CHACHA, randomBytes(32), Buffer.alloc(11), Buffer.alloc(0), Buffer.alloc(1)), 'ERR_HUBLESS_INVALID_ARGUMENT');
});
