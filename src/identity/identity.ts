// A node's identity: an Ed25519 key pair (signatures on directory records, the id binding), the
// X25519 static key pair derived from it (Noise IK), the address nonce and the derived address.
//
// Secret keys live in sodium_malloc memory (guard pages, mlock'd where the OS allows, zeroed on
// destroy()). They are not mprotect'ed read-only: a stray write would then kill the process with
// SIGSEGV and no stack, and signing must stay cheap. Seeds read from a key file pass through
// ordinary JS memory while being decoded (see keyfile.ts).
import { HublessError } from '../errors.js';
import { Address, NETWORK_BACKBONE } from './address.js';
import { deriveFirstUsable, deriveNodeId, PUBLIC_KEY_BYTES } from './derive.js';
import { sodium } from '../sodium.js';

export const SEED_BYTES = 32;
export const SECRET_KEY_BYTES = 64;
export const SIGNATURE_BYTES = 64;

export interface IdentityOptions {
  /** Network of `address` (default 0, the backbone). The node id does not depend on it. */
  network?: number;
  /** Address nonce. Omitted: the first usable nonce from 0 (what a new identity gets). */
  nonce?: number;
}

export interface X25519KeyPair {
  publicKey: Buffer;
  secretKey: Buffer;
}

function badKey(message: string): HublessError {
  return new HublessError('ERR_HUBLESS_BAD_KEY', message);
}

export class Identity {
  /** Ed25519 public key (32 bytes). */
  readonly publicKey: Buffer;
  /** X25519 public key derived from the Ed25519 key (Noise static key). */
  readonly x25519PublicKey: Buffer;
  readonly nonce: number;
  readonly nodeId: number;
  readonly address: Address;
  readonly #secretKey: Buffer; // libsodium layout: seed ‖ public key
  readonly #x25519SecretKey: Buffer;
  #destroyed = false;

  private constructor(secretKey: Buffer, publicKey: Buffer, nonce: number, nodeId: number, network: number) {
    this.#secretKey = secretKey;
    this.publicKey = publicKey;
    this.nonce = nonce;
    this.nodeId = nodeId;
    this.address = Address.of(network, nodeId);
    this.x25519PublicKey = Buffer.alloc(32);
    sodium.crypto_sign_ed25519_pk_to_curve25519(this.x25519PublicKey, publicKey);
    this.#x25519SecretKey = sodium.sodium_malloc(32);
    sodium.crypto_sign_ed25519_sk_to_curve25519(this.#x25519SecretKey, secretKey);
  }

  /** A fresh random identity, in memory only (one address-hash evaluation, ~28 ms). */
  static async generate(options: IdentityOptions = {}): Promise<Identity> {
    const seed = sodium.sodium_malloc(SEED_BYTES);
    sodium.randombytes_buf(seed);
    try {
      return await Identity.fromSecretKey(seed, options);
    } finally {
      sodium.sodium_memzero(seed);
    }
  }

  /**
   * From a 32-byte seed or a 64-byte libsodium secret key (seed ‖ public key; the public half
   * must match the seed). The input is copied; the caller may wipe it afterwards.
   */
  static async fromSecretKey(secretKey: Uint8Array, options: IdentityOptions = {}): Promise<Identity> {
    if (!(secretKey instanceof Uint8Array)) throw badKey('secret key must be a Uint8Array');
    if (secretKey.length !== SEED_BYTES && secretKey.length !== SECRET_KEY_BYTES) {
      throw badKey(`secret key must be ${SEED_BYTES} (seed) or ${SECRET_KEY_BYTES} bytes, got ${secretKey.length}`);
    }
    const network = options.network ?? NETWORK_BACKBONE;
    Address.of(network, 1); // validate the network before paying for the hash
    const publicKey = Buffer.alloc(PUBLIC_KEY_BYTES);
    const sk = sodium.sodium_malloc(SECRET_KEY_BYTES);
    sodium.crypto_sign_seed_keypair(publicKey, sk, secretKey.subarray(0, SEED_BYTES));
    if (secretKey.length === SECRET_KEY_BYTES && !publicKey.equals(secretKey.subarray(SEED_BYTES))) {
      sodium.sodium_memzero(sk);
      throw new HublessError('ERR_HUBLESS_KEY_MISMATCH', 'the public half of the secret key does not match its seed');
    }
    try {
      const binding = options.nonce === undefined
        ? await deriveFirstUsable(publicKey, 0)
        : { nonce: options.nonce, nodeId: await deriveNodeId(publicKey, options.nonce) };
      return new Identity(sk, publicKey, binding.nonce, binding.nodeId, network);
    } catch (err) {
      sodium.sodium_memzero(sk);
      throw err;
    }
  }

  get network(): number {
    return this.address.network;
  }

  /** This node's address in another network (same node id: the id is bound to the key only). */
  addressIn(network: number): Address {
    return this.address.withNetwork(network);
  }

  /** The Noise static key pair. `secretKey` is this identity's secure buffer: read, never keep or modify. */
  get x25519KeyPair(): X25519KeyPair {
    this.#alive();
    return { publicKey: this.x25519PublicKey, secretKey: this.#x25519SecretKey };
  }

  /** A copy of the 32-byte seed in secure memory (for the key file). Wipe it after use. */
  exportSeed(): Buffer {
    this.#alive();
    const seed = sodium.sodium_malloc(SEED_BYTES);
    this.#secretKey.copy(seed, 0, 0, SEED_BYTES);
    return seed;
  }

  /** Detached Ed25519 signature (64 bytes). */
  sign(message: Uint8Array): Buffer {
    this.#alive();
    if (!(message instanceof Uint8Array)) {
      throw new HublessError('ERR_HUBLESS_BAD_ARGUMENT', 'message must be a Uint8Array');
    }
    const sig = Buffer.alloc(SIGNATURE_BYTES);
    sodium.crypto_sign_detached(sig, message, this.#secretKey);
    return sig;
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return verify(this.publicKey, message, signature);
  }

  /** Zeroes the secret keys; the identity can no longer sign. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    sodium.sodium_memzero(this.#secretKey);
    sodium.sodium_memzero(this.#x25519SecretKey);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Public fields only, so that logging an identity never leaks a secret. */
  toJSON(): { address: string; publicKey: string; nonce: number } {
    return { address: this.address.toString(), publicKey: this.publicKey.toString('hex'), nonce: this.nonce };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Identity(${this.address.toString()} ${this.publicKey.toString('hex')} nonce=${this.nonce})`;
  }

  #alive(): void {
    if (this.#destroyed) throw new HublessError('ERR_HUBLESS_DESTROYED', 'identity was destroyed');
  }
}

/**
 * Checks a detached Ed25519 signature. Malformed input of the right type (wrong lengths, as
 * may arrive from a peer) gives false rather than an exception.
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new HublessError('ERR_HUBLESS_BAD_ARGUMENT', 'publicKey, message and signature must be Uint8Arrays');
  }
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  return sodium.crypto_sign_verify_detached(signature, message, publicKey);
}
