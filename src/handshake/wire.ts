// The hubless handshake on the wire (docs/PROTOCOL.md, "Handshake"): packet sizes, the bodies of
// the three handshake packets, and the fixed binary payloads carried inside the Noise messages.
//
//   initiation (type 1)   body = sender index (4) ‖ Noise message 1 ‖ mac1 (16) ‖ mac2 (16)
//   response   (type 2)   body = sender index (4) ‖ Noise message 2 ‖ mac1 (16) ‖ mac2 (16)
//   cookie     (type 3)   body = nonce (24) ‖ XChaCha20-Poly1305(cookie (16)) (32)
//
// Payloads are fixed layouts rather than msgpack: a handshake is parsed before anything about the
// sender is known, so every size is checked first and nothing is decoded beyond the fixed fields.
// A payload starts with a version byte; later versions only append fields, so a reader takes the
// fields it knows and ignores trailing bytes (up to PAYLOAD_MAX).
import { constants } from '../native/binding.js';
import type { AeadAlgorithm } from '../transport/transport.js';

/** The full Noise protocol name of the hubless handshake. */
export const PROTOCOL_NAME = 'Noise_IK_25519_AESGCM_SHA256';
/** Noise prologue: both sides MixHash it first, so a handshake of another protocol cannot be mixed in. */
export const PROLOGUE: Buffer = Buffer.from('hubless/1', 'ascii');

export const PACKET_INITIATION = constants.packetTypes.handshakeInit;
export const PACKET_RESPONSE = constants.packetTypes.handshakeResponse;
export const PACKET_COOKIE_REPLY = constants.packetTypes.cookieReply;
export const HEADER_BYTES = constants.headerSize;
/** First header byte: `11` marker, then the 6-bit protocol version. */
export const HEADER_FIRST_BYTE = 0xc0 | constants.version;

export const INDEX_BYTES = 4;
export const MAC_BYTES = 16;
export const MACS_BYTES = 2 * MAC_BYTES;
export const KEY_BYTES = 32;
export const TAG_BYTES = 16;
export const TIMESTAMP_BYTES = 12;
export const COOKIE_BYTES = 16;
export const COOKIE_NONCE_BYTES = 24;

/** Current payload layout version. */
export const PAYLOAD_VERSION = 1;
export const INITIATION_PAYLOAD_BYTES = 56;
export const RESPONSE_PAYLOAD_BYTES = 12;
/** Largest payload a reader accepts (room for appended fields of later versions). */
export const PAYLOAD_MAX = 256;

/** Noise IK message 1 without payload: e (32) ‖ s encrypted (32 + 16) ‖ payload tag (16). */
export const NOISE_MSG1_OVERHEAD = KEY_BYTES + KEY_BYTES + TAG_BYTES + TAG_BYTES;
/** Noise IK message 2 without payload: e (32) ‖ payload tag (16). */
export const NOISE_MSG2_OVERHEAD = KEY_BYTES + TAG_BYTES;

export const INITIATION_BYTES = INDEX_BYTES + NOISE_MSG1_OVERHEAD + INITIATION_PAYLOAD_BYTES + MACS_BYTES; // 188
export const INITIATION_MAX = INDEX_BYTES + NOISE_MSG1_OVERHEAD + PAYLOAD_MAX + MACS_BYTES;
export const RESPONSE_BYTES = INDEX_BYTES + NOISE_MSG2_OVERHEAD + RESPONSE_PAYLOAD_BYTES + MACS_BYTES; // 96
export const RESPONSE_MAX = INDEX_BYTES + NOISE_MSG2_OVERHEAD + PAYLOAD_MAX + MACS_BYTES;
export const COOKIE_REPLY_BYTES = COOKIE_NONCE_BYTES + COOKIE_BYTES + TAG_BYTES; // 56

/** AEAD identifiers on the wire (the same numbers the native session table uses). */
export const AEAD_IDS: Readonly<Record<AeadAlgorithm, number>> = { 'aes-256-gcm': 1, 'chacha20-poly1305': 2 };
export const AEAD_BY_ID: Readonly<Record<number, AeadAlgorithm>> = { 1: 'aes-256-gcm', 2: 'chacha20-poly1305' };

/** Bitmask of AEADs: bit (id − 1). */
export function aeadMask(algorithms: readonly AeadAlgorithm[]): number {
  let m = 0;
  for (const a of algorithms) m |= 1 << (AEAD_IDS[a] - 1);
  return m;
}

