// Typed view of the part of sodium-native that the Noise core uses. sodium-native ships no type
// declarations; loading it through createRequire and casting to a local interface keeps the typing
// private to this folder, so it cannot clash with declarations other modules may add.
import { createRequire } from 'node:module';

export interface NoiseSodium {
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
  crypto_hash_sha512(out: Uint8Array, input: Uint8Array): void;
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void;
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array,
  ): number;
  randombytes_buf(buf: Uint8Array): void;
  sodium_memzero(buf: Uint8Array): void;
}

const require = createRequire(import.meta.url);
export const sodium = require('sodium-native') as NoiseSodium;
