// Noise DH functions (spec rev 34, §4.1, §12.1): Curve25519 (X25519) from sodium-native.
import { handshakeFailed, invalidArgument } from './errors.js';
import { sodium } from '../../sodium.js';

/** DHLEN for 25519. */
export const DHLEN = 32;

export interface KeyPair {
  /** 32-byte X25519 public key. */
  publicKey: Uint8Array;
  /** 32-byte X25519 secret scalar (clamped by X25519 itself, so any 32 bytes are valid). */
  secretKey: Uint8Array;
}

/** Produces a fresh ephemeral key pair; injectable for tests (fixed vectors) and benchmarks. */
export type EphemeralGenerator = () => KeyPair;

/** GENERATE_KEYPAIR(): a new random X25519 key pair. */
export function generateKeyPair(): KeyPair {
  const secretKey = new Uint8Array(DHLEN);
  sodium.randombytes_buf(secretKey);
  const publicKey = new Uint8Array(DHLEN);
  sodium.crypto_scalarmult_base(publicKey, secretKey);
  return { publicKey, secretKey };
}

/** The X25519 key pair for a given 32-byte secret key (the secret is copied). */
export function keyPairFromSecretKey(secretKey: Uint8Array): KeyPair {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== DHLEN) {
    throw invalidArgument('an X25519 secret key is 32 bytes');
  }
  const sk = Uint8Array.from(secretKey);
  const publicKey = new Uint8Array(DHLEN);
  sodium.crypto_scalarmult_base(publicKey, sk);
  return { publicKey, secretKey: sk };
}

/**
 * DH(secretKey, publicKey) into `out` (32 bytes). Rejects an all-zero result, which is what a
 * low-order (small-subgroup) public key produces whatever our secret is: such a key carries no
 * contribution from the peer, so it fails with ERR_HUBLESS_HANDSHAKE_FAILED (Noise §12.1 allows
 * rejecting it; libsodium's crypto_scalarmult signals it and we check again ourselves).
 */
export function dh(out: Uint8Array, secretKey: Uint8Array, publicKey: Uint8Array): void {
  if (!(out instanceof Uint8Array) || !(secretKey instanceof Uint8Array) || !(publicKey instanceof Uint8Array) ||
      out.length !== DHLEN || secretKey.length !== DHLEN || publicKey.length !== DHLEN) {
    throw invalidArgument('X25519 keys and outputs are 32 bytes');
  }
  try {
    sodium.crypto_scalarmult(out, secretKey, publicKey);
  } catch (err) {
    out.fill(0);
    throw handshakeFailed('X25519 produced the all-zero output: the peer key is a low-order point', err);
  }
  let acc = 0;
  for (let i = 0; i < DHLEN; i++) acc |= out[i];
  if (acc === 0) throw handshakeFailed('X25519 produced the all-zero output: the peer key is a low-order point');
}

function equalKeys(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/**
 * Cache of the static-static DH result DH(s, rs) per remote static key, for one local static key
 * pair: WireGuard's "precomputed static-static". IK's "ss" token depends only on the two static
 * keys, so with this cache a repeat handshake with the same peer costs 4 X25519 operations per
 * side instead of 5 (about 15% of a full handshake's time here).
 *
 * The cached values are as secret as the static keys themselves (wiped by clear() and on
 * eviction). Memory is bounded (least recently used entries go first), so a flood of handshakes
 * from throwaway static keys only causes misses, never growth.
 */
export class StaticDhCache {
  /** The local static public key this cache belongs to (a copy). */
  readonly publicKey: Uint8Array;
  readonly maxEntries: number;
  private readonly secretKey: Uint8Array;
  private readonly entries = new Map<string, Uint8Array>();

  /** `local` is kept by reference for its secret key: do not mutate it while the cache is in use. */
  constructor(local: KeyPair, maxEntries = 4096) {
    if (local === null || typeof local !== 'object' || !(local.publicKey instanceof Uint8Array) ||
        local.publicKey.length !== DHLEN || !(local.secretKey instanceof Uint8Array) || local.secretKey.length !== DHLEN) {
      throw invalidArgument('StaticDhCache needs an X25519 key pair of 32-byte keys');
    }
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw invalidArgument('maxEntries must be a positive integer');
    this.publicKey = Uint8Array.from(local.publicKey);
    this.secretKey = local.secretKey;
    this.maxEntries = maxEntries;
  }

  /** True when this cache was built for the key pair whose public key is `publicKey`. */
  belongsTo(publicKey: Uint8Array): boolean {
    return equalKeys(this.publicKey, publicKey);
  }

  get size(): number {
    return this.entries.size;
  }

  /** DH(s, remoteStatic) into `out` (32 bytes), computed on a miss; throws like dh(). */
  dh(out: Uint8Array, remoteStatic: Uint8Array): void {
    const id = Buffer.from(remoteStatic.buffer, remoteStatic.byteOffset, DHLEN).toString('latin1');
    let v = this.entries.get(id);
    if (v !== undefined) {
      this.entries.delete(id);
    } else {
      v = new Uint8Array(DHLEN);
      dh(v, this.secretKey, remoteStatic);
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.get(oldest)!.fill(0);
        this.entries.delete(oldest);
      }
    }
    this.entries.set(id, v);
    out.set(v);
  }

  /** Forgets (and wipes) the entry of one peer. */
  delete(remoteStatic: Uint8Array): boolean {
    const id = Buffer.from(remoteStatic.buffer, remoteStatic.byteOffset, DHLEN).toString('latin1');
    const v = this.entries.get(id);
    if (v === undefined) return false;
    v.fill(0);
    return this.entries.delete(id);
  }

  /** Forgets and wipes every entry. */
  clear(): void {
    for (const v of this.entries.values()) v.fill(0);
    this.entries.clear();
  }
}
