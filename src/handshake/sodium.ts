// Typed view of the part of sodium-native that the hubless handshake (outside the Noise core)
// uses: keyed BLAKE2b for mac1/mac2/cookies, XChaCha20-Poly1305 for cookie replies, and the
// Ed25519 → X25519 public key conversion. Same pattern as the other folders: a private interface
// over createRequire, so that typings cannot clash between modules.
import { createRequire } from 'node:module';

export interface HandshakeSodium {
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array): void;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array,
  ): number;
  /** Throws when authentication fails. */
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array,
  ): number;
  /** Throws for a point that is not a valid Ed25519 public key. */
  crypto_sign_ed25519_pk_to_curve25519(x25519Pk: Uint8Array, ed25519Pk: Uint8Array): void;
  randombytes_buf(buf: Uint8Array): void;
  sodium_memzero(buf: Uint8Array): void;
}

const require = createRequire(import.meta.url);
export const sodium = require('sodium-native') as HandshakeSodium;
