/**
 * StreamHub: the stream engine of one Transport. It attaches the native engine to the
 * transport's socket, turns the engine's batched events (one JS call per batch) into Stream
 * objects and their data, and emits 'stream' for streams the peer opens.
 *
 * Nodes use it for their sessions (session.openStream, node.listen): a node claims each of its
 * logical sessions (attach) and gets that session's incoming streams. Streams on sessions nobody
 * claimed go to 'stream' listeners — the transport-level API, for sessions installed by hand:
 *   const hub = streamsOf(transport);         // on both ends, before traffic flows
 *   hub.on('stream', (s) => ...);              // incoming
 *   const s = hub.openStream(sessionIndex, 7); // outgoing, to virtual port 7
 * An incoming stream nobody takes is refused (reset with RESET_CODE_REFUSED).
 */
import { EventEmitter } from 'node:events';
import { HublessError, asHublessError } from '../errors.js';
import { constants, native, type NativeStreamEngine } from '../native/binding.js';
import { nativeSocketOf, type Transport } from '../transport/transport.js';
import { RESET_CODE_MESSAGE_INVALID, RESET_CODE_MESSAGE_TOO_LARGE } from './messages.js';
import { RESET_CODE_REFUSED, Stream } from './stream.js';

export interface StreamOptions {
  /** Receive window per stream in bytes (default 1 MiB, at least 256 KiB). */
  streamWindow?: number;
  /** Receive window per session, all streams together (default 4 MiB, at least 1 MiB). */
  sessionWindow?: number;
  /** Send buffer per stream above which writes wait (default 1 MiB). */
  sendHighWater?: number;
  /** Streams a peer may have open at once on one session (default 1024). */
  maxStreams?: number;
  /** A session whose peer sends nothing for this long fails its streams (default 30 000 ms). */
  idleTimeoutMs?: number;
  /** Sends a PING after this long without sending, while streams are open (default 10 000 ms). */
  keepaliveMs?: number;
}

/** TEST-ONLY fault injection on the sending side (see native/stream_faults.h). */
export interface FaultOptions {
  loss?: number;
  reorder?: number;
  duplicate?: number;
  delayMs?: number;
  seed?: number;
}

export type StreamSessionStats = Record<string, number>;

export interface StreamHubEvents {
  stream: [Stream];
}

const EV_DATA = 1, EV_OPENED = 2, EV_FIN = 3, EV_RESET = 4, EV_STOP = 5, EV_WRITABLE = 6, EV_TIMEOUT = 7, EV_CLOSED = 8;
const SLAB_SIZE = 4 << 20;
const FIRST_EPHEMERAL_PORT = 49152;

const hubs = new WeakMap<Transport, StreamHub>();

function resetError(type: number, code: number, port: number): HublessError {
  let err: HublessError;
  if (code === RESET_CODE_REFUSED) {
    err = new HublessError('ERR_HUBLESS_STREAM_REFUSED', `the peer refused the stream: nothing accepts streams on its port ${port}`);
  } else if (code === RESET_CODE_MESSAGE_TOO_LARGE) {
    err = new HublessError('ERR_HUBLESS_MESSAGE_TOO_LARGE', 'the peer refused a message larger than its limit');
  } else if (code === RESET_CODE_MESSAGE_INVALID) {
    err = new HublessError('ERR_HUBLESS_MESSAGE_INVALID', 'the peer could not decode a message');
  } else {
    err = new HublessError('ERR_HUBLESS_STREAM_RESET',
      type === EV_RESET ? `the peer reset the stream (code ${code})` : `the peer stopped reading the stream (code ${code})`);
  }
  (err as HublessError & { resetCode: number }).resetCode = code;
  return err;
}

/** The stream hub of a transport, created (and attached natively) on first use. */
export function streamsOf(transport: Transport, options?: StreamOptions): StreamHub {
  let hub = hubs.get(transport);
  if (hub === undefined) {
    hub = new StreamHub(transport);
    hubs.set(transport, hub);
  }
  if (options !== undefined) hub.configure(options);
  return hub;
}

/** Opens a stream on an installed session of `transport` to the peer's virtual port `dstPort`. */
export function openStream(transport: Transport, session: number, dstPort: number, srcPort?: number): Stream {
  return streamsOf(transport).openStream(session, dstPort, srcPort);
}

