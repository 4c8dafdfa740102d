// Noise cipher functions (spec rev 34, §4.2, §12.3–12.4) and the CipherState object (§5.1).
//
// - AESGCM: AES-256-GCM from node:crypto (sodium-native has none); nonce = 4 zero bytes ‖ 64-bit
//   big-endian counter.
// - ChaChaPoly: ChaCha20-Poly1305 (IETF, RFC 8439) from sodium-native; nonce = 4 zero bytes ‖
//   64-bit little-endian counter.
// Both use 32-byte keys and 16-byte tags. The 64-bit counter is kept as two uint32 halves (no
// BigInt on the hot path); `nonce` exposes it as a bigint for callers and tests.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { HublessError } from '../../errors.js';
import { ERR_NOISE_DECRYPT_FAILED, ERR_NOISE_NONCE_EXHAUSTED, invalidArgument } from './errors.js';
import { sodium } from '../../sodium.js';

export type CipherName = 'AESGCM' | 'ChaChaPoly';

export const KEYLEN = 32;
export const TAGLEN = 16;
const NONCELEN = 12;
const MAX_U32 = 0xffffffff;

export interface CipherFunction {
  readonly name: CipherName;
  /** Writes the 12-byte AEAD nonce for the 64-bit counter hi:lo into `nonce`. */
  writeNonce(nonce: Uint8Array, hi: number, lo: number): void;
  /** ENCRYPT(k, n, ad, plaintext) into `out`, which is exactly plaintext.length + 16 bytes. */
  encrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void;
  /**
   * DECRYPT(k, n, ad, ciphertext) into `out` (exactly ciphertext.length - 16 bytes); false when
   * authentication fails (nothing is written to `out` then). ciphertext.length must be ≥ 16.
   */
  decrypt(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): boolean;
}

export const AESGCM: CipherFunction = {
  name: 'AESGCM',
  writeNonce(nonce, hi, lo) {
    nonce[0] = 0; nonce[1] = 0; nonce[2] = 0; nonce[3] = 0;
    nonce[4] = hi >>> 24; nonce[5] = hi >>> 16; nonce[6] = hi >>> 8; nonce[7] = hi;
    nonce[8] = lo >>> 24; nonce[9] = lo >>> 16; nonce[10] = lo >>> 8; nonce[11] = lo;
  },
  encrypt(key, nonce, ad, plaintext, out) {
    const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAGLEN });
    if (ad.length !== 0) c.setAAD(ad);
    const body = c.update(plaintext);
    c.final();
    out.set(body, 0);
    out.set(c.getAuthTag(), plaintext.length);
  },
  decrypt(key, nonce, ad, ciphertext, out) {
    const n = ciphertext.length - TAGLEN;
    const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAGLEN });
    d.setAuthTag(ciphertext.subarray(n));
    if (ad.length !== 0) d.setAAD(ad);
    const body = d.update(ciphertext.subarray(0, n));
    try {
      d.final();
    } catch {
      body.fill(0);
      return false;
    }
    out.set(body, 0);
    return true;
  },
};

export const ChaChaPoly: CipherFunction = {
  name: 'ChaChaPoly',
  writeNonce(nonce, hi, lo) {
    nonce[0] = 0; nonce[1] = 0; nonce[2] = 0; nonce[3] = 0;
    nonce[4] = lo; nonce[5] = lo >>> 8; nonce[6] = lo >>> 16; nonce[7] = lo >>> 24;
    nonce[8] = hi; nonce[9] = hi >>> 8; nonce[10] = hi >>> 16; nonce[11] = hi >>> 24;
  },
  encrypt(key, nonce, ad, plaintext, out) {
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, ad.length === 0 ? null : ad, null, nonce, key);
  },
  decrypt(key, nonce, ad, ciphertext, out) {
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, ciphertext, ad.length === 0 ? null : ad, nonce, key);
      return true;
    } catch {
      return false;
    }
  },
};

/** The cipher function with this Noise name, or undefined. */
export function cipherByName(name: string): CipherFunction | undefined {
  if (name === 'AESGCM') return AESGCM;
  if (name === 'ChaChaPoly') return ChaChaPoly;
  return undefined;
}

const EMPTY = new Uint8Array(0);
const ZEROS32 = new Uint8Array(KEYLEN);

/**
 * Noise CipherState (§5.1): a key k (or none) and a 64-bit nonce n.
 *
 * EncryptWithAd/DecryptWithAd pass plaintext through unchanged while no key is set, as the spec
 * says. Nonce 2^64-1 is reserved (§5.1): once n reaches it, every further encrypt or decrypt
 * throws ERR_HUBLESS_NOISE_NONCE_EXHAUSTED. A failed decrypt does not advance n.
 */
export class CipherState {
  readonly cipher: CipherFunction;
  private readonly k = new Uint8Array(KEYLEN);
  private readonly nonceBuf = new Uint8Array(NONCELEN);
  private keyed = false;
  private hi = 0;
  private lo = 0;

  constructor(cipher: CipherFunction | CipherName, key?: Uint8Array | null) {
    const c = typeof cipher === 'string' ? cipherByName(cipher) : cipher;
    if (c === undefined) throw invalidArgument(`unknown Noise cipher ${String(cipher)}`);
    this.cipher = c;
    if (key != null) this.initializeKey(key);
  }

