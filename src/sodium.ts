// Typed view of the part of sodium-native that hubless uses. sodium-native ships no type
// declarations; loading it through createRequire and casting to this interface keeps the typing
// private to the package (no global `declare module` to clash with a consumer's own).
import { createRequire } from 'node:module';

type Bytes = Uint8Array;

export interface Sodium {
  // Ed25519 identities and record signatures
  crypto_sign_keypair(pk: Bytes, sk: Bytes): void;
  crypto_sign_seed_keypair(pk: Bytes, sk: Bytes, seed: Bytes): void;
  crypto_sign_detached(sig: Bytes, msg: Bytes, sk: Bytes): void;
  crypto_sign_verify_detached(sig: Bytes, msg: Bytes, pk: Bytes): boolean;
  /** Throws for a point that is not a valid Ed25519 public key. */
  crypto_sign_ed25519_pk_to_curve25519(x25519Pk: Bytes, ed25519Pk: Bytes): void;
  crypto_sign_ed25519_sk_to_curve25519(x25519Sk: Bytes, ed25519Sk: Bytes): void;
  crypto_sign_SEEDBYTES: number;
  crypto_sign_PUBLICKEYBYTES: number;
  crypto_sign_SECRETKEYBYTES: number;
  crypto_sign_BYTES: number;
  // Address derivation (Argon2id)
  crypto_pwhash(out: Bytes, passwd: Bytes, salt: Bytes, ops: number, mem: number, alg: number): void;
  crypto_pwhash_async(out: Bytes, passwd: Bytes, salt: Bytes, ops: number, mem: number, alg: number): Promise<void>;
  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_pwhash_SALTBYTES: number;
  crypto_pwhash_BYTES_MIN: number;
  // Noise: X25519 and hashes
  crypto_scalarmult(q: Bytes, n: Bytes, p: Bytes): void;
  crypto_scalarmult_base(q: Bytes, n: Bytes): void;
  crypto_hash_sha256(out: Bytes, input: Bytes): void;
  crypto_hash_sha512(out: Bytes, input: Bytes): void;
  crypto_generichash(out: Bytes, input: Bytes, key?: Bytes): void;
  // AEADs used in JS: ChaChaPoly for Noise, XChaCha for cookie replies (both throw on a bad tag)
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Bytes, nsec: null, c: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): number;
  crypto_aead_xchacha20poly1305_ietf_encrypt(c: Bytes, m: Bytes, ad: Bytes | null, nsec: null, npub: Bytes, k: Bytes): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(m: Bytes, nsec: null, c: Bytes, ad: Bytes | null, npub: Bytes, k: Bytes): number;
  // Memory
  randombytes_buf(buf: Bytes): void;
  sodium_malloc(size: number): Buffer;
  sodium_memzero(buf: Bytes): void;
  sodium_memcmp(a: Bytes, b: Bytes): boolean;
}

const require = createRequire(import.meta.url);
export const sodium = require('sodium-native') as Sodium;
