// Typed view of the part of sodium-native that the identity layer uses. sodium-native ships no
// type declarations; loading it through createRequire and casting to a local interface keeps the
// typing private to this folder, so it cannot clash with declarations other modules may add.
import { createRequire } from 'node:module';

export interface IdentitySodium {
  crypto_pwhash(out: Uint8Array, passwd: Uint8Array, salt: Uint8Array, ops: number, mem: number, alg: number): void;
  crypto_pwhash_async(
    out: Uint8Array, passwd: Uint8Array, salt: Uint8Array, ops: number, mem: number, alg: number,
  ): Promise<void>;
  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_pwhash_SALTBYTES: number;
  crypto_pwhash_BYTES_MIN: number;
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void;
  crypto_sign_keypair(pk: Uint8Array, sk: Uint8Array): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
  crypto_sign_ed25519_pk_to_curve25519(x25519Pk: Uint8Array, ed25519Pk: Uint8Array): void;
  crypto_sign_ed25519_sk_to_curve25519(x25519Sk: Uint8Array, ed25519Sk: Uint8Array): void;
  crypto_sign_SEEDBYTES: number;
  crypto_sign_PUBLICKEYBYTES: number;
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_BYTES: number;
  randombytes_buf(buf: Uint8Array): void;
  sodium_malloc(size: number): Buffer;
  sodium_memzero(buf: Uint8Array): void;
  sodium_memcmp(a: Uint8Array, b: Uint8Array): boolean;
}

const require = createRequire(import.meta.url);
export const sodium = require('sodium-native') as IdentitySodium;
