// Test helper: Ed25519 key pairs and their X25519 conversions without deriving a node id (no
// Argon2), for tests that only exercise the handshake messages.
import { createRequire } from 'node:module';
import { LocalStatic } from '../../src/handshake/messages.js';

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_sign_keypair(pk: Uint8Array, sk: Uint8Array): void;
  crypto_sign_ed25519_pk_to_curve25519(x: Uint8Array, ed: Uint8Array): void;
  crypto_sign_ed25519_sk_to_curve25519(x: Uint8Array, ed: Uint8Array): void;
};

export interface TestKeys {
  publicKey: Buffer;
  x25519KeyPair: { publicKey: Buffer; secretKey: Buffer };
}

export function testKeys(): TestKeys {
  const publicKey = Buffer.alloc(32);
  const sk = Buffer.alloc(64);
  sodium.crypto_sign_keypair(publicKey, sk);
  const xPub = Buffer.alloc(32);
  const xSec = Buffer.alloc(32);
  sodium.crypto_sign_ed25519_pk_to_curve25519(xPub, publicKey);
  sodium.crypto_sign_ed25519_sk_to_curve25519(xSec, sk);
  return { publicKey, x25519KeyPair: { publicKey: xPub, secretKey: xSec } };
}

export function testLocal(keys: TestKeys = testKeys()): LocalStatic {
  return new LocalStatic(keys);
}
