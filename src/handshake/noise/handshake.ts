// Noise HandshakeState (spec rev 34, §5.3) for the IK pattern and its psk variants:
//
//   IK:                     IKpsk1:                      IKpsk2:
//     <- s                    <- s                         <- s
//     ...                     ...                          ...
//     -> e, es, s, ss         -> e, es, s, ss, psk         -> e, es, s, ss
//     <- e, ee, se            <- e, ee, se                 <- e, ee, se, psk
//
// One round trip: the initiator (dialler) knows the responder's static key beforehand (from the
// directory) and sends its own static key encrypted in message 1; after message 2 both sides call
// split() for per-direction transport keys.
//
// Failure model: any bad input to readMessage (truncated, oversized, garbage, failed AEAD, a
// low-order ephemeral key) throws a HublessError ERR_HUBLESS_HANDSHAKE_FAILED and leaves the
// state exactly as it was before the call (it is saved and restored), so a forged or corrupted
// datagram cannot kill a pending handshake: the genuine message can still be read afterwards,
// as WireGuard drops a bad response and keeps waiting. Retrying gives an attacker nothing: each
// attempt is an AEAD forgery under a key it cannot compute. A failure in writeMessage (a
// low-order remote static key, a throwing ephemeral generator) does poison the state.
//
// Replay: IK's message 1 can be replayed by anyone who saw it, and a responder will answer each
// replay with a fresh ephemeral (the replayer cannot read the answer or derive the keys, but it
// costs the responder the DH work and lets the replayer learn that the initiator's message is
// still accepted). Replay protection is the caller's job: put a monotonic timestamp in the
// message 1 payload and have the responder keep the greatest one seen per initiator static key,
// as WireGuard does (its TAI64N timestamp), with a stateless cookie in front under load.
import { HublessError } from '../../errors.js';
import { TAGLEN } from './cipher.js';
import { DHLEN, StaticDhCache, dh, generateKeyPair, type EphemeralGenerator, type KeyPair } from './dh.js';
import { handshakeFailed, invalidArgument, stateError } from './errors.js';
import { parseProtocolName, type NoiseProtocol, type Token } from './protocol.js';
import { SymmetricState } from './symmetric.js';

/** Noise's maximum message size (§3). */
export const MAX_MESSAGE_LEN = 65535;
/** Length of a pre-shared key (§9). */
export const PSK_LEN = 32;
/** The protocol used when none is named. */
export const DEFAULT_PROTOCOL = 'Noise_IK_25519_AESGCM_SHA256';

/**
 * Where psk tokens take their key: one key for every psk token, one key per psk token (in
 * pattern order), or a function asked when the token is processed. The function form lets a
 * responder pick the PSK by the initiator's static key (known from message 1's "s" token on;
 * null for psk0, which comes before it).
 */
export type PskSource =
  | Uint8Array
  | readonly Uint8Array[]
  | ((index: number, remoteStaticKey: Uint8Array | null) => Uint8Array);

export interface HandshakeOptions {
  /** True for the dialler (sends message 1). */
  initiator: boolean;
  /** Protocol name, default `Noise_IK_25519_AESGCM_SHA256`. */
  protocol?: string;
  /** Prologue both sides must agree on (MixHash'ed first); default empty. */
  prologue?: Uint8Array;
  /** Our static X25519 key pair (kept by reference: do not mutate it during the handshake). */
  s: KeyPair;
  /** The responder's static public key: required for the initiator, ignored for the responder. */
  rs?: Uint8Array;
  /** A fixed ephemeral key pair (test vectors). Not zeroed by this object. */
  e?: KeyPair;
  /** Ephemeral key generator (default: fresh random X25519 pairs, zeroed after the handshake). */
  generateEphemeral?: EphemeralGenerator;
  /** Pre-shared key(s), required for psk protocols. */
  psk?: PskSource;
  /**
   * Cache of DH(s, rs) per peer for our static key `s` (WireGuard's precomputed static-static):
   * saves one of the five X25519 operations per side on repeat handshakes. Optional.
   */
  staticDhCache?: StaticDhCache;
}

