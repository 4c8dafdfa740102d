import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import { Identity, verify } from '../../src/identity/identity.js';
import { deriveNodeId, verifyBinding } from '../../src/identity/derive.js';
import { hasCode } from '../../src/errors.js';

const sodium = createRequire(import.meta.url)('sodium-native');
const SEED = Buffer.alloc(32, 0);

test('generate: a fresh key with a bound, unicast address in network 0', async () => {
  const id = await Identity.generate();
  assert.equal(id.publicKey.length, 32);
  assert.equal(id.address.network, 0);
  assert.ok(id.address.isUnicast);
  assert.equal(id.address.node, id.nodeId);
  assert.equal(await verifyBinding(id.publicKey, id.nonce, id.nodeId), true);
  const other = await Identity.generate({ network: 9 });
  assert.equal(other.address.network, 9);
  assert.ok(!other.publicKey.equals(id.publicKey));
});

test('fromSecretKey: same seed, same address; 64-byte key accepted; nonce honoured', async () => {
  const a = await Identity.fromSecretKey(SEED);
  const b = await Identity.fromSecretKey(Buffer.from(SEED));
  assert.ok(a.address.equals(b.address));
  assert.equal(a.address.toString(), '0:0000.08dd.1b97'); // test vector: all-zero seed, nonce 0
  assert.equal(a.publicKey.toString('hex'), '3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29');

  const full = Buffer.concat([SEED, a.publicKey]);
  assert.ok((await Identity.fromSecretKey(full)).address.equals(a.address));

  const n1 = await Identity.fromSecretKey(SEED, { nonce: 1, network: 3 });
  assert.equal(n1.nonce, 1);
  assert.equal(n1.nodeId, await deriveNodeId(a.publicKey, 1));
  assert.equal(n1.address.toString(), '3:0003.dd9d.3253');
  assert.equal(n1.addressIn(0).toString(), '0:0000.dd9d.3253');
});

test('fromSecretKey rejects bad input', async () => {
  await assert.rejects(Identity.fromSecretKey(Buffer.alloc(31)), (e) => hasCode(e, 'ERR_HUBLESS_BAD_KEY'));
  const bad = Buffer.concat([SEED, Buffer.alloc(32, 1)]);
  await assert.rejects(Identity.fromSecretKey(bad), (e) => hasCode(e, 'ERR_HUBLESS_KEY_MISMATCH'));
  await assert.rejects(Identity.fromSecretKey(SEED, { network: 70000 }), (e) => hasCode(e, 'ERR_HUBLESS_BAD_ADDRESS'));
  await assert.rejects(Identity.fromSecretKey(SEED, { nonce: -1 }), (e) => hasCode(e, 'ERR_HUBLESS_BAD_NONCE'));
});

test('sign / verify', async () => {
  const id = await Identity.generate();
  const msg = Buffer.from('record v1');
  const sig = id.sign(msg);
  assert.equal(sig.length, 64);
  assert.equal(verify(id.publicKey, msg, sig), true);
  assert.equal(id.verify(msg, sig), true);
  assert.equal(verify(id.publicKey, Buffer.from('record v2'), sig), false);
  const tampered = Buffer.from(sig);
  tampered[10] ^= 1;
  assert.equal(verify(id.publicKey, msg, tampered), false);
  assert.equal(verify(id.publicKey, msg, sig.subarray(0, 63)), false);
  assert.equal(verify(id.publicKey.subarray(0, 31), msg, sig), false);
  assert.throws(() => verify(id.publicKey, 'x' as unknown as Uint8Array, sig), (e) => hasCode(e, 'ERR_HUBLESS_BAD_ARGUMENT'));
});

test('X25519 static keys derived from the identity agree in Diffie-Hellman', async () => {
  const a = await Identity.generate();
  const b = await Identity.generate();
  const pub = Buffer.alloc(32);
  sodium.crypto_scalarmult_base(pub, a.x25519KeyPair.secretKey);
  assert.ok(pub.equals(a.x25519PublicKey));
  const ab = Buffer.alloc(32);
  const ba = Buffer.alloc(32);
  sodium.crypto_scalarmult(ab, a.x25519KeyPair.secretKey, b.x25519PublicKey);
  sodium.crypto_scalarmult(ba, b.x25519KeyPair.secretKey, a.x25519PublicKey);
  assert.ok(ab.equals(ba));
});

test('secrets never leak through JSON or inspect; destroy wipes them', async () => {
  const id = await Identity.fromSecretKey(Buffer.alloc(32, 9));
  const seedB64 = Buffer.alloc(32, 9).toString('base64');
  const seedHex = Buffer.alloc(32, 9).toString('hex');
  for (const text of [JSON.stringify(id), inspect(id, { showHidden: true, depth: 5 })]) {
    assert.ok(!text.includes(seedB64) && !text.includes(seedHex), text);
  }
  assert.ok(id.exportSeed().equals(Buffer.alloc(32, 9)));
  const x = id.x25519KeyPair.secretKey;
  id.destroy();
  assert.ok(id.destroyed);
  assert.ok(x.equals(Buffer.alloc(32)));
  assert.throws(() => id.sign(Buffer.alloc(1)), (e) => hasCode(e, 'ERR_HUBLESS_DESTROYED'));
  assert.throws(() => id.exportSeed(), (e) => hasCode(e, 'ERR_HUBLESS_DESTROYED'));
});
