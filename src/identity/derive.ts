// Node id bound to the key: id = first 32 bits (big endian) of
//   Argon2id13(password = publicKey(32) ‖ nonce(u32 BE), salt = NODE_ID_SALT, ops, mem), 16-byte output.
// Anyone can check a claimed (key, nonce, id) with one evaluation, without trusting the directory;
// the memory-hard hash makes grinding for a chosen id cost ~2^32 evaluations (see docs/IDENTITY.md).
//
// The parameters are part of the address format: changing any of them changes every address, so
// they are fixed constants, never tuned per machine. A new set would need a new salt label (v2).
import { HublessError } from '../errors.js';
import { type Address, isReservedNodeId } from './address.js';
import { sodium } from '../sodium.js';

export const PUBLIC_KEY_BYTES = 32;
export const NONCE_MAX = 0xffffffff;
/** Argon2id 1.3. */
export const NODE_ID_PWHASH_ALG = sodium.crypto_pwhash_ALG_ARGON2ID13;
/** Passes. With 32 MiB, one evaluation measured 28–32 ms (median of 40, several runs; p90 38 ms)
 * on one core of this machine's AMD EPYC (2-core VM, 2026-11, sodium-native 5.1), sync and async
 * alike. 1 pass over 48 MiB cost the same; 2 passes avoid the single-pass trade-off attacks. */
export const NODE_ID_PWHASH_OPSLIMIT = 2;
/** 32 MiB per evaluation. */
export const NODE_ID_PWHASH_MEMLIMIT = 32 * 1024 * 1024;
/** BLAKE2b-128("hubless-addr-v1") (crypto_generichash, 16-byte output, no key). */
export const NODE_ID_SALT: Buffer = Buffer.from('8a3238da4351e87a53bfdeb997de02ea', 'hex');
export const NODE_ID_SALT_LABEL = 'hubless-addr-v1';
const HASH_BYTES = 16;

/** Maps (publicKey, nonce) to the raw 32-bit hash value; injectable for tests. */
export type NodeIdHash = (publicKey: Uint8Array, nonce: number) => number | Promise<number>;
export type NodeIdHashSync = (publicKey: Uint8Array, nonce: number) => number;

export interface NodeIdBinding {
  nonce: number;
  nodeId: number;
}

export function checkPublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new HublessError('ERR_HUBLESS_BAD_KEY', `public key must be ${PUBLIC_KEY_BYTES} bytes`);
  }
}

export function checkNonce(nonce: number): void {
  if (!Number.isInteger(nonce) || nonce < 0 || nonce > NONCE_MAX) {
    throw new HublessError('ERR_HUBLESS_BAD_NONCE', `nonce ${nonce} is not an integer in 0..${NONCE_MAX}`);
  }
}

function hashInput(publicKey: Uint8Array, nonce: number): Buffer {
  checkPublicKey(publicKey);
  checkNonce(nonce);
  const input = Buffer.allocUnsafe(PUBLIC_KEY_BYTES + 4);
  input.set(publicKey, 0);
  input.writeUInt32BE(nonce, PUBLIC_KEY_BYTES);
  return input;
}

/** Raw 32-bit value of the hash (may be a reserved id). Runs on the libuv thread pool. */
export async function nodeIdHash(publicKey: Uint8Array, nonce: number): Promise<number> {
  const input = hashInput(publicKey, nonce);
  const out = Buffer.alloc(HASH_BYTES);
  await sodium.crypto_pwhash_async(
    out, input, NODE_ID_SALT, NODE_ID_PWHASH_OPSLIMIT, NODE_ID_PWHASH_MEMLIMIT, NODE_ID_PWHASH_ALG,
  );
  return out.readUInt32BE(0);
}