export interface SplitResult {
  /** Key for what we send (the initiator's tx is Noise's first Split key). */
  tx: Uint8Array;
  /** Key for what we receive. */
  rx: Uint8Array;
  /** The final handshake hash h (HASHLEN bytes), for channel binding. */
  handshakeHash: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function isKey(k: unknown): k is Uint8Array {
  return k instanceof Uint8Array && k.length === DHLEN;
}

export class HandshakeIK {
  readonly protocol: NoiseProtocol;
  readonly initiator: boolean;
  private readonly ss: SymmetricState;
  private readonly s: KeyPair;
  private e: KeyPair | null;
  private readonly ownsE: boolean;
  private readonly generateEphemeral: EphemeralGenerator;
  private readonly psk: PskSource | undefined;
  private readonly staticDhCache: StaticDhCache | undefined;
  private pskIndex = 0;
  /** re (32) ‖ rs (32) ‖ DH scratch (32): one allocation. */
  private readonly keys = new Uint8Array(3 * DHLEN);
  private readonly re: Uint8Array;
  private readonly rs: Uint8Array;
  private readonly dhOut: Uint8Array;
  private hasRe = false;
  private hasRs = false;
  private index = 0;
  private failed = false;
  private splitDone = false;

  constructor(options: HandshakeOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('HandshakeIK needs an options object');
    const protocol = parseProtocolName(options.protocol ?? DEFAULT_PROTOCOL);
    this.protocol = protocol;
    this.initiator = options.initiator === true;
    const s = options.s;
    if (s === null || typeof s !== 'object' || !isKey(s.publicKey) || !isKey(s.secretKey)) {
      throw invalidArgument('s must be an X25519 key pair of 32-byte keys');
    }
    this.s = s;
    const prologue = options.prologue ?? EMPTY;
    if (!(prologue instanceof Uint8Array)) throw invalidArgument('prologue must be a Uint8Array');
    if (options.e !== undefined && (!isKey(options.e.publicKey) || !isKey(options.e.secretKey))) {
      throw invalidArgument('e must be an X25519 key pair of 32-byte keys');
    }
    this.e = options.e ?? null;
    this.ownsE = options.e === undefined;
    this.generateEphemeral = options.generateEphemeral ?? generateKeyPair;
    if (protocol.pskMode) {
      const psk = options.psk;
      if (psk instanceof Uint8Array) {
        if (psk.length !== PSK_LEN) throw invalidArgument('a psk is 32 bytes');
      } else if (Array.isArray(psk)) {
        if (psk.length !== protocol.pskCount || !psk.every((k) => k instanceof Uint8Array && k.length === PSK_LEN)) {
          throw invalidArgument(`${protocol.name} needs ${protocol.pskCount} psk(s) of 32 bytes`);
        }
      } else if (typeof psk !== 'function') {
        throw invalidArgument(`${protocol.name} needs a psk`);
      }
      this.psk = psk;
    }
    const cache = options.staticDhCache;
    if (cache !== undefined) {
      if (!(cache instanceof StaticDhCache) || !cache.belongsTo(s.publicKey)) {
        throw invalidArgument('staticDhCache must be a StaticDhCache built for the same static key pair s');
      }
      this.staticDhCache = cache;
    }
    this.re = this.keys.subarray(0, DHLEN);
    this.rs = this.keys.subarray(DHLEN, 2 * DHLEN);
    this.dhOut = this.keys.subarray(2 * DHLEN);

    this.ss = new SymmetricState(protocol);
    this.ss.mixHash(prologue);
    // Pre-message "<- s": both sides hash the responder's static public key.
    if (this.initiator) {
      if (!isKey(options.rs)) throw invalidArgument('the initiator needs rs, the responder\'s 32-byte static public key');
      this.rs.set(options.rs);
      this.hasRs = true;
      this.ss.mixHash(this.rs);
    } else {
      this.ss.mixHash(s.publicKey);
    }
  }

  /** True when it is our turn to writeMessage (false once the handshake is complete). */
  get isMyTurn(): boolean {
    return this.index < 2 && (this.index === 0) === this.initiator;
  }

  /** True after both handshake messages were processed: split() is due. */
  get complete(): boolean {
    return this.index === 2 && !this.failed;
  }

  /** The peer's static public key (a copy), known to the responder once message 1 is read. */
  get remoteStaticKey(): Uint8Array | null {
    return this.hasRs ? this.rs.slice() : null;
  }