/** Takes the incoming streams of one logical session (a session's core, for its node). */
export interface StreamOwner {
  takeStream(stream: Stream): void;
  /** One of its streams failed because the peer sent nothing within the idle timeout. */
  streamTimedOut(): void;
}

/**
 * @internal What the hub hands a stream's native events to: a Stream (the Node Duplex users see),
 * or a request in flight (request.ts), which reads its answer straight from these calls.
 */
export interface StreamSink {
  readonly remotePort: number;
  /** `length` received bytes at `start` in the hub's slab (reused by the next batch: copy what you keep). */
  _onBytes(slab: Buffer, start: number, length: number): void;
  _onFin(): void;
  _onWritable(): void;
  _onAbort(err: HublessError): void;
  /** The native side freed the stream (the hub has forgotten it). */
  _onNativeClosed(): void;
  /** The session or the transport ended under the stream: `err` for a failed session, none when closed on purpose. */
  destroy(err?: Error): unknown;
}

/** @internal A stream opened with openSink(): told its engine and key before any event. */
export interface RawStreamSink extends StreamSink {
  _opened(engine: NativeStreamEngine, conn: number, id: number): void;
}

export class StreamHub extends EventEmitter<StreamHubEvents> {
  readonly #engine: NativeStreamEngine;
  readonly #slab = Buffer.alloc(SLAB_SIZE);
  readonly #events = new Uint32Array(constants.streamMaxEvents * constants.streamEventWords);
  readonly #stats = new Float64Array(constants.streamStatNames.length);
  readonly #scratch = new Float64Array(constants.streamSessionStatNames.length);
  readonly #streams = new Map<number, Map<number, StreamSink>>();
  readonly #owners = new Map<number, StreamOwner>();
  #nextPort = FIRST_EPHEMERAL_PORT;
  #closed = false;

