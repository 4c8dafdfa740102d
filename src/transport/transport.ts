/**
 * Transport: a UDP socket on the native data plane. It carries sealed datagrams for installed
 * sessions (keys come from the handshake) and hands handshake-class packets to JS. Received data
 * arrives as one 'datagrams' event per batch, never one per packet.
 */
import { EventEmitter } from 'node:events';
import { HublessError, asHublessError } from '../errors.js';
import { constants, native, type NativeUdpSocket } from '../native/binding.js';
import { addressFromWords, type UdpEndpoint } from './ip-words.js';

export type { UdpEndpoint } from './ip-words.js';

export type AeadAlgorithm = 'aes-256-gcm' | 'chacha20-poly1305';

const ALGORITHM_IDS: Record<AeadAlgorithm, number> = { 'aes-256-gcm': 1, 'chacha20-poly1305': 2 };
const ALGORITHM_NAMES: Record<number, AeadAlgorithm> = { 1: 'aes-256-gcm', 2: 'chacha20-poly1305' };

/** The AEAD a new session gets by default: AES-256-GCM where the CPU accelerates it. */
export function preferredAlgorithm(): AeadAlgorithm {
  return constants.aesGcmAvailable ? 'aes-256-gcm' : 'chacha20-poly1305';
}

export function algorithmId(a: AeadAlgorithm): number {
  const id = ALGORITHM_IDS[a];
  if (id === undefined) throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', `unknown AEAD algorithm ${String(a)}`);
  return id;
}

export interface TransportOptions {
  /** Numeric IPv4 or IPv6 address to bind; default 127.0.0.1. Use '::' for dual-stack. */
  host?: string;
  /** UDP port; 0 (default) picks a free one. */
  port?: number;
  /** For IPv6 hosts: refuse IPv4-mapped traffic. Default false (dual-stack). */
  ipv6Only?: boolean;
  /** Kernel socket buffer sizes in bytes, integers in 4 KiB..1 GiB; default 4 MiB each (root may exceed rmem_max). */
  receiveBufferSize?: number;
  sendBufferSize?: number;
  /** Receive slab shared with native code; one batch holds at most this many plaintext bytes. */
  slabSize?: number;
  /**
   * Use UDP GSO/GRO where the kernel has them (default true). false forces one datagram per
   * kernel buffer entry (still batched by sendmmsg/recvmmsg), as on kernels without them.
   */
  offload?: boolean;
  /** Keep the event loop alive while open (default true), as node:dgram does. */
  ref?: boolean;
}

export interface SessionKeys {
  /** The index the peer chose for this session; goes in the clear header of what we send. */
  remoteIndex: number;
  algorithm: AeadAlgorithm;
  txKey: Uint8Array;
  rxKey: Uint8Array;
  peer: { address: string; port: number };
}

export type SocketStats = Record<string, number>;

export interface SessionStats {
  algorithm: AeadAlgorithm | null;
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  authFailures: number;
  replays: number;
  tooOld: number;
  txCounter: number;
  rxHighest: number;
}

/**
 * A batch of received plaintext datagrams. The object and the payload views are reused: read or
 * copy what you need inside the 'datagrams' listener; `copy(i)` returns bytes you may keep.
 */
export class DatagramBatch {
  count = 0;
  readonly #meta: Uint32Array;
  readonly #slab: Buffer;

  constructor(meta: Uint32Array, slab: Buffer) {
    this.#meta = meta;
    this.#slab = slab;
  }

  /** Local index of the session the datagram arrived on. */
  session(i: number): number {
    return this.#meta[i * 4];
  }

  dstPort(i: number): number {
    return this.#meta[i * 4 + 1] >>> 16;
  }

  srcPort(i: number): number {
    return this.#meta[i * 4 + 1] & 0xffff;
  }

  length(i: number): number {
    return this.#meta[i * 4 + 3];
  }

  /** A view of the plaintext, valid only until the listener returns. */
  payload(i: number): Buffer {
    const off = this.#meta[i * 4 + 2];
    return this.#slab.subarray(off, off + this.#meta[i * 4 + 3]);
  }