  /** The peer's ephemeral public key (a copy), once received. */
  get remoteEphemeralKey(): Uint8Array | null {
    return this.hasRe ? this.re.slice() : null;
  }

  /** Our ephemeral public key (a copy), once generated. */
  get localEphemeralKey(): Uint8Array | null {
    return this.e === null || (this.ownsE && this.splitDone) ? null : Uint8Array.from(this.e.publicKey);
  }

  /** The current handshake hash h (a copy). */
  get handshakeHash(): Uint8Array {
    return this.ss.h.slice();
  }

  /** Length of the next message for a payload of `payloadLength` bytes. */
  messageLength(payloadLength: number): number {
    let hasKey = this.ss.cipherState.hasKey();
    let n = 0;
    for (const t of this.protocol.messages[this.index] ?? []) {
      if (t === 'e') {
        n += DHLEN;
        if (this.protocol.pskMode) hasKey = true;
      } else if (t === 's') {
        n += DHLEN + (hasKey ? TAGLEN : 0);
      } else {
        hasKey = true;
      }
    }
    return n + payloadLength + (hasKey ? TAGLEN : 0);
  }

  private checkUsable(): void {
    if (this.failed) throw handshakeFailed('this handshake already failed; start a new one');
    if (this.splitDone) throw stateError('this handshake is finished (split() was called)');
  }

  /** Writes the next handshake message carrying `payload` (encrypted), and returns it. */
  writeMessage(payload: Uint8Array = EMPTY): Buffer {
    this.checkUsable();
    if (!this.isMyTurn) {
      throw stateError(this.index >= 2 ? 'the handshake is complete; call split()' : 'it is the peer\'s turn: readMessage first');
    }
    if (!(payload instanceof Uint8Array)) throw invalidArgument('payload must be a Uint8Array');
    const len = this.messageLength(payload.length);
    if (len > MAX_MESSAGE_LEN) {
      throw invalidArgument(`handshake payload too large: message would be ${len} bytes (Noise max ${MAX_MESSAGE_LEN})`);
    }
    const out = Buffer.allocUnsafe(len);
    try {
      const ss = this.ss;
      let off = 0;
      for (const t of this.protocol.messages[this.index]) {
        switch (t) {
          case 'e': {
            if (this.e === null || this.ownsE) this.e = this.newEphemeral();
            const pub = this.e.publicKey;
            out.set(pub, off);
            off += DHLEN;
            ss.mixHash(pub);
            if (this.protocol.pskMode) ss.mixKey(pub);
            break;
          }
          case 's': {
            const n = DHLEN + ss.overhead();
            ss.encryptAndHash(this.s.publicKey, out.subarray(off, off + n));
            off += n;
            break;
          }
          case 'psk':
            ss.mixKeyAndHash(this.nextPsk());
            break;
          default:
            this.mixDh(t);
        }
      }
      ss.encryptAndHash(payload, out.subarray(off));
    } catch (err) {
      out.fill(0);
      throw this.fail(err);
    }
    this.index++;
    return out;
  }