  constructor(transport: Transport) {
    super();
    try {
      this.#engine = new native.StreamEngine(nativeSocketOf(transport), {
        onEvents: (n) => this.#onEvents(n),
        slab: this.#slab,
        events: this.#events,
        stats: this.#stats,
      });
    } catch (err) {
      throw asHublessError(err);
    }
    transport.once('close', () => this.#onTransportClose());
  }

  configure(options: StreamOptions): void {
    try {
      this.#engine.configure(options);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  /** TEST-ONLY: loss, reordering, duplication and delay of this side's stream packets. */
  setFaults(options: FaultOptions | null): void {
    try {
      this.#engine.setFaults(options);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  /** @internal TEST-ONLY: seals arbitrary plaintext as a stream packet on a session. */
  injectPlaintext(session: number, plaintext: Uint8Array): void {
    try {
      this.#engine.injectPlaintext(session, plaintext);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  /** @internal A node takes the incoming streams of its logical session `conn`. */
  attach(conn: number, owner: StreamOwner): void {
    this.#owners.set(conn, owner);
  }

  /**
   * @internal The logical session ended: its streams are destroyed, with `error` (a session that
   * failed) or quietly (closed on purpose here, as sockets end when their server is torn down).
   */
  detach(conn: number, error?: Error): void {
    this.#owners.delete(conn);
    const m = this.#streams.get(conn);
    if (m === undefined) return;
    this.#streams.delete(conn);
    for (const s of [...m.values()]) {
      s._onNativeClosed();
      s.destroy(error);
    }
  }

  /** Streams open on one logical session. */
  streamCount(conn: number): number {
    return this.#streams.get(conn)?.size ?? 0;
  }

  openStream(session: number, dstPort: number, srcPort?: number): Stream {
    const src = srcPort ?? this.#ephemeralPort();
    const id = this.#open(session, dstPort, src);
    const stream = new Stream(this.#engine, { conn: session, id, localPort: src, remotePort: dstPort });
    this.#sinksOf(session).set(id, stream);
    return stream;
  }

  /**
   * @internal Opens a stream (from an ephemeral port) whose native events go straight to `sink`,
   * with no Stream (Duplex) in between: the request path (request.ts), where nobody else sees
   * the stream. The sink writes and resets through the engine it is given.
   */
  openSink(session: number, dstPort: number, sink: RawStreamSink): void {
    const id = this.#open(session, dstPort, this.#ephemeralPort());
    sink._opened(this.#engine, session, id);
    this.#sinksOf(session).set(id, sink);
  }

  #open(session: number, dstPort: number, src: number): number {
    if (this.#closed) throw new HublessError('ERR_HUBLESS_SOCKET_CLOSED', 'the transport is closed');
    if (!Number.isInteger(dstPort) || dstPort < 1 || dstPort > 65535) {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'dstPort must be an integer in 1..65535');
    }
    try {
      return this.#engine.open(session, dstPort, src);
    } catch (err) {
      throw asHublessError(err);
    }
  }

  /** Engine-wide counters (drops by reason, packets, timeouts), read without a native call. */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    constants.streamStatNames.forEach((name, i) => (out[name] = this.#stats[i]));
    return out;
  }

  /** Congestion and recovery state of one session (one native call), or null if it has none. */
  sessionStats(session: number): StreamSessionStats | null {
    if (this.#closed) return null;
    let found: boolean;
    try {
      found = this.#engine.sessionStats(session, this.#scratch);
    } catch (err) {
      throw asHublessError(err);
    }
    if (!found) return null;
    const out: StreamSessionStats = {};
    constants.streamSessionStatNames.forEach((name, i) => (out[name] = this.#scratch[i]));
    return out;
  }

  /** Streams currently open (JS side). */
  get size(): number {
    let n = 0;
    for (const m of this.#streams.values()) n += m.size;
    return n;
  }

  #ephemeralPort(): number {
    const p = this.#nextPort;
    this.#nextPort = p >= 65535 ? FIRST_EPHEMERAL_PORT : p + 1;
    return p;
  }

  #sinksOf(session: number): Map<number, StreamSink> {
    let m = this.#streams.get(session);
    if (m === undefined) {
      m = new Map();
      this.#streams.set(session, m);
    }
    return m;
  }

  /** The native side freed stream `id`: it leaves the map (and its session's map when it was the last). */
  #forget(session: number, id: number, m: Map<number, StreamSink>): void {
    m.delete(id);
    if (m.size === 0 && this.#streams.get(session) === m) this.#streams.delete(session);
  }

  #onEvents(count: number): void {
    const ev = this.#events;
    const W = constants.streamEventWords;
    for (let i = 0; i < count; i++) {
      const r = i * W;
      const type = ev[r], session = ev[r + 1], id = ev[r + 2], a = ev[r + 3], b = ev[r + 4];
      if (type === EV_OPENED) {
        const s = new Stream(this.#engine, { conn: session, id, localPort: a >>> 16, remotePort: a & 0xffff });
        this.#sinksOf(session).set(id, s);
        const owner = this.#owners.get(session);
        if (owner !== undefined) owner.takeStream(s);
        else if (this.listenerCount('stream') > 0) this.emit('stream', s);
        else s._refuse();
        continue;
      }
      const m = this.#streams.get(session);
      const s = m?.get(id);
      if (s === undefined) continue;
      switch (type) {
        case EV_DATA:
          s._onBytes(this.#slab, a, b);
          break;
        case EV_FIN:
          s._onFin();
          break;
        case EV_RESET:
        case EV_STOP:
          s._onAbort(resetError(type, a, s.remotePort));
          break;
        case EV_WRITABLE:
          s._onWritable();
          break;
        case EV_TIMEOUT:
          if (a !== 1) this.#owners.get(session)?.streamTimedOut();
          this.#forget(session, id, m!);
          s._onNativeClosed();
          s._onAbort(a === 1
            ? new HublessError('ERR_HUBLESS_SESSION_CLOSED', 'the session was removed')
            : new HublessError('ERR_HUBLESS_STREAM_TIMEOUT', 'the peer sent nothing within the idle timeout'));
          break;
        case EV_CLOSED:
          this.#forget(session, id, m!);
          s._onNativeClosed();
          break;
      }
    }
  }

  #onTransportClose(): void {
    this.#owners.clear();
    if (this.#closed) return;
    this.#closed = true;
    // A deliberate local close: streams end without an error event (as sockets do when their
    // server is torn down); pending writes fail with ERR_STREAM_DESTROYED.
    for (const m of [...this.#streams.values()]) {
      for (const s of [...m.values()]) {
        s._onNativeClosed();
        s.destroy();
      }
    }
    this.#streams.clear();
  }
}