/** Same as nodeIdHash, blocking the calling thread for one evaluation. */
export function nodeIdHashSync(publicKey: Uint8Array, nonce: number): number {
  const input = hashInput(publicKey, nonce);
  const out = Buffer.alloc(HASH_BYTES);
  sodium.crypto_pwhash(
    out, input, NODE_ID_SALT, NODE_ID_PWHASH_OPSLIMIT, NODE_ID_PWHASH_MEMLIMIT, NODE_ID_PWHASH_ALG,
  );
  return out.readUInt32BE(0);
}

function reserved(nonce: number, id: number): HublessError {
  return new HublessError(
    'ERR_HUBLESS_RESERVED_NODE_ID',
    `nonce ${nonce} yields the reserved node id 0x${id.toString(16).padStart(8, '0')}; use the next nonce`,
  );
}

/** Node id for (key, nonce). Throws ERR_HUBLESS_RESERVED_NODE_ID if that nonce is unusable. */
export async function deriveNodeId(publicKey: Uint8Array, nonce: number): Promise<number> {
  const id = await nodeIdHash(publicKey, nonce);
  if (isReservedNodeId(id)) throw reserved(nonce, id);
  return id;
}

export function deriveNodeIdSync(publicKey: Uint8Array, nonce: number): number {
  const id = nodeIdHashSync(publicKey, nonce);
  if (isReservedNodeId(id)) throw reserved(nonce, id);
  return id;
}

function exhausted(from: number): HublessError {
  return new HublessError('ERR_HUBLESS_NONCE_EXHAUSTED', `no usable nonce in ${from}..${NONCE_MAX}`);
}

/**
 * The first nonce ≥ `fromNonce` whose id is not reserved (0 or 0xffffffff), and that id.
 * A node whose id is taken in the directory calls this with `taken + 1`, then keeps the result.
 */
export async function deriveFirstUsable(
  publicKey: Uint8Array, fromNonce = 0, hash: NodeIdHash = nodeIdHash,
): Promise<NodeIdBinding> {
  checkPublicKey(publicKey);
  checkNonce(fromNonce);
  for (let nonce = fromNonce; nonce <= NONCE_MAX; nonce++) {
    const nodeId = await hash(publicKey, nonce);
    if (!isReservedNodeId(nodeId)) return { nonce, nodeId };
  }
  throw exhausted(fromNonce);
}

export function deriveFirstUsableSync(
  publicKey: Uint8Array, fromNonce = 0, hash: NodeIdHashSync = nodeIdHashSync,
): NodeIdBinding {
  checkPublicKey(publicKey);
  checkNonce(fromNonce);
  for (let nonce = fromNonce; nonce <= NONCE_MAX; nonce++) {
    const nodeId = hash(publicKey, nonce);
    if (!isReservedNodeId(nodeId)) return { nonce, nodeId };
  }
  throw exhausted(fromNonce);
}

export interface VerifiedBindingCacheOptions {
  /** Most (key, nonce) pairs remembered; least recently used are dropped first. Default 65,536. */
  maxEntries?: number;
  /**
   * Most protected pairs (those protect() was called for: bindings of peers that completed a
   * session), kept apart from the rest so that new pairs cannot push them out. Default 16,384.
   */
  maxProtected?: number;
  /** Hash to use (tests inject a counting or fake one). */
  hash?: NodeIdHash;
}

/**
 * Remembers the id each (publicKey, nonce) hashes to, so checking a peer's binding costs one
 * hash per peer, not one per handshake. The id does not depend on the network, so one entry
 * serves every network. Concurrent checks of the same pair share one evaluation. A mismatch is
 * answered from the cache too, so repeating a false claim costs nothing after the first time.
 * Callers facing unauthenticated floods must still rate-limit before calling (each new pair is
 * one ~28 ms evaluation on the thread pool).
 *
 * Two LRUs: every new pair enters the main one (`maxEntries`); protect() moves a pair to the
 * protected one (`maxProtected`), which only protected pairs compete for. A node protects the
 * binding of every peer it completed a session with, so a flood of throw-away keys (each one a
 * new pair, admitted at whatever rate the node allows) cycles through the main LRU only, and a
 * returning peer is still known. A pair that falls out of the protected LRU goes back to the
 * main one (most recent there).
 */
