// Noise hash functions (spec rev 34, §4.3 and §12.5–12.8), HMAC (RFC 2104) and Noise's HKDF (§4.3).
//
// Implementation choices, for speed on small inputs (a handshake hashes a few dozen short strings):
// - SHA256, SHA512 and BLAKE2b come from sodium-native (one native call, no object per hash:
//   ~0.4–0.5 µs for 64 bytes here, against ~1.2–1.8 µs for node:crypto createHash).
// - BLAKE2s is not in sodium-native, so it comes from node:crypto ('blake2s256').
// - HMAC is our own RFC 2104 construction over the hash above, for every hash, with preallocated
//   pad buffers (two hash calls and no allocation); node:crypto createHmac costs ~2.2 µs per call.
//   The tests check it against node:crypto createHmac for all four hashes.
//
// Every function here is synchronous and uses per-hash scratch buffers; JavaScript's single thread
// makes that safe (nothing can interleave between a scratch write and its use).
import * as nodeCrypto from 'node:crypto';
import { sodium } from '../../sodium.js';

export type HashName = 'SHA256' | 'SHA512' | 'BLAKE2b' | 'BLAKE2s';

export interface HashFunction {
  readonly name: HashName;
  /** HASHLEN: 32 or 64 bytes. */
  readonly hashLen: number;
  /** BLOCKLEN: the hash's internal block size, used by HMAC. */
  readonly blockLen: number;
  /** out (hashLen bytes) = HASH(a ‖ b). `out` may alias `a` or `b`. */
  hash(out: Uint8Array, a: Uint8Array, b?: Uint8Array): void;
  /** out (hashLen bytes) = HMAC-HASH(key, a ‖ b). `out` may alias any input. */
  hmac(out: Uint8Array, key: Uint8Array, a: Uint8Array, b?: Uint8Array): void;
}

type RawHash = (out: Uint8Array, input: Uint8Array) => void;

const IPAD = 0x36;
const OPAD = 0x5c;

class Hash implements HashFunction {
  readonly name: HashName;
  readonly hashLen: number;
  readonly blockLen: number;
  private readonly raw: RawHash;
  /** Concatenation scratch for hash(a, b) and for HMAC's inner hash (key^ipad ‖ a ‖ b). */
  private cat: Uint8Array;
  /** HMAC outer input: key^opad ‖ inner digest (fixed size). */
  private readonly outer: Uint8Array;
  private readonly innerDigest: Uint8Array;
  /** HMAC key when it is longer than a block (hashed first, RFC 2104 §2). */
  private readonly longKey: Uint8Array;

  constructor(name: HashName, hashLen: number, blockLen: number, raw: RawHash) {
    this.name = name;
    this.hashLen = hashLen;
    this.blockLen = blockLen;
    this.raw = raw;
    this.cat = new Uint8Array(blockLen + 2 * hashLen + 64);
    this.outer = new Uint8Array(blockLen + hashLen);
    this.innerDigest = this.outer.subarray(blockLen);
    this.longKey = new Uint8Array(hashLen);
  }

  private scratch(n: number): Uint8Array {
    if (this.cat.length < n) {
      this.cat.fill(0);
      this.cat = new Uint8Array(Math.max(n, this.cat.length * 2));
    }
    return this.cat;
  }

  hash(out: Uint8Array, a: Uint8Array, b?: Uint8Array): void {
    if (b === undefined || b.length === 0) {
      this.raw(out, a);
      return;
    }
    const n = a.length + b.length;
    const cat = this.scratch(n);
    cat.set(a, 0);
    cat.set(b, a.length);
    this.raw(out, cat.subarray(0, n));
  }

  hmac(out: Uint8Array, key: Uint8Array, a: Uint8Array, b?: Uint8Array): void {
    const B = this.blockLen;
    if (key.length > B) {
      this.raw(this.longKey, key);
      key = this.longKey;
    }
    const bl = b === undefined ? 0 : b.length;
    const n = B + a.length + bl;
    const inner = this.scratch(n);
    const outer = this.outer;
    const kl = key.length;
    for (let i = 0; i < kl; i++) {
      const k = key[i];
      inner[i] = k ^ IPAD;
      outer[i] = k ^ OPAD;
    }
    for (let i = kl; i < B; i++) {
      inner[i] = IPAD;
      outer[i] = OPAD;
    }
    inner.set(a, B);
    if (bl !== 0) inner.set(b!, B + a.length);
    this.raw(this.innerDigest, inner.subarray(0, n));
    this.raw(out, outer);
    // Do not leave key-derived pads behind in long-lived scratch memory.
    inner.fill(0, 0, B);
    outer.fill(0);
  }
}

function nodeHash(algorithm: string): RawHash {
  // crypto.hash() (Node ≥ 20.12) is a one-shot call without a Hash object: ~25% faster.
  const oneShot = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;
  if (typeof oneShot === 'function') {
    return (out, input) => {
      out.set(oneShot(algorithm, input, 'buffer'));
    };
  }
  return (out, input) => {
    out.set(nodeCrypto.createHash(algorithm).update(input).digest());
  };
}

export const SHA256: HashFunction = new Hash('SHA256', 32, 64, (out, input) => sodium.crypto_hash_sha256(out, input));
export const SHA512: HashFunction = new Hash('SHA512', 64, 128, (out, input) => sodium.crypto_hash_sha512(out, input));
export const BLAKE2b: HashFunction = new Hash('BLAKE2b', 64, 128, (out, input) => sodium.crypto_generichash(out, input));
export const BLAKE2s: HashFunction = new Hash('BLAKE2s', 32, 64, nodeHash('blake2s256'));

const HASHES: Readonly<Record<string, HashFunction>> = { SHA256, SHA512, BLAKE2b, BLAKE2s };

/** The hash function with this Noise name, or undefined. */
export function hashByName(name: string): HashFunction | undefined {
  return Object.prototype.hasOwnProperty.call(HASHES, name) ? HASHES[name] : undefined;
}

const BYTE_1 = Uint8Array.of(0x01);
const BYTE_2 = Uint8Array.of(0x02);
const BYTE_3 = Uint8Array.of(0x03);
const tempKeys = new WeakMap<HashFunction, Uint8Array>();

/**
 * Noise HKDF (§4.3): temp_key = HMAC(chainingKey, ikm); out1 = HMAC(temp_key, 0x01);
 * out2 = HMAC(temp_key, out1 ‖ 0x02); out3 (when given) = HMAC(temp_key, out2 ‖ 0x03).
 * Outputs are hashLen bytes each and may alias `chainingKey` or `ikm`.
 */
export function hkdf(
  hash: HashFunction,
  chainingKey: Uint8Array,
  ikm: Uint8Array,
  out1: Uint8Array,
  out2: Uint8Array,
  out3?: Uint8Array,
): void {
  let tk = tempKeys.get(hash);
  if (tk === undefined) {
    tk = new Uint8Array(hash.hashLen);
    tempKeys.set(hash, tk);
  }
  hash.hmac(tk, chainingKey, ikm);
  hash.hmac(out1, tk, BYTE_1);
  hash.hmac(out2, tk, out1, BYTE_2);
  if (out3 !== undefined) hash.hmac(out3, tk, out2, BYTE_3);
  tk.fill(0);
}
