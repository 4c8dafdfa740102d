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

/** StaticDhCache slabs: the first holds 8 entries, each next one twice as many, up to 128 (4 KiB). */
const FIRST_SLAB_ENTRIES = 8;
const MAX_SLAB_ENTRIES = 128;

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
 * from throwaway static keys only causes misses, never growth. Values live in a few shared
 * slabs (a node keeps one entry per peer: no buffer object of its own per entry); a slot is
 * slab number × 256 + entry in the slab.
 */
export class StaticDhCache {
  /** The local static public key this cache belongs to (a copy). */
  readonly publicKey: Uint8Array;
  readonly maxEntries: number;
  private readonly secretKey: Uint8Array;
  /** Remote static key (latin1) → slot; Map order is the recency order. */
  private readonly entries = new Map<string, number>();
  private readonly slabs: Buffer[] = [];
  /** Slots freed by delete(), reused before new ones. */
  private readonly free: number[] = [];
  /** Entries handed out from the last slab, and the capacity of all slabs. */
  private lastUsed = 0;
  private capacity = 0;

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
    let slot = this.entries.get(id);
    if (slot !== undefined) {
      this.entries.delete(id);
      this.entries.set(id, slot);
      out.set(this.#view(slot));
      return;
    }
    dh(out, this.secretKey, remoteStatic);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      slot = this.entries.get(oldest)!;
      this.entries.delete(oldest);
    } else {
      slot = this.#newSlot();
    }
    this.#view(slot).set(out);
    this.entries.set(id, slot);
  }

  /** Forgets (and wipes) the entry of one peer. */
  delete(remoteStatic: Uint8Array): boolean {
    const id = Buffer.from(remoteStatic.buffer, remoteStatic.byteOffset, DHLEN).toString('latin1');
    const slot = this.entries.get(id);
    if (slot === undefined) return false;
    this.#view(slot).fill(0);
    this.free.push(slot);
    return this.entries.delete(id);
  }

  /** @internal The memory holding one peer's entry (tests check the wiping through it). */
  entryView(remoteStatic: Uint8Array): Uint8Array | null {
    const slot = this.entries.get(Buffer.from(remoteStatic.buffer, remoteStatic.byteOffset, DHLEN).toString('latin1'));
    return slot === undefined ? null : this.#view(slot);
  }

  /** Forgets and wipes every entry. */
  clear(): void {
    for (const slab of this.slabs) slab.fill(0);
    this.slabs.length = 0;
    this.entries.clear();
    this.free.length = 0;
    this.lastUsed = 0;
    this.capacity = 0;
  }

  /** A slot for a new entry (called only while the cache holds fewer than maxEntries). */
  #newSlot(): number {
    const slot = this.free.pop();
    if (slot !== undefined) return slot;
    const n = this.slabs.length;
    if (n === 0 || this.lastUsed === this.slabs[n - 1].length / DHLEN) {
      const prev = n === 0 ? FIRST_SLAB_ENTRIES / 2 : this.slabs[n - 1].length / DHLEN;
      const entries = Math.min(MAX_SLAB_ENTRIES, prev * 2, this.maxEntries - this.capacity);
      this.slabs.push(Buffer.alloc(entries * DHLEN));
      this.capacity += entries;
      this.lastUsed = 0;
    }
    return (this.slabs.length - 1) * 256 + this.lastUsed++;
  }

  /** A slot's 32 bytes (a new view: callers use it at once). */
  #view(slot: number): Buffer {
    const off = (slot & 255) * DHLEN;
    return this.slabs[slot >>> 8].subarray(off, off + DHLEN);
  }
}