  /**
   * Reads the peer's next handshake message and returns its decrypted payload. On failure it
   * throws ERR_HUBLESS_HANDSHAKE_FAILED and the state is unchanged.
   */
  readMessage(message: Uint8Array): Buffer {
    this.checkUsable();
    if (this.index >= 2 || this.isMyTurn) {
      throw stateError(this.index >= 2 ? 'the handshake is complete; call split()' : 'it is our turn: writeMessage first');
    }
    if (!(message instanceof Uint8Array)) throw handshakeFailed('handshake message must be a Uint8Array');
    const min = this.messageLength(0);
    if (message.length < min || message.length > MAX_MESSAGE_LEN) {
      throw handshakeFailed(`handshake message ${this.index + 1} has bad length ${message.length} (min ${min}, max ${MAX_MESSAGE_LEN})`);
    }
    const ss = this.ss;
    ss.save();
    const { pskIndex, hasRe, hasRs } = this;
    let payload: Buffer;
    try {
      let off = 0;
      for (const t of this.protocol.messages[this.index]) {
        switch (t) {
          case 'e': {
            this.re.set(message.subarray(off, off + DHLEN));
            this.hasRe = true;
            off += DHLEN;
            ss.mixHash(this.re);
            if (this.protocol.pskMode) ss.mixKey(this.re);
            break;
          }
          case 's': {
            const n = DHLEN + ss.overhead();
            if (!ss.decryptAndHash(message.subarray(off, off + n), this.rs)) {
              throw handshakeFailed(`handshake message ${this.index + 1}: the static key failed authentication (wrong responder key or prologue, or tampering)`);
            }
            this.hasRs = true;
            off += n;
            break;
          }
          case 'psk':
            ss.mixKeyAndHash(this.nextPsk());
            break;
          default:
            this.mixDh(t);
        }
      }
      const body = message.subarray(off);
      payload = Buffer.allocUnsafe(body.length - ss.overhead());
      if (!ss.decryptAndHash(body, payload)) {
        throw handshakeFailed(`handshake message ${this.index + 1}: the payload failed authentication`);
      }
    } catch (err) {
      // Undo everything this message did: a bad datagram must not break the pending handshake.
      ss.restore();
      this.pskIndex = pskIndex;
      this.hasRe = hasRe;
      if (!hasRe) this.re.fill(0);
      this.hasRs = hasRs;
      if (!hasRs) this.rs.fill(0);
      this.dhOut.fill(0);
      if (err instanceof HublessError) throw err;
      throw handshakeFailed(`handshake message ${this.index + 1} failed`, err);
    }
    this.index++;
    return payload;
  }

  /**
   * Split() after the last message: per-direction transport keys (fresh 32-byte arrays the caller
   * owns) and the handshake hash. Callable once; it wipes the handshake's secrets.
   */
  split(): SplitResult {
    this.checkUsable();
    if (this.index < 2) throw stateError('split() before the handshake is complete');
    const [k1, k2] = this.ss.splitKeys();
    const handshakeHash = this.ss.h.slice();
    this.splitDone = true;
    this.wipe();
    return this.initiator ? { tx: k1, rx: k2, handshakeHash } : { tx: k2, rx: k1, handshakeHash };
  }

  /** Wipes every secret this object holds; the object is unusable afterwards. */
  destroy(): void {
    if (!this.splitDone) this.failed = true;
    this.wipe();
  }

  private wipe(): void {
    this.ss.destroy();
    this.dhOut.fill(0);
    if (this.ownsE && this.e !== null) this.e.secretKey.fill(0);
  }

  private fail(err: unknown): HublessError {
    this.failed = true;
    this.wipe();
    if (err instanceof HublessError) return err;
    return handshakeFailed(`handshake message ${this.index + 1} failed`, err);
  }

  private newEphemeral(): KeyPair {
    const e = this.generateEphemeral();
    if (e === null || typeof e !== 'object' || !isKey(e.publicKey) || !isKey(e.secretKey)) {
      throw invalidArgument('generateEphemeral must return an X25519 key pair of 32-byte keys');
    }
    return e;
  }

  private nextPsk(): Uint8Array {
    const i = this.pskIndex++;
    const src = this.psk!;
    let k: unknown;
    if (src instanceof Uint8Array) k = src;
    else if (Array.isArray(src)) k = src[i];
    else k = (src as (index: number, rs: Uint8Array | null) => Uint8Array)(i, this.hasRs ? this.rs.slice() : null);
    if (!(k instanceof Uint8Array) || k.length !== PSK_LEN) throw invalidArgument('a psk is 32 bytes');
    return k;
  }

  /** The DH tokens: ee, es, se, ss, each followed by MixKey(DH output). */
  private mixDh(t: Token): void {
    const e = this.e;
    const out = this.dhOut;
    switch (t) {
      case 'ee':
        dh(out, e!.secretKey, this.re);
        break;
      case 'es':
        if (this.initiator) dh(out, e!.secretKey, this.rs);
        else dh(out, this.s.secretKey, this.re);
        break;
      case 'se':
        if (this.initiator) dh(out, this.s.secretKey, this.re);
        else dh(out, e!.secretKey, this.rs);
        break;
      case 'ss':
        if (this.staticDhCache !== undefined) this.staticDhCache.dh(out, this.rs);
        else dh(out, this.s.secretKey, this.rs);
        break;
      default:
        throw stateError(`unexpected token ${t}`);
    }
    this.ss.mixKey(out);
    out.fill(0);
  }
}