  copy(i: number): Buffer {
    // Straight from the slab: no intermediate view object per datagram.
    return Buffer.copyBytesFrom(this.#slab, this.#meta[i * 4 + 2], this.#meta[i * 4 + 3]);
  }
}

export interface ControlPacket {
  /** 0 for STUN, else the hubless packet type (handshake initiation, response, cookie reply). */
  type: number;
  receiver: number;
  counter: bigint;
  /** The packet body after the hubless header (the whole message for STUN); yours to keep. */
  body: Buffer;
  from: UdpEndpoint;
}

export interface TransportEvents {
  datagrams: [DatagramBatch];
  control: [ControlPacket];
  drain: [];
  close: [];
}

const DEFAULT_SLAB = 2 << 20;

// Hook for src/stream: the stream engine attaches to the transport's native socket. Internal,
// not exported from the package.
const nativeSockets = new WeakMap<Transport, NativeUdpSocket>();

/** @internal The native socket under a transport (used by src/stream to attach its engine). */
export function nativeSocketOf(t: Transport): NativeUdpSocket {
  const s = nativeSockets.get(t);
  if (s === undefined) throw new HublessError('ERR_HUBLESS_SOCKET_CLOSED', 'the transport has no native socket');
  return s;
}
const DEFAULT_SOCKET_BUFFER = 4 << 20;
/** What the kernel accepts as a socket buffer size, and what native setBufferSizes clamps to. */
const MIN_SOCKET_BUFFER = 4 << 10;
const MAX_SOCKET_BUFFER = 1 << 30;

export class Transport extends EventEmitter<TransportEvents> {
  readonly #socket: NativeUdpSocket;
  readonly #stats = new Float64Array(constants.socketStatNames.length);
  readonly #meta = new Uint32Array(constants.metaWords);
  readonly #metaBytes = new Uint8Array(this.#meta.buffer);
  readonly #slab: Buffer;
  readonly #batch: DatagramBatch;
  readonly #sessionScratch = new Float64Array(constants.sessionStatNames.length);
  #closed = false;
  #address: UdpEndpoint;
  /** The last control sender's IP text: senders sharing an IP share one string (sessions keep it). */
  #lastFrom = '';
  readonly features: { gso: boolean; gro: boolean };
  /** Largest payload one datagram carries (fits a 1280-byte path). */
  readonly maxPayload = constants.maxDatagramPayload;

