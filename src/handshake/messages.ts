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

// Keys of peer records, which live as long as their peer: slabs of their own. Kept in Node's
// Buffer pool, a 64-byte slice would keep its whole 8 KiB pool alive, and with it the garbage of
// the handshakes that shared it.
const KEPT_SLAB_BYTES = 1024;
let keptSlab = Buffer.alloc(0);
let keptUsed = 0;

/**
 * A peer's static keys: one 64-byte allocation (Ed25519 key ‖ X25519 key) and one Buffer object;
 * the X25519 view and the MAC keys are made when used (handshakes only). Those made while
 * reading a handshake sit in Node's Buffer pool; kept() copies them for a peer record.
 */
export class RemoteStatic {
  /** Ed25519 public key (what users and the directory call the peer's public key). */
  readonly publicKey: Buffer;

  /** `keys`: Ed25519 key ‖ X25519 key (64 bytes). */
  private constructor(keys: Buffer) {
    this.publicKey = keys.subarray(0, KEY_BYTES);
  }

  /** The same keys in memory meant to be kept (a peer record's), not in Node's Buffer pool. */
  kept(): RemoteStatic {
    if (keptUsed + 2 * KEY_BYTES > keptSlab.length) {
      keptSlab = Buffer.alloc(KEPT_SLAB_BYTES);
      keptUsed = 0;
    }
    const keys = keptSlab.subarray(keptUsed, keptUsed + 2 * KEY_BYTES);
    keptUsed += 2 * KEY_BYTES;
    const pk = this.publicKey;
    keys.set(new Uint8Array(pk.buffer, pk.byteOffset, 2 * KEY_BYTES));
    return new RemoteStatic(keys);
  }

  /** X25519 key derived from the Ed25519 key: the Noise static key (a new view of the same bytes). */
  get x25519PublicKey(): Buffer {
    const pk = this.publicKey;
    return Buffer.from(pk.buffer, pk.byteOffset + KEY_BYTES, KEY_BYTES);
  }

  /** The peer's mac1 key: what we send it carries mac1 under this key. */
  get mac1Key(): Buffer {
    return mac1Key(this.x25519PublicKey);
  }

  /** The key of the peer's cookie replies. */
  get cookieKey(): Buffer {
    return cookieKey(this.x25519PublicKey);
  }

  /** Null when `publicKey` is not a valid Ed25519 public key. */
  static fromPublicKey(publicKey: Uint8Array): RemoteStatic | null {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_BYTES) return null;
    const keys = Buffer.allocUnsafe(2 * KEY_BYTES); // pooled: no ArrayBuffer of its own per peer
    try {
      sodium.crypto_sign_ed25519_pk_to_curve25519(keys.subarray(KEY_BYTES), publicKey);
    } catch {
      return null;
    }
    keys.set(publicKey, 0);
    return new RemoteStatic(keys);
  }
}

/** The mac1 key of a message to `remote`, in a shared scratch buffer (used at once, never kept). */
const peerMac1Scratch = Buffer.alloc(32);
function peerMac1Key(remote: RemoteStatic): Buffer {
  return mac1Key(remote.x25519PublicKey, peerMac1Scratch);
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
  const mac1 = writeMacs(body, PACKET_INITIATION, 0, peerMac1Key(remote), cookie);
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
  writeMacs(body, PACKET_RESPONSE, read.senderIndex, peerMac1Key(read.remote), null);
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