/** The responder's choice: AES-256-GCM when both sides have it, else ChaCha20-Poly1305; null if none is shared. */
export function chooseAead(offered: number, supported: number): AeadAlgorithm | null {
  const common = offered & supported;
  if (common & (1 << (AEAD_IDS['aes-256-gcm'] - 1))) return 'aes-256-gcm';
  if (common & (1 << (AEAD_IDS['chacha20-poly1305'] - 1))) return 'chacha20-poly1305';
  return null;
}

export const FLAG_REKEY = 0x01;

/** Inside Noise message 1 (encrypted and authenticated by Noise). */
export interface InitiationPayload {
  /** True when the initiator replaces the keys of a session it has with the responder. */
  rekey: boolean;
  /** AEADs the initiator supports (bitmask). */
  aeads: number;
  /** The initiator's network (its address is network : node id of (publicKey, nonce)). */
  network: number;
  /** The initiator's address nonce. */
  nonce: number;
  /** TAI64N timestamp, 12 bytes; the responder keeps the greatest per initiator key. */
  timestamp: Buffer;
  /** The initiator's Ed25519 public key (its Noise static key is derived from it). */
  publicKey: Buffer;
}

/** Inside Noise message 2. */
export interface ResponsePayload {
  /** The AEAD the responder chose for the session. */
  aead: AeadAlgorithm;
  network: number;
  nonce: number;
}

/*
 * Initiation payload, 56 bytes:
 *   0  version (1)     1  flags (bit 0: rekey)     2  AEAD bitmask     3  reserved (0)
 *   4  network (u16)   6  reserved (0, u16)
 *   8  nonce (u32)
 *  12  timestamp (TAI64N, 12)
 *  24  Ed25519 public key (32)
 */
export function encodeInitiationPayload(p: InitiationPayload): Buffer {
  const b = Buffer.alloc(INITIATION_PAYLOAD_BYTES);
  b[0] = PAYLOAD_VERSION;
  b[1] = p.rekey ? FLAG_REKEY : 0;
  b[2] = p.aeads;
  b.writeUInt16BE(p.network, 4);
  b.writeUInt32BE(p.nonce, 8);
  b.set(p.timestamp, 12);
  b.set(p.publicKey, 24);
  return b;
}

/** Null when the payload is too short, too long or of version 0. Unknown flags are ignored. */
export function decodeInitiationPayload(b: Uint8Array): InitiationPayload | null {
  if (b.length < INITIATION_PAYLOAD_BYTES || b.length > PAYLOAD_MAX || b[0] < 1) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return {
    rekey: (b[1] & FLAG_REKEY) !== 0,
    aeads: b[2],
    network: v.getUint16(4),
    nonce: v.getUint32(8),
    timestamp: Buffer.from(b.subarray(12, 24)),
    publicKey: Buffer.from(b.subarray(24, 56)),
  };
}

/*
 * Response payload, 12 bytes:
 *   0  version (1)     1  flags (0)     2  chosen AEAD id     3  reserved (0)
 *   4  network (u16)   6  reserved (0, u16)
 *   8  nonce (u32)
 */
export function encodeResponsePayload(p: ResponsePayload): Buffer {
  const b = Buffer.alloc(RESPONSE_PAYLOAD_BYTES);
  b[0] = PAYLOAD_VERSION;
  b[2] = AEAD_IDS[p.aead];
  b.writeUInt16BE(p.network, 4);
  b.writeUInt32BE(p.nonce, 8);
  return b;
}

export function decodeResponsePayload(b: Uint8Array): ResponsePayload | null {
  if (b.length < RESPONSE_PAYLOAD_BYTES || b.length > PAYLOAD_MAX || b[0] < 1) return null;
  const aead = AEAD_BY_ID[b[2]];
  if (aead === undefined) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  return { aead, network: v.getUint16(4), nonce: v.getUint32(8) };
}

/** The sender index at the start of an initiation or response body. */
export function readIndex(body: Uint8Array): number {
  return ((body[0] << 24) | (body[1] << 16) | (body[2] << 8) | body[3]) >>> 0;
}

export function writeIndex(body: Uint8Array, index: number): void {
  body[0] = index >>> 24;
  body[1] = index >>> 16;
  body[2] = index >>> 8;
  body[3] = index;
}