export class VerifiedBindingCache {
  readonly maxEntries: number;
  readonly maxProtected: number;
  readonly #hash: NodeIdHash;
  readonly #ids = new Map<string, number>();
  readonly #protected = new Map<string, number>();
  readonly #pending = new Map<string, Promise<number>>();
  #hits = 0;
  #misses = 0;

  constructor(options: VerifiedBindingCacheOptions = {}) {
    const max = options.maxEntries ?? 65_536;
    if (!Number.isInteger(max) || max < 1) {
      throw new HublessError('ERR_HUBLESS_BAD_ARGUMENT', `maxEntries must be a positive integer, got ${max}`);
    }
    const maxProtected = options.maxProtected ?? 16_384;
    if (!Number.isInteger(maxProtected) || maxProtected < 0) {
      throw new HublessError('ERR_HUBLESS_BAD_ARGUMENT', `maxProtected must be a non-negative integer, got ${maxProtected}`);
    }
    this.maxEntries = max;
    this.maxProtected = maxProtected;
    this.#hash = options.hash ?? nodeIdHash;
  }

  /** Pairs remembered, protected ones included. */
  get size(): number {
    return this.#ids.size + this.#protected.size;
  }

  /** Pairs in the protected LRU. */
  get protectedSize(): number {
    return this.#protected.size;
  }

  /** Lookups answered without a new evaluation (cached or joined an in-flight one). */
  get hits(): number {
    return this.#hits;
  }

  /** Lookups that started a hash evaluation. */
  get misses(): number {
    return this.#misses;
  }

  /** True iff `nodeId` is the (non-reserved) id that `publicKey` and `nonce` derive. */
  async verify(publicKey: Uint8Array, nonce: number, nodeId: number): Promise<boolean> {
    checkPublicKey(publicKey);
    checkNonce(nonce);
    if (!Number.isInteger(nodeId) || isReservedNodeId(nodeId) || nodeId < 0 || nodeId > NONCE_MAX) {
      return false;
    }
    return (await this.nodeIdOf(publicKey, nonce)) === nodeId;
  }

  /** verify() for a full address: the network is not part of the binding, only the node id. */
  verifyAddress(publicKey: Uint8Array, nonce: number, address: Address): Promise<boolean> {
    return this.verify(publicKey, nonce, address.node);
  }

  /**
   * True when nodeIdOf(publicKey, nonce) would cost no new evaluation: the pair is cached or its
   * evaluation is already running. Does not touch the LRU order or the counters.
   */
  has(publicKey: Uint8Array, nonce: number): boolean {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false;
    if (!Number.isInteger(nonce) || nonce < 0 || nonce > NONCE_MAX) return false;
    const key = cacheKey(publicKey, nonce);
    return this.#protected.has(key) || this.#ids.has(key) || this.#pending.has(key);
  }

  /**
   * Moves a cached pair to the protected LRU (or refreshes it there): new pairs can no longer push
   * it out, only other protected ones. Nothing happens for a pair that is not cached. Returns true
   * when the pair is protected now.
   */
  protect(publicKey: Uint8Array, nonce: number): boolean {
    if (this.maxProtected === 0 || !this.has(publicKey, nonce)) return false;
    const key = cacheKey(publicKey, nonce);
    const id = this.#protected.get(key) ?? this.#ids.get(key);
    if (id === undefined) return false; // still being evaluated
    this.#ids.delete(key);
    this.#protected.delete(key);
    this.#protected.set(key, id);
    while (this.#protected.size > this.maxProtected) {
      const oldest = this.#protected.keys().next().value as string;
      const demoted = this.#protected.get(oldest) as number;
      this.#protected.delete(oldest);
      this.#remember(oldest, demoted);
    }
    return true;
  }

