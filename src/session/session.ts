// Session: an end-to-end encrypted association with one peer, set up by the Noise IK handshake
// and carried by the native data plane. Datagrams go to virtual ports (1..65535); each is at most
// `MAX_DATAGRAM_PAYLOAD` (1196) bytes so that a packet fits a 1280-byte path.
//
// Sessions are made by a Node (connect(), or an accepted initiation), never constructed directly.
import { EventEmitter } from 'node:events';
import { HublessError } from '../errors.js';
import type { Address } from '../identity/address.js';
import { constants } from '../native/binding.js';
import type { AeadAlgorithm, SessionStats } from '../transport/transport.js';
import type { SessionCore } from './core.js';
import { RequestCall, type RequestOptions } from '../stream/request.js';
import type { Stream } from '../stream/stream.js';
import { MessageQueue } from './message-queue.js';

/** Largest datagram payload: 1232-byte packet − 16 header − 16 tag − 4 ports. */
export const MAX_DATAGRAM_PAYLOAD: number = constants.maxDatagramPayload;
export const DEFAULT_QUEUE_LIMIT = 1024;

/** A received datagram. One object per datagram; `data` is a copy you may keep. */
export interface Message {
  data: Buffer;
  /** Destination port (ours). */
  port: number;
  /** Source port at the sender (where a reply would go). */
  srcPort: number;
  /** The session it arrived on. */
  session: Session;
}

export interface SendOptions {
  /** Source port to put in the datagram; default: the same as the destination port. */
  srcPort?: number;
}

export interface OpenStreamOptions {
  /** Our port as the peer sees it (default: an ephemeral port from 49152 up). */
  srcPort?: number;
}

export interface MessagesOptions {
  /** Most messages buffered for a slow consumer; beyond it new messages are dropped (default 1024). */
  limit?: number;
}

/** Counters from the native session table, summed over every key pair this session had. */
export type SessionTrafficCounters = Pick<
  SessionStats, 'txPackets' | 'txBytes' | 'rxPackets' | 'rxBytes' | 'authFailures' | 'replays' | 'tooOld'
>;

export interface SessionStatsSnapshot extends SessionTrafficCounters {
  /** AEAD of the keys we send on. */
  algorithm: AeadAlgorithm;
  /** Native indices of the keys we send on (ours, and the peer's). */
  localIndex: number;
  remoteIndex: number;
  /** The peer's UDP endpoint. */
  endpoint: { address: string; port: number };
  /** Age of the newest keys, in ms. */
  keyAgeMs: number;
  /** Completed rekeys (new key pairs after the first). */
  rekeys: number;
  /** Native indices currently installed (current, pending confirmation, retiring). */
  installedKeys: number;
  /** False for a new incoming session until the initiator's first packet arrived. */
  confirmed: boolean;
  /** Datagrams handed to this session's listeners and iterators. */
  messagesDelivered: number;
}

export interface SessionEvents {
  /** A datagram for this session (`data` is a copy; `info` also carries port, srcPort). */
  message: [data: Buffer, info: Message];
  /** The session ended: closed locally (no error), by its node, or replaced / timed out (error). */
  close: [error: HublessError | undefined];
  /** A send that returned false has been flushed to the kernel. */
  drain: [];
}

function checkPort(port: unknown, what: string, allowZero: boolean): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 0xffff) {
    throw new HublessError(
      'ERR_HUBLESS_BAD_PORT',
      `${what} must be an integer in ${allowZero ? 0 : 1}..65535${allowZero ? '' : ' (port 0 is reserved)'}, got ${String(port)}`,
    );
  }
  return port;
}

function checkDatagram(data: unknown): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'a datagram must be a Uint8Array or Buffer');
  }
  if (data.length > MAX_DATAGRAM_PAYLOAD) {
    throw new HublessError(
      'ERR_HUBLESS_DATAGRAM_TOO_LARGE',
      `a datagram carries at most ${MAX_DATAGRAM_PAYLOAD} bytes, got ${data.length}`,
    );
  }
  return data;
}

const kCore = Symbol('core');

// One shared function (no closure per session): the core re-reads 'message' listeners lazily.
function markStale(this: Session, event: string | symbol): void {
  if (event === 'message') this[kCore].handlersStale = true;
}

// EventEmitter keeps listeners in `_events`, which it makes as `{ __proto__: null }`: a
// dictionary-mode object of about 200 bytes, per session. Node's former way costs about 60: an
// instance of a constructor whose prototype inherits nothing, so no key ('constructor',
// 'toString', ...) is found on it unless set, and it stays in fast mode.
function Listeners(): void {}
Listeners.prototype = Object.create(null) as object;
const NewListeners = Listeners as unknown as new () => object;

export class Session extends EventEmitter<SessionEvents> {
  readonly #core: SessionCore;

  /** @internal Sessions come from Node.connect() and incoming handshakes. */
  constructor(core: SessionCore) {
    super();
    (this as unknown as { _events: object })._events = new NewListeners();
    this.#core = core;
    const untyped = this as EventEmitter;
    untyped.on('newListener', markStale);
    untyped.on('removeListener', markStale);
  }

