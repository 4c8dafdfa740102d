// mac1, mac2 and the stateless cookie, after WireGuard's design (our own code; the primitives
// are libsodium's BLAKE2b and XChaCha20-Poly1305 because sodium-native has no BLAKE2s):
//
//   MAC(key, m)       = BLAKE2b(m, key, 16-byte output)           (crypto_generichash with a key)
//   HASH(m)           = BLAKE2b(m, 32-byte output)
//   mac1              = MAC(HASH("mac1----" ‖ receiver's static X25519 key), header ‖ body up to mac1)
//   mac2              = MAC(cookie, header ‖ body up to mac2)     (zeros when there is no cookie)
//   cookie            = MAC(secret, source IP text ‖ source port), the secret rotating every 2 min
//   cookie reply body = nonce (24) ‖ XChaCha20-Poly1305(key = HASH("cookie--" ‖ responder static key),
//                                                      nonce, cookie, ad = the initiation's mac1)
//
// mac1 proves the sender knows the receiver's static key (no DH is done for anything else); mac2
// proves the sender can receive at its source address. Under load the responder answers an
// initiation without a valid mac2 by a cookie reply and keeps no state.
import { timingSafeEqual } from 'node:crypto';
import {
  COOKIE_BYTES, COOKIE_NONCE_BYTES, COOKIE_REPLY_BYTES, HEADER_BYTES, HEADER_FIRST_BYTE, MAC_BYTES, MACS_BYTES,
} from './wire.js';
import { sodium } from '../sodium.js';

const LABEL_MAC1 = Buffer.from('mac1----', 'ascii');
const LABEL_COOKIE = Buffer.from('cookie--', 'ascii');
/** How long a cookie secret lives, and how long an initiator trusts a cookie it received. */
export const COOKIE_SECRET_MS = 120_000;
/** An initiator stops using a cookie a little before the responder's secret can have rotated. */
export const COOKIE_USE_MS = COOKIE_SECRET_MS - 5_000;

const ZERO_MAC = Buffer.alloc(MAC_BYTES);

/** Milliseconds on a monotonic clock: rates and lifetimes here must not follow wall-clock steps. */
function monotonicNow(): number {
  return performance.now();
}

// label (8) ‖ key (32): the hash input, assembled in place.
const labelScratch = Buffer.alloc(40);

function labelledHash(label: Buffer, key: Uint8Array, out: Buffer): Buffer {
  if (key.length !== 32) {
    sodium.crypto_generichash(out, Buffer.concat([label, key]));
    return out;
  }
  label.copy(labelScratch, 0);
  labelScratch.set(key, label.length);
  sodium.crypto_generichash(out, labelScratch);
  return out;
}

/**
 * The key others use for mac1 on messages to the holder of `staticPublicKey` (X25519); into
 * `out` when given (32 bytes).
 */
export function mac1Key(staticPublicKey: Uint8Array, out: Buffer = Buffer.alloc(32)): Buffer {
  return labelledHash(LABEL_MAC1, staticPublicKey, out);
}

/** The key the holder of `staticPublicKey` seals its cookie replies with. */
export function cookieKey(staticPublicKey: Uint8Array): Buffer {
  return labelledHash(LABEL_COOKIE, staticPublicKey, Buffer.alloc(32));
}

// One scratch buffer for header ‖ body (handshake bodies are far below 2 KiB; the native layer
// drops control packets over 1232 bytes). JavaScript's single thread makes sharing it safe.
const scratch = Buffer.alloc(2048);

/** MAC(key, header ‖ body[0, end)) into `out`; the header is the 16 bytes the packet carries. */
export function macOver(
  out: Uint8Array, key: Uint8Array, type: number, receiver: number, counter: bigint, body: Uint8Array, end: number,
): void {
  const s = scratch;
  s[0] = HEADER_FIRST_BYTE;
  s[1] = type;
  s.writeUInt16BE(body.length, 2);
  s.writeUInt32BE(receiver >>> 0, 4);
  s.writeBigUInt64BE(counter, 8);
  s.set(body.subarray(0, end), HEADER_BYTES);
  sodium.crypto_generichash(out, s.subarray(0, HEADER_BYTES + end), key);
}

/**
 * Fills the last 32 bytes of a handshake body: mac1 with `mac1Key`, then mac2 with `cookie` (or
 * zeros). Sent with counter 0. Returns mac1 (a copy), which a cookie reply must quote.
 */
export function writeMacs(body: Buffer, type: number, receiver: number, key: Uint8Array, cookie: Uint8Array | null): Buffer {
  const m1 = body.length - MACS_BYTES;
  const m2 = m1 + MAC_BYTES;
  macOver(body.subarray(m1, m2), key, type, receiver, 0n, body, m1);
  if (cookie === null) body.fill(0, m2);
  else macOver(body.subarray(m2), cookie, type, receiver, 0n, body, m2);
  return Buffer.from(body.subarray(m1, m2));
}

const expected = Buffer.alloc(MAC_BYTES);

function macMatches(actual: Uint8Array): boolean {
  return timingSafeEqual(expected, actual);
}