  /** InitializeKey(key): sets k (the first 32 bytes of `key`, copied) and n = 0; null clears k. */
  initializeKey(key: Uint8Array | null): void {
    this.hi = 0;
    this.lo = 0;
    if (key === null) {
      this.k.fill(0);
      this.keyed = false;
      return;
    }
    if (!(key instanceof Uint8Array) || key.length < KEYLEN) throw invalidArgument('a Noise cipher key is 32 bytes');
    const k = this.k;
    for (let i = 0; i < KEYLEN; i++) k[i] = key[i];
    this.keyed = true;
  }

  hasKey(): boolean {
    return this.keyed;
  }

  /** The next nonce n. */
  get nonce(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** SetNonce(n), 0 ≤ n < 2^64 (n = 2^64-1 makes the next encrypt/decrypt fail, as reserved). */
  setNonce(n: bigint | number): void {
    const v = BigInt(n);
    if (v < 0n || v > 0xffffffffffffffffn) throw invalidArgument('a Noise nonce is a 64-bit unsigned integer');
    this.hi = Number(v >> 32n);
    this.lo = Number(v & 0xffffffffn);
  }

  /** Bytes EncryptWithAd adds to a plaintext: 16 (the tag) with a key, 0 without. */
  overhead(): number {
    return this.keyed ? TAGLEN : 0;
  }

  private checkNonce(): void {
    if (this.hi === MAX_U32 && this.lo === MAX_U32) {
      throw new HublessError(ERR_NOISE_NONCE_EXHAUSTED, 'Noise nonce exhausted (2^64-1 is reserved); rekey or re-handshake');
    }
  }

  private advance(): void {
    if (this.lo === MAX_U32) {
      this.lo = 0;
      this.hi = (this.hi + 1) >>> 0;
    } else {
      this.lo++;
    }
  }

  /**
   * EncryptWithAd into `out` (exactly plaintext.length + overhead() bytes). `out` must not
   * overlap `plaintext` or `ad`.
   */
  encryptInto(ad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void {
    if (!this.keyed) {
      out.set(plaintext, 0);
      return;
    }
    this.checkNonce();
    this.cipher.writeNonce(this.nonceBuf, this.hi, this.lo);
    this.cipher.encrypt(this.k, this.nonceBuf, ad, plaintext, out);
    this.advance();
  }

  /**
   * DecryptWithAd into `out` (exactly ciphertext.length - overhead() bytes); returns false, with n
   * unchanged, when authentication fails or the ciphertext is shorter than a tag.
   */
  decryptInto(ad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): boolean {
    if (!this.keyed) {
      out.set(ciphertext, 0);
      return true;
    }
    this.checkNonce();
    if (ciphertext.length < TAGLEN) return false;
    this.cipher.writeNonce(this.nonceBuf, this.hi, this.lo);
    if (!this.cipher.decrypt(this.k, this.nonceBuf, ad, ciphertext, out)) return false;
    this.advance();
    return true;
  }

  /** EncryptWithAd(ad, plaintext) → a new Buffer. */
  encryptWithAd(ad: Uint8Array | null, plaintext: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(plaintext.length + this.overhead());
    this.encryptInto(ad ?? EMPTY, plaintext, out);
    return out;
  }

  /** DecryptWithAd(ad, ciphertext) → a new Buffer; throws ERR_HUBLESS_NOISE_DECRYPT_FAILED. */
  decryptWithAd(ad: Uint8Array | null, ciphertext: Uint8Array): Buffer {
    if (!(ciphertext instanceof Uint8Array)) throw invalidArgument('ciphertext must be a Uint8Array');
    const n = ciphertext.length - this.overhead();
    if (n < 0) {
      this.checkNonce();
      throw new HublessError(ERR_NOISE_DECRYPT_FAILED, 'Noise ciphertext shorter than its tag');
    }
    const out = Buffer.allocUnsafe(n);
    if (!this.decryptInto(ad ?? EMPTY, ciphertext, out)) {
      throw new HublessError(ERR_NOISE_DECRYPT_FAILED, 'Noise ciphertext failed authentication');
    }
    return out;
  }

  /** Rekey() (§4.2): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes); n unchanged. */
  rekey(): void {
    if (!this.keyed) return;
    const nonce = new Uint8Array(NONCELEN);
    const out = new Uint8Array(KEYLEN + TAGLEN);
    this.cipher.writeNonce(nonce, MAX_U32, MAX_U32);
    this.cipher.encrypt(this.k, nonce, EMPTY, ZEROS32, out);
    this.k.set(out.subarray(0, KEYLEN));
    out.fill(0);
  }

  /** Makes this state a copy of `other` (same cipher): key, nonce and whether a key is set. */
  copyFrom(other: CipherState): void {
    if (other.cipher !== this.cipher) throw invalidArgument('CipherState.copyFrom needs the same cipher');
    this.k.set(other.k);
    this.keyed = other.keyed;
    this.hi = other.hi;
    this.lo = other.lo;
  }

  /** Zeroes the key; the state has no key afterwards. */
  destroy(): void {
    this.initializeKey(null);
  }
}
