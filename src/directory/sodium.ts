// The slice of sodium-native the directory uses (Ed25519 sign/verify). sodium-native ships no
// type declarations; this local typed view keeps the typing private to the folder.
import { createRequire } from 'node:module';

interface DirectorySodium {
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
  crypto_sign_keypair(pk: Uint8Array, sk: Uint8Array): void;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_BYTES: number;
  crypto_sign_PUBLICKEYBYTES: number;
  crypto_sign_SECRETKEYBYTES: number;
}

const require = createRequire(import.meta.url);
export const sodium = require('sodium-native') as DirectorySodium;