/** True when the body's mac1 is valid for `key` (the receiver's own mac1 key). */
export function checkMac1(body: Uint8Array, type: number, receiver: number, counter: bigint, key: Uint8Array): boolean {
  const m1 = body.length - MACS_BYTES;
  if (m1 < 0) return false;
  macOver(expected, key, type, receiver, counter, body, m1);
  return macMatches(body.subarray(m1, m1 + MAC_BYTES));
}

export function mac2IsZero(body: Uint8Array): boolean {
  return timingSafeEqual(ZERO_MAC, body.subarray(body.length - MAC_BYTES));
}

export function mac1Of(body: Uint8Array): Buffer {
  const m1 = body.length - MACS_BYTES;
  return Buffer.from(body.subarray(m1, m1 + MAC_BYTES));
}

export interface SourceEndpoint {
  address: string;
  port: number;
}

/**
 * The responder's side: a rotating secret, cookies bound to a source address, mac2 checks and
 * cookie replies. It holds no state per sender.
 */
export class CookieChecker {
  readonly #sealKey: Buffer;
  readonly #secret = Buffer.alloc(32);
  readonly #now: () => number;
  #secretBorn = -Infinity;
  readonly #cookie = Buffer.alloc(COOKIE_BYTES);
  readonly #input = Buffer.alloc(64);

  /**
   * `staticPublicKey`: the responder's own X25519 static key. `now`: monotonic milliseconds (a
   * wall-clock step backwards must not keep the secret from rotating).
   */
  constructor(staticPublicKey: Uint8Array, now: () => number = monotonicNow) {
    this.#sealKey = cookieKey(staticPublicKey);
    this.#now = now;
  }

  /** The cookie for a source endpoint under the current secret (a view, valid until the next call). */
  cookieFor(from: SourceEndpoint): Buffer {
    const now = this.#now();
    if (now - this.#secretBorn >= COOKIE_SECRET_MS) {
      sodium.randombytes_buf(this.#secret);
      this.#secretBorn = now;
    }
    // The source address in the receiver's own text form, then the port: only this node ever
    // computes the value, so its exact input need only be unambiguous here.
    const n = this.#input.write(from.address, 0, 46, 'latin1');
    this.#input.writeUInt16BE(from.port & 0xffff, n);
    sodium.crypto_generichash(this.#cookie, this.#input.subarray(0, n + 2), this.#secret);
    return this.#cookie;
  }

  /** True when the body carries a mac2 made with the cookie of its source endpoint. */
  checkMac2(body: Uint8Array, type: number, receiver: number, counter: bigint, from: SourceEndpoint): boolean {
    if (body.length < MACS_BYTES) return false;
    macOver(expected, this.cookieFor(from), type, receiver, counter, body, body.length - MAC_BYTES);
    return macMatches(body.subarray(body.length - MAC_BYTES));
  }

  /** A cookie reply body (56 bytes) for an initiation whose mac1 is `mac1`. */
  makeReply(mac1: Uint8Array, from: SourceEndpoint): Buffer {
    const body = Buffer.alloc(COOKIE_REPLY_BYTES);
    const nonce = body.subarray(0, COOKIE_NONCE_BYTES);
    sodium.randombytes_buf(nonce);
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      body.subarray(COOKIE_NONCE_BYTES), this.cookieFor(from), mac1, null, nonce, this.#sealKey,
    );
    return body;
  }
}

/**
 * The initiator's side: opens a cookie reply from the responder whose cookie key is `key`, for the
 * initiation whose mac1 was `mac1`. Returns the 16-byte cookie, or null if it does not authenticate.
 */
export function openCookieReply(body: Uint8Array, key: Uint8Array, mac1: Uint8Array): Buffer | null {
  if (body.length !== COOKIE_REPLY_BYTES) return null;
  const cookie = Buffer.alloc(COOKIE_BYTES);
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      cookie, null, body.subarray(COOKIE_NONCE_BYTES), mac1, body.subarray(0, COOKIE_NONCE_BYTES), key,
    );
  } catch {
    return null;
  }
  return cookie;
}

/**
 * Initiations per second, counted in fixed one-second windows. The responder is "under load"
 * when the current or the previous window went over the threshold; a threshold of 0 means always
 * (every initiation must then carry a valid mac2: a test and emergency knob).
 */
export class LoadMeter {
  threshold: number;
  readonly #now: () => number;
  #windowStart = -Infinity;
  #current = 0;
  #previous = 0;

  /** `now`: monotonic milliseconds (a wall-clock step backwards would freeze the windows). */
  constructor(threshold: number, now: () => number = monotonicNow) {
    this.threshold = threshold;
    this.#now = now;
  }

  #roll(now: number): void {
    const elapsed = now - this.#windowStart;
    if (elapsed < 1000) return;
    if (elapsed < 2000) {
      this.#previous = this.#current;
      this.#windowStart += 1000;
    } else {
      // Idle for a while: the next window starts with this initiation.
      this.#previous = 0;
      this.#windowStart = now;
    }
    this.#current = 0;
  }

  /** Counts one initiation (with a valid mac1). */
  hit(): void {
    this.#roll(this.#now());
    this.#current++;
  }

  get underLoad(): boolean {
    if (this.threshold <= 0) return true;
    this.#roll(this.#now());
    return this.#current > this.threshold || this.#previous > this.threshold;
  }
}
