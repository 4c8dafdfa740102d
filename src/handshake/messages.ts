// Writing and reading the hubless handshake messages around the Noise IK core. No timers and no
// session state here: src/node/ drives these functions (retransmission, cookies, access control,
// rekeying) and installs the resulting keys in the native session table.
import { HandshakeIK, StaticDhCache, type KeyPair } from './noise/index.js';
import { hasCode } from '../errors.js';
import { checkMac1, cookieKey, mac1Key, writeMacs } from './cookie.js';
import { sodium } from '../sodium.js';
import {
  decodeInitiationPayload, decodeResponsePayload, encodeInitiationPayload, encodeResponsePayload,
  INDEX_BYTES, INITIATION_BYTES, INITIATION_MAX, KEY_BYTES, MACS_BYTES, PACKET_INITIATION, PACKET_RESPONSE,
  PROLOGUE, PROTOCOL_NAME, readIndex, RESPONSE_BYTES, RESPONSE_MAX, writeIndex,
  type InitiationPayload, type ResponsePayload,
} from './wire.js';

/** Why a handshake packet was dropped (node counters use these names). */
export type HandshakeDropReason =
  | 'malformed' // wrong size or structure, before any cryptography
  | 'mac1' // mac1 does not verify: the sender does not know our static key
  | 'decrypt' // Noise rejected the message (wrong keys, tampering, a stale response)
  | 'payload' // the decrypted payload is malformed or offers no AEAD we share
  | 'keyMismatch'; // the Ed25519 key in the payload does not convert to the Noise static key

/** What a node knows about its own static key, computed once. */
export class LocalStatic {
  readonly keyPair: KeyPair;
  /** Ed25519 public key (the identity key). */
  readonly publicKey: Buffer;
  /** Our mac1 key: peers MAC what they send us with it. */
  readonly mac1Key: Buffer;
  readonly staticDhCache: StaticDhCache;

  constructor(identity: { publicKey: Buffer; x25519KeyPair: KeyPair }, dhCacheEntries = 4096) {
    this.keyPair = identity.x25519KeyPair;
    this.publicKey = identity.publicKey;
    this.mac1Key = mac1Key(this.keyPair.publicKey);
    this.staticDhCache = new StaticDhCache(this.keyPair, dhCacheEntries);
  }
}

/** A peer's static keys and the MAC keys derived from them (those only when first needed). */
export class RemoteStatic {
  /** Ed25519 public key (what users and the directory call the peer's public key). */
  readonly publicKey: Buffer;
  /** X25519 key derived from it: the Noise static key. */
  readonly x25519PublicKey: Buffer;
  #mac1Key: Buffer | null = null;
  #cookieKey: Buffer | null = null;

  private constructor(publicKey: Buffer, x25519PublicKey: Buffer) {
    this.publicKey = publicKey;
    this.x25519PublicKey = x25519PublicKey;
  }

