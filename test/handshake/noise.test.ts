import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { HublessError } from '../../src/errors.js';
import {
  AESGCM,
  BLAKE2b,
  BLAKE2s,
  ChaChaPoly,
  CipherState,
  HandshakeIK,
  MAX_MESSAGE_LEN,
  SHA256,
  SHA512,
  StaticDhCache,
  SymmetricState,
  generateKeyPair,
  hkdf,
  keyPairFromSecretKey,
  parseProtocolName,
  type CipherName,
  type HandshakeOptions,
  type KeyPair,
} from '../../src/handshake/noise/index.js';

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
};

interface Vector {
  protocol_name: string;
  init_prologue: string;
  resp_prologue: string;
  init_psks?: string[];
  resp_psks?: string[];
  init_static: string;
  init_ephemeral: string;
  init_remote_static: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const vectors = (
  JSON.parse(readFileSync(new URL('../vectors/noise-ik-25519.json', import.meta.url), 'utf8')) as { vectors: Vector[] }
).vectors;

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HublessError, `expected a HublessError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}
const FAILED = 'ERR_HUBLESS_HANDSHAKE_FAILED';

describe('Noise test vectors (cacophony, IK family on 25519)', () => {
  test('the vector file holds the 24 expected vectors', () => {
    assert.equal(vectors.length, 24);
  });

  for (const [v, cached] of [...vectors.map((x) => [x, false] as const), ...vectors.map((x) => [x, true] as const)]) {
    test(`${v.protocol_name}${cached ? ' (with StaticDhCache on both sides, warm)' : ''}`, () => {
      const initS = keyPairFromSecretKey(hex(v.init_static));
      const respS = keyPairFromSecretKey(hex(v.resp_static));
      const initCache = cached ? new StaticDhCache(initS) : undefined;
      const respCache = cached ? new StaticDhCache(respS) : undefined;
      if (initCache && respCache) {
        // Warm both caches so that the "ss" token below is served from them.
        initCache.dh(new Uint8Array(32), respS.publicKey);
        respCache.dh(new Uint8Array(32), initS.publicKey);
      }
      assert.deepEqual(Buffer.from(respS.publicKey), hex(v.init_remote_static));
      const init = new HandshakeIK({
        initiator: true,
        protocol: v.protocol_name,
        prologue: hex(v.init_prologue),
        s: initS,
        rs: hex(v.init_remote_static),
        e: keyPairFromSecretKey(hex(v.init_ephemeral)),
        psk: v.init_psks?.map(hex),
        staticDhCache: initCache,
      });
      const resp = new HandshakeIK({
        initiator: false,
        protocol: v.protocol_name,
        prologue: hex(v.resp_prologue),
        s: respS,
        e: keyPairFromSecretKey(hex(v.resp_ephemeral)),
        psk: v.resp_psks?.map(hex),
        staticDhCache: respCache,
      });

      const [m1, m2, ...transport] = v.messages;
      const c1 = init.writeMessage(hex(m1.payload));
      assert.equal(c1.toString('hex'), m1.ciphertext, 'message 1 ciphertext');
      assert.equal(resp.readMessage(c1).toString('hex'), m1.payload, 'message 1 payload');
      assert.deepEqual(resp.remoteStaticKey, new Uint8Array(initS.publicKey), 'responder learns the initiator static');

      const c2 = resp.writeMessage(hex(m2.payload));
      assert.equal(c2.toString('hex'), m2.ciphertext, 'message 2 ciphertext');
      assert.equal(init.readMessage(c2).toString('hex'), m2.payload, 'message 2 payload');
      assert.ok(init.complete && resp.complete);

      const si = init.split();
      const sr = resp.split();
      assert.equal(Buffer.from(si.handshakeHash).toString('hex'), v.handshake_hash, 'initiator handshake hash');
      assert.equal(Buffer.from(sr.handshakeHash).toString('hex'), v.handshake_hash, 'responder handshake hash');
      assert.deepEqual(si.tx, sr.rx);
      assert.deepEqual(si.rx, sr.tx);

      const cipher = parseProtocolName(v.protocol_name).cipher.name;
      const initTx = new CipherState(cipher, si.tx);
      const initRx = new CipherState(cipher, si.rx);
      const respTx = new CipherState(cipher, sr.tx);
      const respRx = new CipherState(cipher, sr.rx);
      transport.forEach((m, i) => {
        const fromInit = i % 2 === 0;
        const ct = (fromInit ? initTx : respTx).encryptWithAd(null, hex(m.payload));
        assert.equal(ct.toString('hex'), m.ciphertext, `transport message ${i + 3} ciphertext`);
        const pt = (fromInit ? respRx : initRx).decryptWithAd(null, ct);
        assert.equal(pt.toString('hex'), m.payload, `transport message ${i + 3} payload`);
      });
    });
  }
});

describe('hash, HMAC and HKDF', () => {
  const cases = [
    { fn: SHA256, node: 'sha256' },
    { fn: SHA512, node: 'sha512' },
    { fn: BLAKE2b, node: 'blake2b512' },
    { fn: BLAKE2s, node: 'blake2s256' },
  ];
  for (const { fn, node } of cases) {
    test(`${fn.name} matches node:crypto ${node} (hash and HMAC)`, () => {
      for (const len of [0, 1, 31, 32, 63, 64, 65, 127, 128, 129, 1000, 5000]) {
        const a = randomBytes(len);
        const b = randomBytes(len % 7);
        const out = new Uint8Array(fn.hashLen);
        fn.hash(out, a, b);
        assert.deepEqual(Buffer.from(out), createHash(node).update(a).update(b).digest());
        for (const klen of [0, 16, 32, 64, fn.blockLen, fn.blockLen + 1, 300]) {
          const key = randomBytes(klen);
          fn.hmac(out, key, a, b);
          assert.deepEqual(Buffer.from(out), createHmac(node, key).update(a).update(b).digest(), `key ${klen}, data ${len}`);
        }
      }
    });
  }

  test('hash and HMAC outputs may alias their inputs', () => {
    const h = new Uint8Array(randomBytes(32));
    const expect = createHash('sha256').update(h).update('x').digest();
    SHA256.hash(h, h, Buffer.from('x'));
    assert.deepEqual(Buffer.from(h), expect);
    const k = new Uint8Array(randomBytes(32));
    const expectMac = createHmac('sha256', k).update(k).digest();
    SHA256.hmac(k, k, k);
    assert.deepEqual(Buffer.from(k), expectMac);
  });

  test('HKDF follows the Noise definition', () => {
    for (const fn of [SHA256, SHA512, BLAKE2b, BLAKE2s]) {
      const node = { SHA256: 'sha256', SHA512: 'sha512', BLAKE2b: 'blake2b512', BLAKE2s: 'blake2s256' }[fn.name];
      const ck = randomBytes(fn.hashLen);
      const ikm = randomBytes(32);
      const tk = createHmac(node, ck).update(ikm).digest();
      const o1 = createHmac(node, tk).update(Buffer.of(1)).digest();
      const o2 = createHmac(node, tk).update(o1).update(Buffer.of(2)).digest();
      const o3 = createHmac(node, tk).update(o2).update(Buffer.of(3)).digest();
      const r1 = new Uint8Array(fn.hashLen);
      const r2 = new Uint8Array(fn.hashLen);
      const r3 = new Uint8Array(fn.hashLen);
      hkdf(fn, ck, ikm, r1, r2, r3);
      assert.deepEqual([Buffer.from(r1), Buffer.from(r2), Buffer.from(r3)], [o1, o2, o3]);
    }
  });
});

describe('CipherState', () => {
  const key = randomBytes(32);
  const ad = Buffer.from('ad');
  const pt = Buffer.from('plaintext');

  function refAesGcm(k: Uint8Array, nonce: bigint, a: Uint8Array, m: Uint8Array): Buffer {
    const iv = Buffer.alloc(12);
    iv.writeBigUInt64BE(nonce, 4);
    const c = createCipheriv('aes-256-gcm', k, iv);
    c.setAAD(a);
    return Buffer.concat([c.update(m), c.final(), c.getAuthTag()]);
  }
  function refChaCha(k: Uint8Array, nonce: bigint, a: Uint8Array, m: Uint8Array): Buffer {
    const iv = Buffer.alloc(12);
    iv.writeBigUInt64LE(nonce, 4);
    const out = Buffer.alloc(m.length + 16);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, m, a.length ? a : null, null, iv, k);
    return out;
  }
  const refs: Record<CipherName, typeof refAesGcm> = { AESGCM: refAesGcm, ChaChaPoly: refChaCha };

  for (const name of ['AESGCM', 'ChaChaPoly'] as const) {
    test(`${name}: nonce layout, counter carry, round trip`, () => {
      const tx = new CipherState(name, key);
      const rx = new CipherState(name, key);
      for (const n of [0n, 1n, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x123456789abcdefn, 0xfffffffffffffffdn]) {
        tx.setNonce(n);
        rx.setNonce(n);
        const ct = tx.encryptWithAd(ad, pt);
        assert.deepEqual(ct, refs[name](key, n, ad, pt), `nonce ${n}`);
        assert.equal(tx.nonce, n + 1n);
        assert.deepEqual(rx.decryptWithAd(ad, ct), pt);
        assert.equal(rx.nonce, n + 1n);
      }
    });

    test(`${name}: failed decrypt throws and leaves the nonce unchanged`, () => {
      const tx = new CipherState(name, key);
      const rx = new CipherState(name, key);
      const ct = tx.encryptWithAd(ad, pt);
      const bad = Buffer.from(ct);
      bad[0] ^= 1;
      expectCode(() => rx.decryptWithAd(ad, bad), 'ERR_HUBLESS_NOISE_DECRYPT_FAILED');
      expectCode(() => rx.decryptWithAd(ad, ct.subarray(0, 15)), 'ERR_HUBLESS_NOISE_DECRYPT_FAILED');
      expectCode(() => rx.decryptWithAd(Buffer.from('other'), ct), 'ERR_HUBLESS_NOISE_DECRYPT_FAILED');
      assert.equal(rx.nonce, 0n);
      assert.deepEqual(rx.decryptWithAd(ad, ct), pt);
    });

    test(`${name}: nonce 2^64-1 is reserved`, () => {
      const tx = new CipherState(name, key);
      const rx = new CipherState(name, key);
      tx.setNonce(0xfffffffffffffffen);
      rx.setNonce(0xfffffffffffffffen);
      const ct = tx.encryptWithAd(ad, pt);
      assert.deepEqual(rx.decryptWithAd(ad, ct), pt);
      assert.equal(tx.nonce, 0xffffffffffffffffn);
      expectCode(() => tx.encryptWithAd(ad, pt), 'ERR_HUBLESS_NOISE_NONCE_EXHAUSTED');
      expectCode(() => rx.decryptWithAd(ad, ct), 'ERR_HUBLESS_NOISE_NONCE_EXHAUSTED');
      expectCode(() => tx.setNonce(1n << 64n), 'ERR_HUBLESS_NOISE_INVALID_ARGUMENT');
    });

    test(`${name}: Rekey uses ENCRYPT(k, 2^64-1, empty, zeros) and keeps n`, () => {
      const cs = new CipherState(name, key);
      cs.setNonce(7n);
      cs.rekey();
      assert.equal(cs.nonce, 7n);
      const k2 = refs[name](key, 0xffffffffffffffffn, Buffer.alloc(0), Buffer.alloc(32)).subarray(0, 32);
      assert.deepEqual(cs.encryptWithAd(ad, pt), refs[name](k2, 7n, ad, pt));
    });

    test(`${name}: without a key, plaintext passes through`, () => {
      const cs = new CipherState(name);
      assert.equal(cs.hasKey(), false);
      assert.deepEqual(cs.encryptWithAd(ad, pt), pt);
      assert.deepEqual(cs.decryptWithAd(ad, pt), pt);
    });
  }

  test('AESGCM and ChaChaPoly objects report their names', () => {
    assert.equal(AESGCM.name, 'AESGCM');
    assert.equal(ChaChaPoly.name, 'ChaChaPoly');
  });
});

describe('protocol names', () => {
  test('unsupported names are rejected with ERR_HUBLESS_NOISE_UNSUPPORTED', () => {
    for (const name of [
      '',
      'garbage',
      'Noise_XX_25519_AESGCM_SHA256',
      'Noise_NK_25519_AESGCM_SHA256',
      'Noise_IK_448_AESGCM_SHA256',
      'Noise_IK_25519_AESGCM_MD5',
      'Noise_IK_25519_AES256_SHA256',
      'Noise_IKpsk3_25519_AESGCM_SHA256',
      'Noise_IKpsk2+psk1_25519_AESGCM_SHA256',
      'Noise_IKpsk1+psk1_25519_AESGCM_SHA256',
      'Noise_IKpsk01_25519_AESGCM_SHA256',
      'Noise_IKfallback_25519_AESGCM_SHA256',
      'Noise_IK_25519_AESGCM_SHA256_extra',
      'Noise_IK_25519_AESGCM_SHA256 ',
      'NoisePSK_IK_25519_AESGCM_SHA256',
    ]) {
      expectCode(() => parseProtocolName(name), 'ERR_HUBLESS_NOISE_UNSUPPORTED');
      expectCode(
        () => new HandshakeIK({ initiator: false, protocol: name, s: generateKeyPair() }),
        'ERR_HUBLESS_NOISE_UNSUPPORTED',
      );
    }
  });

  test('names are parsed into their parts', () => {
    const p = parseProtocolName('Noise_IKpsk0+psk2_25519_ChaChaPoly_BLAKE2s');
    assert.equal(p.pattern, 'IK');
    assert.deepEqual(p.modifiers, ['psk0', 'psk2']);
    assert.equal(p.cipher.name, 'ChaChaPoly');
    assert.equal(p.hash.name, 'BLAKE2s');
    assert.deepEqual(p.messages, [['psk', 'e', 'es', 's', 'ss'], ['e', 'ee', 'se', 'psk']]);
    // 42 bytes > HASHLEN 32: h = HASH(name)
    assert.deepEqual(Buffer.from(p.initialHash), createHash('blake2s256').update(p.name).digest());
    const q = parseProtocolName('Noise_IK_25519_AESGCM_SHA256');
    assert.deepEqual(Buffer.from(q.initialHash), Buffer.concat([Buffer.from(q.name), Buffer.alloc(4)]));
    assert.equal(parseProtocolName(q.name), q, 'cached');
  });

  test('SymmetricState can be built from a name', () => {
    const s = new SymmetricState('Noise_IK_25519_ChaChaPoly_SHA512');
    assert.equal(s.hash.name, 'SHA512');
    assert.equal(s.cipherState.hasKey(), false);
  });
});

// ---------------------------------------------------------------------------------------------

function pair(
  opts: { protocol?: string; prologue?: Uint8Array; psk?: HandshakeOptions['psk']; respPsk?: HandshakeOptions['psk'] } = {},
  keys: { i?: KeyPair; r?: KeyPair; dial?: Uint8Array } = {},
) {
  const iS = keys.i ?? generateKeyPair();
  const rS = keys.r ?? generateKeyPair();
  const init = new HandshakeIK({
    initiator: true,
    protocol: opts.protocol,
    prologue: opts.prologue,
    s: iS,
    rs: keys.dial ?? rS.publicKey,
    psk: opts.psk,
  });
  const resp = new HandshakeIK({
    initiator: false,
    protocol: opts.protocol,
    prologue: opts.prologue,
    s: rS,
    psk: opts.respPsk ?? opts.psk,
  });
  return { init, resp, iS, rS };
}

describe('IK handshake behaviour', () => {
  test('two fresh random parties derive matching transport keys, for every protocol', () => {
    for (const v of vectors) {
      const psk = randomBytes(32);
      const { init, resp, iS } = pair({ protocol: v.protocol_name, prologue: Buffer.from('hubless/1'), psk });
      assert.equal(init.isMyTurn, true);
      assert.equal(resp.isMyTurn, false);
      const m1 = init.writeMessage(Buffer.from('hello'));
      assert.equal(m1.length, 96 + 5);
      assert.equal(resp.readMessage(m1).toString(), 'hello');
      assert.deepEqual(resp.remoteStaticKey, new Uint8Array(iS.publicKey));
      const m2 = resp.writeMessage(Buffer.from('world'));
      assert.equal(m2.length, 48 + 5);
      assert.equal(init.readMessage(m2).toString(), 'world');
      const a = init.split();
      const b = resp.split();
      assert.equal(a.tx.length, 32);
      assert.deepEqual(a.tx, b.rx);
      assert.deepEqual(a.rx, b.tx);
      assert.notDeepEqual(a.tx, a.rx);
      assert.deepEqual(a.handshakeHash, b.handshakeHash);
      const name = parseProtocolName(v.protocol_name).cipher.name;
      const ct = new CipherState(name, a.tx).encryptWithAd(null, Buffer.from('data'));
      assert.equal(new CipherState(name, b.rx).decryptWithAd(null, ct).toString(), 'data');
    }
  });

  test('the default protocol is Noise_IK_25519_AESGCM_SHA256; empty payloads work', () => {
    const { init, resp } = pair();
    assert.equal(init.protocol.name, 'Noise_IK_25519_AESGCM_SHA256');
    const m1 = init.writeMessage();
    assert.equal(m1.length, 96);
    assert.equal(resp.readMessage(m1).length, 0);
    const m2 = resp.writeMessage();
    assert.equal(m2.length, 48);
    assert.equal(init.readMessage(m2).length, 0);
    assert.deepEqual(init.split().tx, resp.split().rx);
  });

  test('every tampered byte of message 1 fails at the responder with ERR_HUBLESS_HANDSHAKE_FAILED', () => {
    const iS = generateKeyPair();
    const rS = generateKeyPair();
    const m1 = pair({}, { i: iS, r: rS }).init.writeMessage(Buffer.from('payload'));
    for (let i = 0; i < m1.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(m1);
        bad[i] ^= bit;
        const { resp } = pair({}, { i: iS, r: rS });
        expectCode(() => resp.readMessage(bad), FAILED);
        assert.equal(resp.complete, false);
      }
    }
  });

  test('every tampered byte of message 2 fails at the initiator', () => {
    const len = 48 + 'payload'.length;
    for (let i = 0; i < len; i++) {
      const { init: a, resp: b } = pair();
      b.readMessage(a.writeMessage());
      const good = b.writeMessage(Buffer.from('payload'));
      const tampered = Buffer.from(good);
      tampered[i] ^= 0x80;
      expectCode(() => a.readMessage(tampered), FAILED);
      assert.equal(a.complete, false);
      assert.equal(a.remoteEphemeralKey, null);
      // A failed read leaves the state untouched: the genuine message still completes it.
      assert.equal(a.readMessage(good).toString(), 'payload');
      assert.deepEqual(a.split().tx, b.split().rx);
    }
  });

  test('a responder survives forged message 1 datagrams and then accepts the genuine one', () => {
    const { init, resp, iS } = pair();
    const m1 = init.writeMessage(Buffer.from('genuine'));
    for (let i = 0; i < m1.length; i += 7) {
      const bad = Buffer.from(m1);
      bad[i] ^= 0x10;
      expectCode(() => resp.readMessage(bad), FAILED);
      expectCode(() => resp.readMessage(m1.subarray(0, i)), FAILED);
      assert.equal(resp.remoteStaticKey, null);
      assert.equal(resp.isMyTurn, false);
    }
    expectCode(() => resp.readMessage(randomBytes(200)), FAILED);
    assert.equal(resp.readMessage(m1).toString(), 'genuine');
    assert.deepEqual(resp.remoteStaticKey, new Uint8Array(iS.publicKey));
    init.readMessage(resp.writeMessage());
    assert.deepEqual(init.split().tx, resp.split().rx);
  });

  test('a failure in writeMessage poisons the state', () => {
    const bad = new HandshakeIK({ initiator: true, s: generateKeyPair(), rs: new Uint8Array(32) });
    expectCode(() => bad.writeMessage(), FAILED);
    expectCode(() => bad.writeMessage(), FAILED);
  });

  test('truncated, oversized and garbage messages fail with the code, never another error', () => {
    const { init, resp } = pair();
    const m1 = init.writeMessage(Buffer.from('hi'));
    const rS = generateKeyPair();
    const respFor = () => new HandshakeIK({ initiator: false, s: rS });
    for (let n = 0; n < m1.length; n++) {
      expectCode(() => respFor().readMessage(m1.subarray(0, n)), FAILED);
    }
    expectCode(() => respFor().readMessage(Buffer.alloc(MAX_MESSAGE_LEN + 1)), FAILED);
    for (const bad of [null, undefined, 'string', 42, {}, [1, 2, 3]]) {
      expectCode(() => respFor().readMessage(bad as unknown as Uint8Array), FAILED);
    }
    for (let i = 0; i < 200; i++) {
      expectCode(() => respFor().readMessage(randomBytes(Math.floor(Math.random() * 300))), FAILED);
    }
    // Message 2 truncated at the initiator.
    resp.readMessage(m1);
    const m2 = resp.writeMessage(Buffer.from('there'));
    for (let n = 0; n < m2.length; n++) {
      const iS = generateKeyPair();
      const r2 = generateKeyPair();
      const a = new HandshakeIK({ initiator: true, s: iS, rs: r2.publicKey });
      const b = new HandshakeIK({ initiator: false, s: r2 });
      b.readMessage(a.writeMessage());
      const good = b.writeMessage(Buffer.from('there'));
      expectCode(() => a.readMessage(good.subarray(0, n)), FAILED);
    }
    assert.equal(init.readMessage(m2).toString(), 'there');
  });

  test('an initiator that dialled the wrong static key fails at the responder', () => {
    const wrong = generateKeyPair();
    const { init, resp } = pair({}, { dial: wrong.publicKey });
    const m1 = init.writeMessage(Buffer.from('hi'));
    expectCode(() => resp.readMessage(m1), FAILED);
    assert.equal(resp.remoteStaticKey, null);
  });

  test('a prologue mismatch fails at the responder', () => {
    const iS = generateKeyPair();
    const rS = generateKeyPair();
    const init = new HandshakeIK({ initiator: true, s: iS, rs: rS.publicKey, prologue: Buffer.from('a') });
    const resp = new HandshakeIK({ initiator: false, s: rS, prologue: Buffer.from('b') });
    expectCode(() => resp.readMessage(init.writeMessage()), FAILED);
  });

  test('low-order public keys are rejected', () => {
    const lowOrder = [
      Buffer.alloc(32),
      Buffer.concat([Buffer.of(1), Buffer.alloc(31)]),
      hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'),
    ];
    for (const bad of lowOrder) {
      // As the initiator's ephemeral in message 1.
      const { init, resp } = pair();
      const m1 = init.writeMessage();
      const forged = Buffer.from(m1);
      bad.copy(forged, 0);
      expectCode(() => resp.readMessage(forged), FAILED);
      // As the responder static the initiator dials.
      const i2 = new HandshakeIK({ initiator: true, s: generateKeyPair(), rs: bad });
      expectCode(() => i2.writeMessage(), FAILED);
    }
  });

  test('replaying message 1 to a new responder state gets a different ephemeral answer', () => {
    // Noise IK has no replay protection of its own: the responder accepts the replayed message 1
    // and answers with a fresh ephemeral. The replayer cannot read the answer or derive keys, but
    // the responder pays the DH work. Callers must reject replays themselves, e.g. with a
    // monotonic timestamp in the message 1 payload checked per initiator static key (WireGuard).
    const { init, iS, rS } = pair();
    const m1 = init.writeMessage(Buffer.from('ts=1'));
    const r1 = new HandshakeIK({ initiator: false, s: rS });
    const r2 = new HandshakeIK({ initiator: false, s: rS });
    assert.equal(r1.readMessage(m1).toString(), 'ts=1');
    assert.equal(r2.readMessage(m1).toString(), 'ts=1');
    assert.deepEqual(r2.remoteStaticKey, new Uint8Array(iS.publicKey));
    const a1 = r1.writeMessage();
    const a2 = r2.writeMessage();
    assert.notDeepEqual(a1.subarray(0, 32), a2.subarray(0, 32));
    assert.notDeepEqual(a1, a2);
    // The genuine initiator completes with the first; the replay's session keys differ.
    init.readMessage(a1);
    const k = init.split();
    assert.deepEqual(k.tx, r1.split().rx);
    assert.notDeepEqual(r2.split().rx, k.tx);
  });

  test('psk variants: a wrong psk fails, a psk callback sees the initiator static key', () => {
    for (const protocol of ['Noise_IKpsk1_25519_AESGCM_SHA256', 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b']) {
      const psk = randomBytes(32);
      const bad = pair({ protocol, psk, respPsk: randomBytes(32) });
      if (protocol.includes('psk1')) {
        expectCode(() => bad.resp.readMessage(bad.init.writeMessage()), FAILED);
      } else {
        bad.resp.readMessage(bad.init.writeMessage());
        expectCode(() => bad.init.readMessage(bad.resp.writeMessage()), FAILED);
      }
      let seen: Uint8Array | null = null;
      const good = pair({
        protocol,
        psk,
        respPsk: (i, rs) => {
          assert.equal(i, 0);
          seen = rs;
          return psk;
        },
      });
      good.resp.readMessage(good.init.writeMessage());
      good.init.readMessage(good.resp.writeMessage());
      assert.deepEqual(seen, new Uint8Array(good.iS.publicKey));
      assert.deepEqual(good.init.split().tx, good.resp.split().rx);
    }
    expectCode(
      () => new HandshakeIK({ initiator: false, protocol: 'Noise_IKpsk2_25519_AESGCM_SHA256', s: generateKeyPair() }),
      'ERR_HUBLESS_NOISE_INVALID_ARGUMENT',
    );
  });

  test('psk0+psk2 combination completes', () => {
    const psk = [randomBytes(32), randomBytes(32)];
    const { init, resp } = pair({ protocol: 'Noise_IKpsk0+psk2_25519_ChaChaPoly_SHA256', psk });
    resp.readMessage(init.writeMessage());
    init.readMessage(resp.writeMessage());
    assert.deepEqual(init.split().rx, resp.split().tx);
  });

  test('out-of-order use throws ERR_HUBLESS_NOISE_STATE', () => {
    const { init, resp } = pair();
    expectCode(() => resp.writeMessage(), 'ERR_HUBLESS_NOISE_STATE');
    expectCode(() => init.readMessage(Buffer.alloc(48)), 'ERR_HUBLESS_NOISE_STATE');
    expectCode(() => init.split(), 'ERR_HUBLESS_NOISE_STATE');
    const m1 = init.writeMessage();
    expectCode(() => init.writeMessage(), 'ERR_HUBLESS_NOISE_STATE');
    resp.readMessage(m1);
    const m2 = resp.writeMessage();
    expectCode(() => resp.writeMessage(), 'ERR_HUBLESS_NOISE_STATE');
    init.readMessage(m2);
    expectCode(() => init.readMessage(m2), 'ERR_HUBLESS_NOISE_STATE');
    init.split();
    expectCode(() => init.split(), 'ERR_HUBLESS_NOISE_STATE');
  });

  test('bad options and oversized payloads are ERR_HUBLESS_NOISE_INVALID_ARGUMENT', () => {
    const kp = generateKeyPair();
    const code = 'ERR_HUBLESS_NOISE_INVALID_ARGUMENT';
    expectCode(() => new HandshakeIK({ initiator: true, s: kp }), code);
    expectCode(() => new HandshakeIK({ initiator: true, s: kp, rs: new Uint8Array(31) }), code);
    expectCode(() => new HandshakeIK({ initiator: false, s: { publicKey: kp.publicKey, secretKey: new Uint8Array(3) } }), code);
    expectCode(() => new HandshakeIK(null as unknown as HandshakeOptions), code);
    const { init, resp } = pair();
    expectCode(() => init.writeMessage(new Uint8Array(MAX_MESSAGE_LEN - 96 + 1)), code);
    const m1 = init.writeMessage(new Uint8Array(MAX_MESSAGE_LEN - 96));
    assert.equal(m1.length, MAX_MESSAGE_LEN);
    assert.equal(resp.readMessage(m1).length, MAX_MESSAGE_LEN - 96);
  });

  test('split() wipes the handshake secrets it owns', () => {
    const { init, resp } = pair();
    resp.readMessage(init.writeMessage());
    init.readMessage(resp.writeMessage());
    const { handshakeHash } = init.split();
    const st = (init as unknown as { ss: SymmetricState }).ss;
    assert.ok(st.ck.every((b) => b === 0));
    assert.ok(st.h.every((b) => b === 0));
    assert.ok(handshakeHash.some((b) => b !== 0));
    assert.equal(init.localEphemeralKey, null);
  });
});

describe('StaticDhCache', () => {
  test('serves DH(s, rs), bounded, least recently used first out, wiped on eviction', () => {
    const local = generateKeyPair();
    const cache = new StaticDhCache(local, 2);
    const peers = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
    const out = new Uint8Array(32);
    const direct = new Uint8Array(32);
    cache.dh(out, peers[0].publicKey);
    const first = cache.entryView(peers[0].publicKey)!;
    // DH(local, peer0) == DH(peer0, local)
    new StaticDhCache(peers[0]).dh(direct, local.publicKey);
    assert.deepEqual(out, direct);
    cache.dh(out, peers[1].publicKey);
    cache.dh(out, peers[0].publicKey); // peer0 is now the most recent
    cache.dh(out, peers[2].publicKey); // evicts peer1
    assert.equal(cache.size, 2);
    assert.ok(first.some((b) => b !== 0), 'peer0 entry kept');
    assert.equal(cache.delete(peers[1].publicKey), false);
    assert.equal(cache.delete(peers[0].publicKey), true);
    assert.ok(first.every((b) => b === 0), 'deleted entry wiped');
    cache.clear();
    assert.equal(cache.size, 0);
  });

  test('a low-order peer key fails and is not cached', () => {
    const cache = new StaticDhCache(generateKeyPair());
    expectCode(() => cache.dh(new Uint8Array(32), new Uint8Array(32)), FAILED);
    assert.equal(cache.size, 0);
  });

  test('a handshake refuses a cache built for another key pair', () => {
    const s = generateKeyPair();
    expectCode(
      () => new HandshakeIK({ initiator: false, s, staticDhCache: new StaticDhCache(generateKeyPair()) }),
      'ERR_HUBLESS_NOISE_INVALID_ARGUMENT',
    );
  });

  test('repeat handshakes through caches agree with each other', () => {
    const iS = generateKeyPair();
    const rS = generateKeyPair();
    const ci = new StaticDhCache(iS);
    const cr = new StaticDhCache(rS);
    for (let k = 0; k < 3; k++) {
      const init = new HandshakeIK({ initiator: true, s: iS, rs: rS.publicKey, staticDhCache: ci });
      const resp = new HandshakeIK({ initiator: false, s: rS, staticDhCache: cr });
      resp.readMessage(init.writeMessage());
      init.readMessage(resp.writeMessage());
      assert.deepEqual(init.split().tx, resp.split().rx);
    }
    assert.equal(ci.size, 1);
    assert.equal(cr.size, 1);
  });
});