  /** @internal */
  get [kCore](): SessionCore {
    return this.#core;
  }

  /** The peer's address (its node id checked against its key). */
  get remoteAddress(): Address {
    return this.#core.remoteAddress;
  }

  /** The peer's Ed25519 public key. */
  get remotePublicKey(): Buffer {
    return this.#core.remotePublicKey;
  }

  /** AEAD of the keys this side sends on. */
  get algorithm(): AeadAlgorithm {
    return this.#core.tx.algorithm;
  }

  /** The peer's UDP endpoint. */
  get endpoint(): { address: string; port: number } {
    return { ...this.#core.endpoint };
  }

  /** True when this side sent the first handshake's initiation. */
  get initiator(): boolean {
    return this.#core.initiator;
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * Sends one datagram to `port` on the peer. Returns false when the kernel pushed back (the
   * datagram is queued natively; 'drain' follows). Errors: ERR_HUBLESS_BAD_PORT,
   * ERR_HUBLESS_DATAGRAM_TOO_LARGE, ERR_HUBLESS_SESSION_CLOSED.
   */
  send(port: number, data: Uint8Array, options?: SendOptions): boolean {
    checkPort(port, 'port', false);
    const src = options?.srcPort === undefined ? port : checkPort(options.srcPort, 'srcPort', true);
    return this.#core.send(port, src, [checkDatagram(data)]);
  }

  /** Sends several datagrams to one port in one native call (sealed and sent as a batch). */
  sendBatch(port: number, datagrams: readonly Uint8Array[], options?: SendOptions): boolean {
    checkPort(port, 'port', false);
    const src = options?.srcPort === undefined ? port : checkPort(options.srcPort, 'srcPort', true);
    if (!Array.isArray(datagrams)) throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'datagrams must be an array');
    for (const d of datagrams) checkDatagram(d);
    if (datagrams.length === 0) return true;
    return this.#core.send(port, src, datagrams as Uint8Array[]);
  }

  /**
   * Opens a reliable, ordered stream to `port` on the peer (a Node Duplex; see Stream). Opening
   * costs no round trip: data may follow at once. A peer with nothing listening on the port
   * refuses it: the stream then fails with ERR_HUBLESS_STREAM_REFUSED.
   * Errors: ERR_HUBLESS_BAD_PORT, ERR_HUBLESS_SESSION_CLOSED, ERR_HUBLESS_STREAM_LIMIT.
   */
  openStream(port: number, options: OpenStreamOptions = {}): Stream {
    checkPort(port, 'port', false);
    const src = options.srcPort === undefined ? undefined : checkPort(options.srcPort, 'srcPort', false);
    return this.#core.openStream(port, src);
  }

  /**
   * Sends `payload` (anything msgpack encodes) to the request handler on `port` (node.handle)
   * and resolves with its answer. Errors (all HublessErrors): ERR_HUBLESS_REQUEST_TIMEOUT, the
   * handler's code (with `remote: true`) or ERR_HUBLESS_REMOTE_ERROR (`remoteCode`: a code this
   * version does not know), ERR_HUBLESS_ABORTED, ERR_HUBLESS_STREAM_CLOSED and the stream's errors.
   */
  request(port: number, payload: unknown, options: RequestOptions = {}): Promise<unknown> {
    // No Stream: the stream's events go straight to the request (RequestCall), as nobody else
    // sees it. A timeout starts the dead-peer check (core.streamTimedOut), told by the request.
    const call = new RequestCall(this.#core);
    try {
      checkPort(port, 'port', false);
      this.#core.openSink(port, call);
    } catch (err) {
      return Promise.reject(err);
    }
    return call.send(port, payload, options);
  }

  /**
   * Received datagrams as an async iterator, from now on, until the session closes (or the loop
   * breaks). Several iterators each get every message.
   */
  messages(options: MessagesOptions = {}): AsyncIterableIterator<Message> {
    const limit = options.limit ?? DEFAULT_QUEUE_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'limit must be a positive integer');
    }
    const core = this.#core;
    const q: MessageQueue<Message> = new MessageQueue<Message>(limit, () => core.queues?.delete(q));
    if (core.closed) q.end();
    else (core.queues ??= new Set()).add(q);
    return q;
  }

  stats(): SessionStatsSnapshot {
    return this.#core.stats();
  }

  /**
   * Ends the session here: its keys are removed and iterators finish. The peer is not told
   * (protocol version 1 has no close message); its next rekey or dead-peer check goes unanswered
   * and closes its end.
   */
  close(): void {
    this.#core.close();
  }

  toJSON(): { remoteAddress: string; remotePublicKey: string; algorithm: AeadAlgorithm; closed: boolean } {
    return {
      remoteAddress: this.remoteAddress.toString(),
      remotePublicKey: this.remotePublicKey.toString('hex'),
      algorithm: this.algorithm,
      closed: this.closed,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Session(${this.remoteAddress.toString()} ${this.algorithm}${this.closed ? ' closed' : ''})`;
  }
}