  /** The peer's mac1 key: what we send it carries mac1 under this key. */
  get mac1Key(): Buffer {
    return (this.#mac1Key ??= mac1Key(this.x25519PublicKey));
  }

  /** The key of the peer's cookie replies. */
  get cookieKey(): Buffer {
    return (this.#cookieKey ??= cookieKey(this.x25519PublicKey));
  }

  /** Null when `publicKey` is not a valid Ed25519 public key. */
  static fromPublicKey(publicKey: Uint8Array): RemoteStatic | null {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_BYTES) return null;
    const x = Buffer.allocUnsafe(KEY_BYTES); // pooled: no ArrayBuffer of its own per peer
    try {
      sodium.crypto_sign_ed25519_pk_to_curve25519(x, publicKey);
    } catch {
      return null;
    }
    return new RemoteStatic(Buffer.from(publicKey), x);
  }
}

function newNoise(local: LocalStatic, initiator: boolean, rs?: Uint8Array, e?: KeyPair): HandshakeIK {
  return new HandshakeIK({
    initiator,
    protocol: PROTOCOL_NAME,
    prologue: PROLOGUE,
    s: local.keyPair,
    rs,
    e,
    staticDhCache: local.staticDhCache,
  });
}

function isHandshakeFailure(err: unknown): boolean {
  return hasCode(err, 'ERR_HUBLESS_HANDSHAKE_FAILED');
}

export interface WrittenInitiation {
  /** The initiation body (sender index ‖ Noise message 1 ‖ mac1 ‖ mac2). */
  body: Buffer;
  /** The Noise state waiting for the response. */
  noise: HandshakeIK;
  /** mac1 of this initiation (a cookie reply quotes it). */
  mac1: Buffer;
}

/**
 * A fresh initiation (new ephemeral key, the payload's new timestamp). `ephemeral` fixes the
 * ephemeral key pair, for test vectors only.
 */
export function writeInitiation(
  local: LocalStatic, remote: RemoteStatic, senderIndex: number, payload: InitiationPayload, cookie: Uint8Array | null,
  ephemeral?: KeyPair,
): WrittenInitiation {
  const noise = newNoise(local, true, remote.x25519PublicKey, ephemeral);
  const msg = noise.writeMessage(encodeInitiationPayload(payload));
  const body = Buffer.alloc(INDEX_BYTES + msg.length + MACS_BYTES);
  writeIndex(body, senderIndex);
  body.set(msg, INDEX_BYTES);
  const mac1 = writeMacs(body, PACKET_INITIATION, 0, remote.mac1Key, cookie);
  return { body, noise, mac1 };
}

/** Size check of an initiation body, before any cryptography. */
export function initiationSizeOk(body: Uint8Array): boolean {
  return body.length >= INITIATION_BYTES && body.length <= INITIATION_MAX;
}

export interface ReadInitiation {
  noise: HandshakeIK;
  senderIndex: number;
  payload: InitiationPayload;
  remote: RemoteStatic;
}

/**
 * Reads the Noise part of an initiation whose size and mac1 were already checked. On success the
 * initiator is authenticated (it holds the static key it claims) but the message may be a replay:
 * the caller checks the timestamp. `ephemeral` fixes the response's ephemeral key (test vectors).
 */
export function readInitiation(
  local: LocalStatic, body: Uint8Array, ephemeral?: KeyPair,
): ReadInitiation | HandshakeDropReason {
  const noise = newNoise(local, false, undefined, ephemeral);
  let plain: Buffer;
  try {
    plain = noise.readMessage(body.subarray(INDEX_BYTES, body.length - MACS_BYTES));
  } catch (err) {
    noise.destroy();
    if (isHandshakeFailure(err)) return 'decrypt';
    throw err;
  }
  const payload = decodeInitiationPayload(plain);
  if (payload === null) {
    noise.destroy();
    return 'payload';
  }
  const remote = RemoteStatic.fromPublicKey(payload.publicKey);
  const rs = noise.remoteStaticKey;
  if (remote === null || rs === null || !remote.x25519PublicKey.equals(rs)) {
    noise.destroy();
    return 'keyMismatch';
  }
  return { noise, senderIndex: readIndex(body), payload, remote };
}

export interface WrittenResponse {
  body: Buffer;
  /** Transport keys: tx for what we send, rx for what we receive. */
  tx: Uint8Array;
  rx: Uint8Array;
}

/** The response to an initiation read by readInitiation, and the session keys (split). */
export function writeResponse(
  read: ReadInitiation, senderIndex: number, payload: ResponsePayload,
): WrittenResponse {
  const msg = read.noise.writeMessage(encodeResponsePayload(payload));
  const body = Buffer.alloc(INDEX_BYTES + msg.length + MACS_BYTES);
  writeIndex(body, senderIndex);
  body.set(msg, INDEX_BYTES);
  writeMacs(body, PACKET_RESPONSE, read.senderIndex, read.remote.mac1Key, null);
  const { tx, rx } = read.noise.split();
  return { body, tx, rx };
}

export interface ReadResponse {
  senderIndex: number;
  payload: ResponsePayload;
  tx: Uint8Array;
  rx: Uint8Array;
}

/**
 * Reads a response to our initiation (state in `noise`). Checks size and mac1 first. A failure
 * leaves `noise` untouched, so the genuine response can still be read after a forged one.
 */
export function readResponse(
  local: LocalStatic, noise: HandshakeIK, body: Uint8Array, receiver: number, counter: bigint,
): ReadResponse | HandshakeDropReason {
  if (body.length < RESPONSE_BYTES || body.length > RESPONSE_MAX) return 'malformed';
  if (!checkMac1(body, PACKET_RESPONSE, receiver, counter, local.mac1Key)) return 'mac1';
  let plain: Buffer;
  try {
    plain = noise.readMessage(body.subarray(INDEX_BYTES, body.length - MACS_BYTES));
  } catch (err) {
    if (isHandshakeFailure(err)) return 'decrypt';
    throw err;
  }
  const payload = decodeResponsePayload(plain);
  if (payload === null) {
    noise.destroy();
    return 'payload';
  }
  const { tx, rx } = noise.split();
  return { senderIndex: readIndex(body), payload, tx, rx };
}