  /** The raw id for (publicKey, nonce), from the cache or one hash evaluation. */
  async nodeIdOf(publicKey: Uint8Array, nonce: number): Promise<number> {
    checkPublicKey(publicKey);
    checkNonce(nonce);
    const key = cacheKey(publicKey, nonce);
    const known = this.#protected.get(key);
    if (known !== undefined) {
      this.#hits++;
      this.#protected.delete(key);
      this.#protected.set(key, known);
      return known;
    }
    const cached = this.#ids.get(key);
    if (cached !== undefined) {
      this.#hits++;
      this.#ids.delete(key); // re-insert: Map order is the LRU order
      this.#ids.set(key, cached);
      return cached;
    }
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      this.#misses++;
      pending = Promise.resolve(this.#hash(publicKey, nonce)).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
      const id = await pending;
      if (!this.#protected.has(key)) this.#remember(key, id);
      return id;
    }
    this.#hits++;
    return pending;
  }

  clear(): void {
    this.#ids.clear();
    this.#protected.clear();
  }

  #remember(key: string, id: number): void {
    this.#ids.delete(key);
    this.#ids.set(key, id);
    while (this.#ids.size > this.maxEntries) {
      const oldest = this.#ids.keys().next().value as string;
      this.#ids.delete(oldest);
    }
  }
}

// 36 raw bytes as a latin1 string: compact and exact (one char per byte).
function cacheKey(publicKey: Uint8Array, nonce: number): string {
  const b = Buffer.allocUnsafe(PUBLIC_KEY_BYTES + 4);
  b.set(publicKey, 0);
  b.writeUInt32BE(nonce, PUBLIC_KEY_BYTES);
  return b.toString('latin1');
}

export interface DerivationMeasurement {
  /** The fixed parameters of the address hash. */
  algorithm: 'argon2id13';
  opslimit: number;
  memlimitBytes: number;
  saltLabel: string;
  salt: string;
  outputBytes: number;
  /** Evaluations timed (after one untimed warm-up), one at a time on the calling thread. */
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}

/**
 * Times `runs` evaluations of the address hash (random keys, nonce 0), one at a time on the
 * calling thread (blocking: this is what one verification costs one core). `hubless id --bench`.
 */
export function measureDerivation(runs = 20): DerivationMeasurement {
  if (!Number.isInteger(runs) || runs < 1 || runs > 10_000) {
    throw new HublessError('ERR_HUBLESS_BAD_ARGUMENT', `runs must be an integer in 1..10000, got ${runs}`);
  }
  const key = Buffer.alloc(PUBLIC_KEY_BYTES);
  sodium.randombytes_buf(key);
  nodeIdHashSync(key, 0); // warm-up: the first 32 MiB allocation is not what later ones cost
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    sodium.randombytes_buf(key);
    const t0 = performance.now();
    nodeIdHashSync(key, 0);
    samples.push(performance.now() - t0);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    algorithm: 'argon2id13',
    opslimit: NODE_ID_PWHASH_OPSLIMIT,
    memlimitBytes: NODE_ID_PWHASH_MEMLIMIT,
    saltLabel: NODE_ID_SALT_LABEL,
    salt: NODE_ID_SALT.toString('hex'),
    outputBytes: HASH_BYTES,
    runs,
    medianMs: r2(median),
    p90Ms: r2(at(0.9)),
    minMs: r2(sorted[0]),
    maxMs: r2(sorted[sorted.length - 1]),
    samplesMs: samples.map(r2),
  };
}

/** Process-wide cache used by verifyBinding. */
export const defaultBindingCache = new VerifiedBindingCache();

/** Checks a peer's (publicKey, nonce) → nodeId binding, paying one hash per pair per process. */
export function verifyBinding(publicKey: Uint8Array, nonce: number, nodeId: number): Promise<boolean> {
  return defaultBindingCache.verify(publicKey, nonce, nodeId);
}