  private constructor(options: TransportOptions) {
    super();
    const slabSize = options.slabSize ?? DEFAULT_SLAB;
    if (!Number.isInteger(slabSize) || slabSize < 256 << 10 || slabSize > 64 << 20) {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'slabSize must be an integer between 256 KiB and 64 MiB');
    }
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'port must be an integer in 0..65535');
    }
    for (const key of ['receiveBufferSize', 'sendBufferSize'] as const) {
      const v = options[key];
      if (v !== undefined && (!Number.isInteger(v) || v < MIN_SOCKET_BUFFER || v > MAX_SOCKET_BUFFER)) {
        throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', `${key} must be an integer between 4 KiB and 1 GiB`);
      }
    }
    this.#slab = Buffer.alloc(slabSize);
    this.#batch = new DatagramBatch(this.#meta, this.#slab);
    try {
      this.#socket = new native.UdpSocket({
        onBatch: (d, c) => this.#onBatch(d, c),
        onDrain: () => this.emit('drain'),
        slab: this.#slab,
        meta: this.#meta,
        stats: this.#stats,
      });
    } catch (err) {
      throw asHublessError(err);
    }
    try {
      if (options.ref === false) this.#socket.setRef(false);
      this.#socket.bind(host, port, options.ipv6Only ?? false, options.offload ?? true);
      this.#socket.setBufferSizes(
        options.receiveBufferSize ?? DEFAULT_SOCKET_BUFFER,
        options.sendBufferSize ?? DEFAULT_SOCKET_BUFFER,
      );
      this.features = this.#socket.features();
      this.#address = this.#socket.localAddress();
    } catch (err) {
      // A socket that failed to bind is released now, not by the GC.
      try {
        this.#socket.close();
      } catch {
        // nothing more to release
      }
      throw asHublessError(err);
    }
    nativeSockets.set(this, this.#socket);
  }

  /** Binds a new transport. Errors: ERR_HUBLESS_ADDRESS_IN_USE, ERR_HUBLESS_INVALID_ARGUMENT. */
  static async open(options: TransportOptions = {}): Promise<Transport> {
    return new Transport(options);
  }

  get address(): UdpEndpoint {
    return this.#address;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Socket-wide counters by name (one snapshot, no native call). */
  stats(): SocketStats {
    const out: SocketStats = {};
    constants.socketStatNames.forEach((name, i) => (out[name] = this.#stats[i]));
    return out;
  }

  /** Reserves a local session index (for a handshake in progress). */
  reserveSession(): number {
    try {
      return this.#socket.reserveSession();
    } catch (err) {
      throw asHublessError(err);
    }
  }

  installSession(index: number, keys: SessionKeys): void {
    const algorithm = algorithmId(keys.algorithm);
    try {
      this.#socket.installSession(index, keys.remoteIndex, algorithm, keys.txKey, keys.rxKey, keys.peer.address, keys.peer.port);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  /**
   * Removes a key pair. Removing the pair a logical session sends on (see setTxSession) ends that
   * session's streams; retiring any other pair does not.
   */
  removeSession(index: number): boolean {
    try {
      return this.#socket.removeSession(index);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  /**
   * Joins the freshly installed key pair `index` (a rekey) to the logical session of `toIndex`:
   * stream packets under either key pair reach the same streams.
   */
  linkSession(index: number, toIndex: number): void {
    try {
      this.#socket.linkSession(index, toIndex);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  /** Makes `index` the key pair its logical session seals stream packets with (the rekey's switch). */
  setTxSession(index: number): void {
    try {
      this.#socket.setTxSession(index);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  sessionStats(index: number): SessionStats | null {
    let algo: number;
    try {
      algo = this.#socket.sessionInfo(index, this.#sessionScratch);
    } catch (err) {
      throw asHublessError(err);
    }
    if (algo < 0) return null;
    const out = { algorithm: ALGORITHM_NAMES[algo] ?? null } as SessionStats;
    const rec = out as unknown as Record<string, number>;
    constants.sessionStatNames.forEach((name, i) => (rec[name] = this.#sessionScratch[i]));
    return out;
  }

  /**
   * Seals and sends a batch of datagrams on a session in one native call. Returns false when the
   * kernel pushed back and part of the batch waits natively; 'drain' follows.
   */
  send(index: number, dstPort: number, srcPort: number, payloads: Uint8Array[]): boolean {
    // try/catch costs nothing here until native throws; only then is the error converted.
    try {
      return this.#socket.send(index, dstPort, srcPort, payloads);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  /** Sends an unsealed handshake-class packet (the header is written natively). */
  sendControl(type: number, receiver: number, body: Uint8Array, to: { address: string; port: number }): boolean {
    try {
      return this.#socket.sendControl(type, receiver, 0, body, to.address, to.port);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  ref(): void {
    if (!this.#closed) this.#socket.setRef(true);
  }

  unref(): void {
    if (!this.#closed) this.#socket.setRef(false);
  }

  /** Idempotent; no event fires after it but 'close'. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    this.emit('close');
  }

  #onBatch(dataCount: number, ctrlCount: number): void {
    if (dataCount > 0) {
      this.#batch.count = dataCount;
      this.emit('datagrams', this.#batch);
    }
    if (ctrlCount === 0 || this.#closed) return;
    const base = constants.maxDataRecords * constants.dataRecordWords;
    for (let i = 0; i < ctrlCount && !this.#closed; i++) {
      const r = base + i * constants.ctrlRecordWords;
      const m = this.#meta;
      const off = m[r + 4];
      const from = addressFromWords(this.#metaBytes, (r + 7) * 4, m[r + 6]);
      if (from.address === this.#lastFrom) from.address = this.#lastFrom;
      else this.#lastFrom = from.address;
      this.emit('control', {
        type: m[r],
        receiver: m[r + 1],
        counter: (BigInt(m[r + 3]) << 32n) | BigInt(m[r + 2]),
        body: Buffer.from(this.#slab.subarray(off, off + m[r + 5])),
        from,
      });
    }
  }
}
