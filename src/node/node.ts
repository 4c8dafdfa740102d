// Node: one identity on one UDP socket, running the hubless handshake (docs/PROTOCOL.md,
// "Handshake") and the sessions it produces. createNode() is the entry point of the public API.
//
// What happens where:
// - Handshake packets arrive as the transport's 'control' events. Initiations go through, in this
//   order: size, mac1 (before any DH), the cookie check when under load (a cookie reply, no state),
//   Noise message 1, the payload, the replay check on the TAI64N timestamp, the allow-list, the
//   simultaneous-open tie-break, the initiator's address binding (VerifiedBindingCache, once per
//   peer; a new binding passes the VerificationGate: bounded in flight, counted toward "under
//   load", and under load a budget per source address), the firewall; then keys are installed and
//   the response is sent.
// - Our own initiations (connect(), rekeys) live in PendingHandshake records with a retransmission
//   timer (exponential backoff) and a deadline. A response is checked (mac1, Noise, payload), the
//   responder's key is checked against the dialled address, and the keys are installed.
// - Datagrams arrive as batches; each one is routed by its session index with a Map lookup, and
//   becomes exactly one Message object (plus the payload copy) when someone listens.
// - One periodic tick per node retires old keys, starts time-based rekeys and expires sessions
//   that were never confirmed.
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { HublessError } from '../errors.js';
import { Address, isReservedNodeId } from '../identity/address.js';
import { defaultBindingCache, type VerifiedBindingCache } from '../identity/derive.js';
import { Identity } from '../identity/identity.js';
import { defaultKeyPath, loadOrCreateIdentity } from '../identity/keyfile.js';
import {
  checkMac1, CookieChecker, COOKIE_USE_MS, LoadMeter, mac1Of, mac2IsZero, openCookieReply,
} from '../handshake/cookie.js';
import {
  initiationSizeOk, LocalStatic, readInitiation, readResponse, RemoteStatic, writeInitiation, writeResponse,
  type HandshakeDropReason, type ReadInitiation, type ReadResponse,
} from '../handshake/messages.js';
import type { HandshakeIK } from '../handshake/noise/index.js';
import { Tai64nClock } from '../handshake/timestamp.js';
import {
  AEAD_IDS, aeadMask, chooseAead, COOKIE_REPLY_BYTES, PACKET_COOKIE_REPLY, PACKET_INITIATION, PACKET_RESPONSE,
  readIndex,
} from '../handshake/wire.js';
import { SessionCore, type KeySlot, type SessionHost } from '../session/core.js';
import { DEFAULT_QUEUE_LIMIT, Session, type Message } from '../session/session.js';
import { streamsOf, type StreamHub } from '../stream/hub.js';
import {
  checkTimeout, serveRequest, type HandleOptions, type RequestHandler, type RequestOptions,
} from '../stream/request.js';
import type { Stream } from '../stream/stream.js';
import {
  Transport, type AeadAlgorithm, type ControlPacket, type DatagramBatch, type SocketStats, type UdpEndpoint,
} from '../transport/transport.js';
import { newDropCounters, newHandshakeCounters, type DropCounters, type HandshakeCounters } from './counters.js';
import { TransportMux, type MuxMember } from './mux.js';
import { publicKeyBytes, resolveOptions, type ConnectOptions, type NodeOptions, type ResolvedOptions } from './options.js';
import { PortListener, type MessageHandler } from './port-listener.js';
import { ReplayGuard } from './replay-guard.js';
import { VerificationGate, type VerificationTicket } from './verification-gate.js';
import { DirectoryMembership, wantsDirectory, type DirectoryFindResult } from './directory-membership.js';
import type { DirectoryWatch } from '../directory/client.js';
import type { DirectoryQuery } from '../directory/query.js';
import type { AgentRecord } from '../directory/record-types.js';

export interface NodeEvents {
  /** A new session, whichever side started it (connect() also resolves with it). */
  session: [session: Session];
  close: [];
}

export interface NodeStats {
  sessions: number;
  /** Peers with a session, a handshake in progress or a pending connect(). */
  peers: number;
  /** Our initiations waiting for a response. */
  pendingHandshakes: number;
  /** Incoming handshakes waiting for an address-binding verification. */
  pendingVerifications: number;
  /** Initiator keys whose last timestamp is remembered (replay protection). */
  replayGuardEntries: number;
  /** True while initiations must carry a cookie (mac2). */
  underLoad: boolean;
  handshake: HandshakeCounters;
  drops: DropCounters;
  /** The UDP socket's counters (shared by every node on a shared transport). */
  transport: SocketStats;
  /** The stream engine's counters (packets, drops by reason, timeouts; per transport). */
  streams: Record<string, number>;
}

/** node.request() options: where and how long to connect, and the request's own limits. */
export interface NodeRequestOptions extends RequestOptions, ConnectOptions {}

interface Waiter {
  resolve(session: Session): void;
  reject(error: Error): void;
  /** Node id the caller dialled (by address), or null (by key). */
  expectNodeId: number | null;
  timer: NodeJS.Timeout;
}

interface Peer {
  key: string;
  remote: RemoteStatic;
  endpoint: { address: string; port: number } | null;
  session: SessionCore | null;
  pending: PendingHandshake | null;
  waiters: Waiter[];
}

interface PendingHandshake {
  peer: Peer;
  /** Our index for the new keys (reserved in the native table). */
  index: number;
  rekey: boolean;
  endpoint: { address: string; port: number };
  /** The address that was dialled, if any. */
  dialled: Address | null;
  /** The node id the responder's key must have (dialled address, or the session's on a rekey). */
  expectNodeId: number | null;
  /** Noise state of the latest initiation sent (a response to an older one does not decrypt). */
  noise: HandshakeIK | null;
  mac1: Buffer | null;
  state: 'sent' | 'verifying' | 'done';
  attempts: number;
  deadline: number;
  timer: NodeJS.Timeout | null;
  cookieResendAllowed: boolean;
}

const COOKIE_JAR_ENTRIES = 4096;
/** A peer's waiters while it has none (most peers, most of the time): shared, never pushed to. */
const NO_WAITERS = Object.freeze([]) as unknown as Waiter[];

function addressKey(a: Address): number {
  return a.network * 2 ** 32 + a.node;
}

function nodeClosed(): HublessError {
  return new HublessError('ERR_HUBLESS_NODE_CLOSED', 'the node is closed');
}

function checkEndpoint(e: unknown): { address: string; port: number } {
  const ep = e as { address?: unknown; port?: unknown } | null;
  if (ep === null || typeof ep !== 'object' || typeof ep.address !== 'string' || isIP(ep.address) === 0) {
    throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'endpoint must be { address: numeric IP, port }');
  }
  if (typeof ep.port !== 'number' || !Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535) {
    throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'endpoint.port must be an integer in 1..65535');
  }
  return { address: ep.address, port: ep.port };
}

export class Node extends EventEmitter<NodeEvents> {
  /** This node's address (network : node id bound to its key). */
  readonly address: Address;
  /** Ed25519 public key (what peers dial). */
  readonly publicKey: Buffer;
  readonly #identity: Identity;
  readonly #ownsIdentity: boolean;
  readonly #opts: ResolvedOptions;
  readonly #transport: Transport;
  readonly #streams: StreamHub;
  readonly #mux: TransportMux;
  readonly #local: LocalStatic;
  readonly #cookies: CookieChecker;
  readonly #load: LoadMeter;
  /** Admission of new address-binding hashes for incoming initiations (verification-gate.ts). */
  readonly #gate: VerificationGate;
  readonly #tai64n = new Tai64nClock();
  /** Coarse time for per-packet bookkeeping, advanced on every tick. */
  readonly #clock = { now: Date.now() };
  readonly #cache: VerifiedBindingCache;
  readonly #aeads: number;
  readonly #peers = new Map<string, Peer>();
  readonly #sessions = new Set<SessionCore>();
  readonly #sessionsByIndex = new Map<number, SessionCore>();
  /** Open sessions by the peer's 48-bit address (network × 2^32 + node id): connect by address without a scan. */
  readonly #sessionsByAddress = new Map<number, SessionCore>();
  readonly #pendingByIndex = new Map<number, PendingHandshake>();
  readonly #ports = new Map<number, PortListener>();
  readonly #drainWaiters = new Set<SessionCore>();
  readonly #guard = new ReplayGuard();
  /** Cookies received from responders under load, by responder key (most recent last). */
  readonly #cookieJar = new Map<string, { cookie: Buffer; at: number }>();
  readonly #counters = newHandshakeCounters();
  readonly #drops = newDropCounters();
  readonly #tick: NodeJS.Timeout;
  /** Address-hash evaluations this node started that have not finished (cache misses only). */
  #hashing = 0;
  #closed = false;
  #closing: Promise<void> | null = null;
  #directory: DirectoryMembership | null = null;

  readonly #member: MuxMember = {
    initiationIsForMe: (p) =>
      p.type === PACKET_INITIATION && initiationSizeOk(p.body) &&
      checkMac1(p.body, PACKET_INITIATION, p.receiver, p.counter, this.#local.mac1Key),
    onControl: (p) => this.#onControl(p),
    onDatagram: (b, i) => this.#onDatagram(b, i),
    onDrain: () => {
      if (this.#drainWaiters.size === 0) return;
      const waiting = [...this.#drainWaiters];
      this.#drainWaiters.clear();
      for (const core of waiting) if (!core.closed) core.session.emit('drain');
    },
  };

  readonly #host: SessionHost;

  private constructor(
    identity: Identity, ownsIdentity: boolean, network: number, transport: Transport, ownsTransport: boolean,
    opts: ResolvedOptions, cache: VerifiedBindingCache,
  ) {
    super();
    this.#identity = identity;
    this.#ownsIdentity = ownsIdentity;
    this.address = identity.addressIn(network);
    this.publicKey = identity.publicKey;
    this.#opts = opts;
    this.#transport = transport;
    // Attached at once: a peer may open streams on any session, before we open one ourselves.
    this.#streams = streamsOf(transport, opts.streams);
    this.#cache = cache;
    this.#local = new LocalStatic(identity);
    this.#cookies = new CookieChecker(this.#local.keyPair.publicKey);
    this.#load = new LoadMeter(opts.cookieThreshold);
    this.#gate = new VerificationGate({
      loadThreshold: opts.verificationLoadThreshold,
      perSource: opts.maxVerificationsPerSource,
      perSourceRate: opts.verificationsPerSourcePerSecond,
      maxPending: opts.maxPendingVerifications,
      globalRate: opts.verificationsPerSecond,
    });
    this.#aeads = aeadMask(opts.algorithms);
    const node = this;
    this.#host = {
      transport,
      rekeyAfterPackets: opts.rekeyAfterPackets,
      rekeyGraceMs: opts.rekeyGraceMs,
      stageLimit: opts.stageLimit,
      clock: this.#clock,
      now: Date.now,
      requestRekey: (core) => node.#startRekey(core),
      releaseIndex: (index) => node.#releaseIndex(index),
      sessionClosed: (core, error) => node.#sessionClosed(core, error),
      wantDrain: (core) => node.#drainWaiters.add(core),
      count: (c) => {
        if (c === 'keepalivesSent') node.#counters.keepalivesSent++;
        else node.#drops.stagedDropped++;
      },
      openStream: (core, dstPort, srcPort) => {
        const stream = node.#streams.openStream(core.conn, dstPort, srcPort);
        stream.session = core.session;
        return stream;
      },
      openSink: (core, dstPort, sink) => node.#streams.openSink(core.conn, dstPort, sink),
      acceptStream: (core, stream) => node.#onStream(core, stream),
      suspect: (core) => {
        // Every stream of a silent session times out at once: one check, counted once.
        if (core.confirmed && node.#startRekey(core)) node.#counters.deadPeerChecks++;
      },
    };
    this.#mux = TransportMux.join(transport, this.#member, ownsTransport);
    const tickMs = Math.max(10, Math.min(
      1000, Math.floor(opts.rekeyAfterMs / 4), Math.floor(opts.rekeyGraceMs / 2), Math.floor(opts.keepaliveMs / 4),
    ));
    this.#tick = setInterval(() => this.#onTick(), tickMs);
    this.#tick.unref();
  }

  /** @internal Use createNode(). */
  static async create(options: NodeOptions = {}): Promise<Node> {
    const opts = resolveOptions(options);
    let identity: Identity;
    let ownsIdentity = false;
    if (options.identity !== undefined) {
      if (options.keyFile !== undefined) {
        throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'give either keyFile or identity, not both');
      }
      if (!(options.identity instanceof Identity) || options.identity.destroyed) {
        throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'identity must be a live Identity');
      }
      identity = options.identity;
    } else {
      identity = await loadOrCreateIdentity(options.keyFile ?? defaultKeyPath(), { network: options.network });
      ownsIdentity = true;
    }
    const network = options.network ?? identity.network;
    let transport = options.transport;
    const ownsTransport = transport === undefined;
    try {
      Address.of(network, 1);
      if (transport === undefined) {
        transport = await Transport.open({ host: options.listen?.host ?? '0.0.0.0', port: options.listen?.port ?? 0 });
      } else if (!(transport instanceof Transport) || transport.closed) {
        throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'transport must be an open Transport');
      }
    } catch (err) {
      if (ownsIdentity) identity.destroy();
      throw err;
    }
    const node = new Node(identity, ownsIdentity, network, transport, ownsTransport, opts, options.bindingCache ?? defaultBindingCache);
    if (wantsDirectory(options)) {
      try {
        node.#directory = new DirectoryMembership(node, identity, options);
        await node.#directory.start();
      } catch (err) {
        node.#directory = null;
        await node.close();
        throw err;
      }
    }
    return node;
  }

  /** The UDP endpoint this node receives on. */
  get endpoint(): UdpEndpoint {
    return this.#transport.address;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** AEADs this node offers and accepts. */
  get algorithms(): AeadAlgorithm[] {
    return [...this.#opts.algorithms];
  }

  /**
   * Receives every datagram that any session delivers to `port`: through `handler`, and/or by
   * iterating the returned listener. Errors: ERR_HUBLESS_BAD_PORT, ERR_HUBLESS_PORT_IN_USE.
   */
  listen(port: number, handler?: MessageHandler): PortListener {
    if (this.#closed) throw nodeClosed();
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new HublessError('ERR_HUBLESS_BAD_PORT', `port must be an integer in 1..65535 (0 is reserved), got ${String(port)}`);
    }
    if (handler !== undefined && typeof handler !== 'function') {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'handler must be a function');
    }
    if (this.#ports.has(port)) throw new HublessError('ERR_HUBLESS_PORT_IN_USE', `port ${port} already has a listener`);
    const listener = new PortListener(port, handler ?? null, DEFAULT_QUEUE_LIMIT, (l) => {
      if (this.#ports.get(l.port) === l) this.#ports.delete(l.port);
    });
    this.#ports.set(port, listener);
    return listener;
  }

  /**
   * Answers requests on `port` (see Session.request / node.request): `handler(request, { session,
   * stream })` returns the answer or a promise of it; what it throws reaches the requester as an
   * error (its ERR_HUBLESS_* code kept, else ERR_HUBLESS_REMOTE_ERROR). One stream per request;
   * requests run concurrently. Returns the port's listener (close() stops answering).
   */
  handle(port: number, handler: RequestHandler<Session>, options: HandleOptions = {}): PortListener {
    if (typeof handler !== 'function') throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'handler must be a function');
    const max = options.maxRequestSize;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'maxRequestSize must be a positive integer');
    }
    const listener = this.listen(port);
    listener.on('stream', (stream, session) => {
      void serveRequest(stream, session, handler, options);
    });
    return listener;
  }

  /**
   * One request/response with a peer: connects if needed (`target` as in connect(), or a
   * Session), then sends `payload` to the handler on `port`. `timeoutMs` bounds the whole call.
   */
  async request(
    target: Session | Address | string | Uint8Array, port: number, payload: unknown, options: NodeRequestOptions = {},
  ): Promise<unknown> {
    const timeoutMs = checkTimeout(options.timeoutMs);
    const started = Date.now();
    let session: Session;
    if (target instanceof Session) {
      session = target;
    } else {
      try {
        session = await this.connect(target, { ...options, timeoutMs: Math.min(timeoutMs, this.#opts.handshakeTimeoutMs) });
      } catch (err) {
        if ((err as HublessError).code === 'ERR_HUBLESS_HANDSHAKE_TIMEOUT' && Date.now() - started >= timeoutMs) {
          throw new HublessError('ERR_HUBLESS_REQUEST_TIMEOUT', `no session within ${timeoutMs} ms`, { cause: err });
        }
        throw err;
      }
    }
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    return session.request(port, payload, { ...options, timeoutMs: left });
  }

  /**
   * A session with the peer: the existing one (whatever endpoint is given), the one a handshake
   * in progress will produce, or a new handshake. `target` is an address (then `options.publicKey` is needed for now) or an
   * Ed25519 public key. The responder's key must match a dialled address (its node id bound to
   * its key), else ERR_HUBLESS_ADDRESS_MISMATCH. Other errors: ERR_HUBLESS_HANDSHAKE_TIMEOUT,
   * ERR_HUBLESS_NO_ROUTE (no key or endpoint), ERR_HUBLESS_NODE_CLOSED, ERR_HUBLESS_BAD_KEY.
   */
  async connect(target: Address | string | Uint8Array, options: ConnectOptions = {}): Promise<Session> {
    if (this.#closed) throw nodeClosed();
    if (this.#directory !== null && options.publicKey === undefined &&
        (target instanceof Address || (typeof target === 'string' && !/^[0-9a-fA-F]{64}$/.test(target)))) {
      // By address or hostname without a key: the directory knows it (directory-membership.ts).
      return this.#directory.connect(target, options, options.timeoutMs ?? this.#opts.handshakeTimeoutMs);
    }
    let dialled: Address | null = null;
    let key: Buffer | null = null;
    if (target instanceof Address) dialled = target;
    else if (typeof target === 'string' && /^[0-9a-fA-F]{64}$/.test(target)) key = publicKeyBytes(target);
    else if (typeof target === 'string') dialled = Address.parse(target);
    else if (target instanceof Uint8Array) key = publicKeyBytes(target);
    else throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'connect() takes an address or a public key');
    if (options.publicKey !== undefined) {
      const k = publicKeyBytes(options.publicKey);
      if (key !== null && !key.equals(k)) {
        throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'target and options.publicKey name different keys');
      }
      key = k;
    }
    if (key === null) {
      throw new HublessError(
        'ERR_HUBLESS_NO_ROUTE',
        `no public key known for ${dialled!.toString()}: pass options.publicKey (the directory will supply keys later)`,
      );
    }
    if (dialled !== null && !dialled.isUnicast) {
      throw new HublessError('ERR_HUBLESS_BAD_ADDRESS', `${dialled.toString()} is not the address of one node`);
    }
    if (key.equals(this.publicKey)) throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'a node cannot connect to itself');
    const expect = dialled?.node ?? null;
    // An open session first: the key conversion below (~60 µs) is for new handshakes only.
    let peer = this.#peers.get(key.toString('hex'));
    if (peer?.session != null) {
      if (expect !== null && peer.session.remoteAddress.node !== expect) throw this.#mismatch(dialled!, peer.session.remoteAddress);
      return peer.session.session;
    }
    const remote = peer?.remote ?? RemoteStatic.fromPublicKey(key);
    if (remote === null) throw new HublessError('ERR_HUBLESS_BAD_KEY', 'the public key is not a valid Ed25519 key');
    const timeoutMs = options.timeoutMs ?? this.#opts.handshakeTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'timeoutMs must be a positive integer');
    }
    const endpoint = options.endpoint !== undefined ? checkEndpoint(options.endpoint) : peer?.endpoint ?? null;
    if (endpoint === null) {
      throw new HublessError('ERR_HUBLESS_NO_ROUTE', 'no endpoint known for this peer: pass options.endpoint');
    }
    peer ??= this.#newPeer(remote);
    const p = peer;
    return new Promise<Session>((resolve, reject) => {
      const waiter: Waiter = {
        resolve, reject, expectNodeId: expect,
        timer: setTimeout(() => this.#waiterTimedOut(p, waiter), timeoutMs),
      };
      if (p.waiters === NO_WAITERS) p.waiters = [];
      p.waiters.push(waiter);
      const deadline = Date.now() + timeoutMs;
      if (p.pending !== null) {
        p.pending.deadline = Math.max(p.pending.deadline, deadline);
        return;
      }
      if (p.endpoint === null) p.endpoint = endpoint;
      // The responder's address nonce is almost always 0: start its binding check now, in
      // parallel with the round trip, so that a first contact waits for one hash, not two.
      this.#cache.nodeIdOf(remote.publicKey, 0).catch(() => {});
      this.#startPending(p, false, endpoint, dialled, expect, deadline);
    });
  }

  /** The open session with the peer of this public key, if any. */
  session(publicKey: Uint8Array | string): Session | undefined {
    const s = this.#peers.get(publicKeyBytes(publicKey).toString('hex'))?.session;
    return s === null || s === undefined ? undefined : s.session;
  }

  /** The open session with the node at this address, if any. */
  sessionTo(address: Address | string): Session | undefined {
    const a = typeof address === 'string' ? Address.parse(address) : address;
    const core = this.#sessionsByAddress.get(addressKey(a));
    return core === undefined || core.closed ? undefined : core.session;
  }

  /** Every open session. */
  sessions(): Session[] {
    return [...this.#sessions].map((c) => c.session);
  }

  /** This node's directory membership (client, registration), or null without a directory. */
  get directory(): DirectoryMembership | null {
    return this.#directory;
  }

  #needDirectory(): DirectoryMembership {
    if (this.#closed) throw nodeClosed();
    if (this.#directory === null) throw new HublessError('ERR_HUBLESS_NO_DIRECTORY', 'this node has no directory: createNode({ directory: [...] })');
    return this.#directory;
  }

  /** One page of agents matching the query (capability all-of / any-of with attributes, group, hostname), each record verified. */
  find(query: DirectoryQuery): Promise<DirectoryFindResult> {
    return this.#needDirectory().find(query);
  }

  /** The verified record of a hostname or an address; ERR_HUBLESS_NOT_FOUND when the directory has none. */
  resolve(target: string | Address): Promise<AgentRecord> {
    return this.#needDirectory().resolve(target);
  }

  /** Watches a query: 'put' / 'leave' events and an async iterator; by default the current matches first. close() ends it. */
  watch(query: DirectoryQuery, options?: { initial?: boolean }): DirectoryWatch {
    return this.#needDirectory().watch(query, options);
  }

  stats(): NodeStats {
    let pending = 0;
    for (const p of this.#peers.values()) if (p.pending !== null) pending++;
    return {
      sessions: this.#sessions.size,
      peers: this.#peers.size,
      pendingHandshakes: pending,
      pendingVerifications: this.#hashing,
      replayGuardEntries: this.#guard.size,
      underLoad: this.#load.underLoad || this.#gate.underLoad,
      handshake: { ...this.#counters },
      drops: { ...this.#drops },
      transport: this.#transport.closed ? {} : this.#transport.stats(),
      streams: this.#streams.stats(),
    };
  }

  /**
   * Closes every session and listener, rejects pending connect() calls with
   * ERR_HUBLESS_NODE_CLOSED and releases the socket (unless shared). Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    const membership = this.#directory;
    if (membership !== null) {
      // Deregister first (bounded), while the node can still talk to the directory.
      this.#directory = null;
      this.#closing = membership.close().catch(() => {}).then(() => this.#shutdown());
      return this.#closing;
    }
    this.#closing = this.#shutdown();
    return this.#closing;
  }

  #shutdown(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#tick);
    const error = nodeClosed();
    for (const peer of [...this.#peers.values()]) {
      if (peer.pending !== null) this.#dropPending(peer.pending);
      const waiters = peer.waiters;
      peer.waiters = NO_WAITERS;
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(error);
      }
    }
    for (const core of [...this.#sessions]) core.close();
    for (const l of [...this.#ports.values()]) l.close();
    this.#peers.clear();
    this.#mux.leave(this.#member);
    this.#local.staticDhCache.clear();
    if (this.#ownsIdentity) this.#identity.destroy();
    this.emit('close');
    // The socket's descriptor is released in libuv's close phase, after this turn: resolve after
    // it, so that a node started next on the same port can bind it.
    return this.#transport.closed ? new Promise((resolve) => setTimeout(resolve, 1)) : Promise.resolve();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const ep = this.#transport.address;
    return `Node(${this.address.toString()} ${ep.address}:${ep.port}${this.#closed ? ' closed' : ''})`;
  }

  // ---- control packets ----

  #onControl(p: ControlPacket): void {
    if (this.#closed) return;
    switch (p.type) {
      case PACKET_INITIATION:
        this.#onInitiation(p);
        break;
      case PACKET_RESPONSE:
        this.#onResponse(p);
        break;
      case PACKET_COOKIE_REPLY:
        this.#onCookieReply(p);
        break;
      case 0:
        this.#drops.stun++;
        break;
      default:
        this.#drops.malformed++;
    }
  }

  #drop(reason: HandshakeDropReason): void {
    this.#drops[reason]++;
  }

  #onInitiation(p: ControlPacket): void {
    this.#counters.initiationsReceived++;
    const body = p.body;
    if (p.receiver !== 0 || !initiationSizeOk(body)) return this.#drop('malformed');
    // Cheap checks first: nothing below costs a DH until mac1 proved the sender knows our key.
    if (!checkMac1(body, PACKET_INITIATION, 0, p.counter, this.#local.mac1Key)) return this.#drop('mac1');
    this.#load.hit();
    // Under load by initiations per second, or by address-binding hashes (verification-gate.ts).
    const underLoad = this.#load.underLoad || this.#gate.underLoad;
    if (underLoad && (mac2IsZero(body) || !this.#cookies.checkMac2(body, PACKET_INITIATION, 0, p.counter, p.from))) {
      // Stateless: the reply is computed from the packet and the rotating secret only.
      const reply = this.#cookies.makeReply(mac1Of(body), p.from);
      this.#sendControl(PACKET_COOKIE_REPLY, readIndex(body), reply, p.from);
      this.#counters.cookieRepliesSent++;
      this.#drops.cookieRequired++;
      return;
    }
    const read = readInitiation(this.#local, body);
    if (typeof read === 'string') return this.#drop(read);
    const { payload, remote } = read;
    const hex = remote.publicKey.toString('hex');
    const refuse = (counter: keyof DropCounters): void => {
      read.noise.destroy();
      this.#drops[counter]++;
    };
    if (remote.publicKey.equals(this.publicKey)) return refuse('keyMismatch');
    const peer = this.#peers.get(hex);
    // One string per peer: the replay guard and a new peer record share the peer's key string.
    const key = peer?.key ?? hex;
    const wanted = peer !== undefined && peer.waiters.length > 0;
    // A peer we are dialling ourselves is always accepted: we asked for it.
    if (!wanted && this.#opts.allow !== null && !this.#opts.allow.has(key)) return refuse('refused');
    const aead = chooseAead(payload.aeads, this.#aeads);
    if (aead === null) return refuse('payload');
    // Read-only here: the timestamp is recorded only once the initiation is admitted below, so
    // refused initiations (throw-away keys turned away by the gate) leave no entry behind. A
    // refused one created no state, so a later copy of it is just another initiation that must
    // pass this same check against whatever was recorded by then.
    if (!this.#guard.isNewer(key, payload.timestamp)) return refuse('replay');
    const pending = peer?.pending ?? null;
    if (pending !== null && (pending.state === 'verifying' || this.#winsTieBreak(remote))) return refuse('simultaneous');
    // Each new (key, nonce) costs one memory-hard hash (~30 ms of thread pool): the gate bounds how
    // many run at once and, under load (the source is proven by mac2 then), what one source
    // address and its prefixes may have and how the slots are shared. Known bindings cost nothing;
    // peers with a session, and peers we dial, are never refused for this.
    let ticket: VerificationTicket | undefined;
    if (peer?.session == null && !wanted && !this.#cache.has(remote.publicKey, payload.nonce)) {
      const t = this.#gate.admit(underLoad ? p.from.address : null, this.#hashing);
      if (typeof t === 'string') return refuse(t);
      ticket = t;
    }
    this.#guard.accept(key, payload.timestamp);
    this.#respond(read, key, p.from, aead, ticket).catch((err: unknown) => this.#fault(err));
  }

  /** The node id a (key, nonce) claim derives (0 if it cannot be computed), counting real evaluations. */
  async #nodeIdOf(publicKey: Buffer, nonce: number): Promise<number> {
    const misses = this.#cache.misses;
    const id = this.#cache.nodeIdOf(publicKey, nonce);
    const started = this.#cache.misses !== misses;
    if (started) this.#hashing++;
    try {
      return await id;
    } catch {
      return 0;
    } finally {
      if (started) this.#hashing--;
    }
  }

  /** Simultaneous open: the initiation of the node with the greater Ed25519 public key wins. */
  #winsTieBreak(remote: RemoteStatic): boolean {
    return Buffer.compare(this.publicKey, remote.publicKey) > 0;
  }

  async #respond(
    read: ReadInitiation, key: string, from: UdpEndpoint, aead: AeadAlgorithm, ticket: VerificationTicket | undefined,
  ): Promise<void> {
    const { payload, remote } = read;
    const refuse = (counter: keyof DropCounters): void => {
      read.noise.destroy();
      this.#drops[counter]++;
    };
    let nodeId: number;
    try {
      nodeId = await this.#nodeIdOf(remote.publicKey, payload.nonce);
    } finally {
      if (ticket !== undefined) this.#gate.done(ticket);
    }
    if (this.#closed) return read.noise.destroy();
    if (isReservedNodeId(nodeId)) return refuse('binding');
    const address = Address.of(payload.network, nodeId);
    if (this.#opts.firewall !== null && !((this.#peers.get(key)?.waiters.length ?? 0) > 0)) {
      let ok = false;
      try {
        ok = (await this.#opts.firewall(remote.publicKey, address)) === true;
      } catch {
        ok = false;
      }
      if (this.#closed) return read.noise.destroy();
      if (!ok) {
        refuse('refused');
        // A peer refused on a rekey loses its session here too (the firewall revoked it).
        const s = this.#peers.get(key)?.session;
        if (payload.rekey && s != null) s.close(new HublessError('ERR_HUBLESS_REFUSED', 'the firewall refused the peer'));
        return;
      }
    }
    if (!this.#guard.isLatest(key, payload.timestamp)) return refuse('superseded');
    let peer = this.#peers.get(key);
    const pending = peer?.pending ?? null;
    if (pending !== null) {
      if (pending.state === 'verifying' || this.#winsTieBreak(remote)) return refuse('simultaneous');
      // We lose the tie-break: our initiation is dropped, connect() waiters get this session.
      this.#dropPending(pending);
    }
    const existing = peer?.session ?? null;
    const wanted = peer !== undefined && peer.waiters.length > 0;
    if (payload.rekey && existing === null && !wanted) return refuse('noSession');
    const index = this.#transport.reserveSession();
    if (index === 0) return refuse('busy');
    const written = writeResponse(read, index, { aead, network: this.address.network, nonce: this.#identity.nonce });
    const endpoint = { address: from.address, port: from.port };
    try {
      this.#transport.installSession(index, {
        remoteIndex: read.senderIndex, algorithm: aead, txKey: written.tx, rxKey: written.rx, peer: endpoint,
      });
    } catch (err) {
      this.#transport.removeSession(index);
      throw err;
    } finally {
      written.tx.fill(0);
      written.rx.fill(0);
    }
    this.#mux.claim(index, this.#member);
    this.#sendControl(PACKET_RESPONSE, read.senderIndex, written.body, endpoint);
    this.#counters.responsesSent++;
    this.#counters.completed++;
    // A peer with a session keeps its binding: new keys (a flood of them) cannot push it out.
    this.#cache.protect(remote.publicKey, payload.nonce);
    const slot = this.#slot(index, read.senderIndex, aead, false);
    peer ??= this.#newPeer(remote, key);
    peer.endpoint = endpoint;
    if (existing !== null && (payload.rekey || (!existing.confirmed && !existing.initiator))) {
      // A rekey, or the retransmission of an initiation whose response was lost: same session.
      existing.endpoint = endpoint;
      this.#sessionsByIndex.set(index, existing);
      existing.installResponded(slot);
      this.#counters.rekeys++;
      return;
    }
    // A new session; a confirmed one with this peer means the peer restarted (or closed its end).
    existing?.close(new HublessError('ERR_HUBLESS_PEER_RESTARTED', 'the peer started a new session'));
    this.#openSession(peer, address, endpoint, slot, false);
  }

  #onResponse(p: ControlPacket): void {
    this.#counters.responsesReceived++;
    const pending = this.#pendingByIndex.get(p.receiver);
    if (pending === undefined || pending.state !== 'sent' || pending.noise === null) {
      this.#drops.unknownReceiver++;
      return;
    }
    const r = readResponse(this.#local, pending.noise, p.body, p.receiver, p.counter);
    if (typeof r === 'string') {
      if (r === 'payload') pending.noise = null; // authenticated but unusable: wait for the next attempt
      return this.#drop(r);
    }
    if ((this.#aeads & (1 << (AEAD_IDS[r.payload.aead] - 1))) === 0) {
      pending.noise = null;
      r.tx.fill(0);
      r.rx.fill(0);
      return this.#drop('payload');
    }
    pending.noise = null;
    pending.state = 'verifying';
    this.#completeInitiation(pending, r).catch((err: unknown) => {
      this.#failPending(pending, new HublessError('ERR_HUBLESS_HANDSHAKE_FAILED', 'installing the session failed', { cause: err }));
      this.#fault(err);
    });
  }

  async #completeInitiation(pending: PendingHandshake, r: ReadResponse): Promise<void> {
    const peer = pending.peer;
    const nodeId = await this.#nodeIdOf(peer.remote.publicKey, r.payload.nonce);
    if (pending.state !== 'verifying' || this.#closed) {
      r.tx.fill(0);
      r.rx.fill(0);
      return;
    }
    if (isReservedNodeId(nodeId) || (pending.expectNodeId !== null && nodeId !== pending.expectNodeId)) {
      r.tx.fill(0);
      r.rx.fill(0);
      this.#drops.addressMismatch++;
      const claimed = isReservedNodeId(nodeId) ? null : Address.of(r.payload.network, nodeId);
      const err = pending.dialled !== null && claimed !== null
        ? this.#mismatch(pending.dialled, claimed)
        : new HublessError('ERR_HUBLESS_ADDRESS_MISMATCH', 'the responder\'s key does not match its address claim');
      this.#failPending(pending, err);
      return;
    }
    const address = pending.dialled ?? peer.session?.remoteAddress ?? Address.of(r.payload.network, nodeId);
    try {
      this.#transport.installSession(pending.index, {
        remoteIndex: r.senderIndex, algorithm: r.payload.aead, txKey: r.tx, rxKey: r.rx, peer: pending.endpoint,
      });
    } finally {
      r.tx.fill(0);
      r.rx.fill(0);
    }
    pending.state = 'done';
    if (pending.timer !== null) clearTimeout(pending.timer);
    this.#pendingByIndex.delete(pending.index);
    peer.pending = null;
    this.#counters.completed++;
    this.#cache.protect(peer.remote.publicKey, r.payload.nonce);
    const slot = this.#slot(pending.index, r.senderIndex, r.payload.aead, true);
    const existing = peer.session;
    if (existing !== null && !existing.closed) {
      this.#sessionsByIndex.set(slot.index, existing);
      existing.installInitiated(slot);
      this.#counters.rekeys++;
    } else {
      this.#openSession(peer, address, pending.endpoint, slot, true);
    }
  }

  #onCookieReply(p: ControlPacket): void {
    this.#counters.cookieRepliesReceived++;
    const pending = this.#pendingByIndex.get(p.receiver);
    if (pending === undefined || pending.state !== 'sent' || pending.mac1 === null || p.body.length !== COOKIE_REPLY_BYTES) {
      this.#drops.unknownReceiver++;
      return;
    }
    const cookie = openCookieReply(p.body, pending.peer.remote.cookieKey, pending.mac1);
    if (cookie === null) {
      this.#drops.badCookie++;
      return;
    }
    // Kept per responder key beyond the handshake (bounded): the next handshake carries mac2 at once.
    this.#cookieJar.delete(pending.peer.key);
    this.#cookieJar.set(pending.peer.key, { cookie, at: Date.now() });
    if (this.#cookieJar.size > COOKIE_JAR_ENTRIES) this.#cookieJar.delete(this.#cookieJar.keys().next().value as string);
    // Send again at once with mac2 (once per timer period, so forged replies cannot make us loop).
    if (pending.cookieResendAllowed) this.#sendInitiation(pending, 'cookie');
  }

  // ---- our initiations ----

  #startPending(
    peer: Peer, rekey: boolean, endpoint: { address: string; port: number }, dialled: Address | null,
    expectNodeId: number | null, deadline: number,
  ): void {
    const index = this.#transport.reserveSession();
    const pending: PendingHandshake = {
      peer, index, rekey, endpoint, dialled, expectNodeId, noise: null, mac1: null, state: 'sent',
      attempts: 0, deadline, timer: null, cookieResendAllowed: true,
    };
    if (index === 0) {
      this.#failPending(pending, new HublessError('ERR_HUBLESS_BUSY', 'the session table is full'));
      return;
    }
    this.#mux.claim(index, this.#member);
    peer.pending = pending;
    this.#pendingByIndex.set(index, pending);
    this.#sendInitiation(pending, 'first');
  }

  /** Starts a rekey handshake unless one is under way; true when it started one. */
  #startRekey(core: SessionCore): boolean {
    if (this.#closed || core.closed) return false;
    const peer = this.#peers.get(core.peerKey);
    if (peer === undefined || peer.pending !== null) return false;
    this.#startPending(peer, true, core.endpoint, null, core.remoteAddress.node, Date.now() + this.#opts.handshakeTimeoutMs);
    return true;
  }

  #sendInitiation(pending: PendingHandshake, reason: 'first' | 'timer' | 'cookie'): void {
    const peer = pending.peer;
    pending.noise?.destroy();
    const now = Date.now();
    const jar = this.#cookieJar.get(peer.key);
    const cookie = jar !== undefined && now - jar.at < COOKIE_USE_MS ? jar.cookie : null;
    const w = writeInitiation(this.#local, peer.remote, pending.index, {
      rekey: pending.rekey,
      aeads: this.#aeads,
      network: this.address.network,
      nonce: this.#identity.nonce,
      timestamp: this.#tai64n.next(),
      publicKey: this.publicKey,
    }, cookie);
    pending.noise = w.noise;
    pending.mac1 = w.mac1;
    pending.state = 'sent';
    pending.cookieResendAllowed = reason !== 'cookie';
    pending.attempts++;
    if (reason !== 'first') this.#counters.initiationsRetransmitted++;
    if (!this.#sendControl(PACKET_INITIATION, 0, w.body, pending.endpoint)) {
      this.#failPending(pending, new HublessError('ERR_HUBLESS_NO_ROUTE', `cannot send to ${pending.endpoint.address}:${pending.endpoint.port}`));
      return;
    }
    this.#counters.initiationsSent++;
    if (pending.timer !== null) clearTimeout(pending.timer);
    const backoff = this.#opts.handshakeRetryMs * 2 ** Math.min(pending.attempts - 1, 3);
    const delay = Math.max(0, Math.min(backoff, pending.deadline - now));
    pending.timer = setTimeout(() => this.#onRetryTimer(pending), delay);
    pending.timer.unref();
  }

  #onRetryTimer(pending: PendingHandshake): void {
    pending.timer = null;
    if (pending.state === 'done' || this.#closed) return;
    if (Date.now() >= pending.deadline) {
      this.#counters.timeouts++;
      const ep = `${pending.endpoint.address}:${pending.endpoint.port}`;
      this.#failPending(pending, new HublessError('ERR_HUBLESS_HANDSHAKE_TIMEOUT', `no handshake response from ${ep}`));
      return;
    }
    if (pending.state === 'verifying') {
      // The response is being checked; look again at the deadline.
      pending.timer = setTimeout(() => this.#onRetryTimer(pending), Math.max(0, pending.deadline - Date.now()));
      pending.timer.unref();
      return;
    }
    this.#sendInitiation(pending, 'timer');
  }

  /** Forgets our initiation (index, timer, Noise state); waiters stay with the peer. */
  #dropPending(pending: PendingHandshake): void {
    pending.state = 'done';
    if (pending.timer !== null) clearTimeout(pending.timer);
    pending.timer = null;
    pending.noise?.destroy();
    pending.noise = null;
    if (pending.index !== 0 && this.#pendingByIndex.get(pending.index) === pending) {
      this.#pendingByIndex.delete(pending.index);
      this.#releaseIndex(pending.index);
    }
    if (pending.peer.pending === pending) pending.peer.pending = null;
  }

  #failPending(pending: PendingHandshake, error: HublessError): void {
    this.#dropPending(pending);
    const peer = pending.peer;
    if (pending.rekey) {
      peer.session?.close(error);
    } else {
      const waiters = peer.waiters;
      peer.waiters = NO_WAITERS;
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(error);
      }
    }
    this.#maybeForget(peer);
  }

  #waiterTimedOut(peer: Peer, waiter: Waiter): void {
    const i = peer.waiters.indexOf(waiter);
    if (i < 0) return;
    peer.waiters.splice(i, 1);
    this.#counters.timeouts++;
    const ep = peer.pending?.endpoint ?? peer.endpoint;
    waiter.reject(new HublessError(
      'ERR_HUBLESS_HANDSHAKE_TIMEOUT',
      `no session with ${peer.key.slice(0, 16)}… at ${ep?.address}:${ep?.port} in time`,
    ));
    if (peer.waiters.length === 0 && peer.pending !== null && !peer.pending.rekey) this.#dropPending(peer.pending);
    this.#maybeForget(peer);
  }

  #mismatch(dialled: Address, actual: Address): HublessError {
    return new HublessError(
      'ERR_HUBLESS_ADDRESS_MISMATCH',
      `dialled ${dialled.toString()} but the responder's key belongs to node ${actual.toString()}`,
    );
  }

  // ---- sessions ----

  #newPeer(remote: RemoteStatic, key = remote.publicKey.toString('hex')): Peer {
    const peer: Peer = {
      key, remote: remote.kept(), endpoint: null, session: null, pending: null, waiters: NO_WAITERS,
    };
    this.#peers.set(peer.key, peer);
    return peer;
  }

  #maybeForget(peer: Peer): void {
    if (peer.session === null && peer.pending === null && peer.waiters.length === 0) {
      if (this.#peers.get(peer.key) === peer) this.#peers.delete(peer.key);
    }
  }

  #slot(index: number, remoteIndex: number, algorithm: AeadAlgorithm, weInitiated: boolean): KeySlot {
    return { index, remoteIndex, algorithm, createdAt: Date.now(), weInitiated, txPackets: 0, retireAt: 0 };
  }

  #openSession(
    peer: Peer, address: Address, endpoint: { address: string; port: number }, slot: KeySlot, initiator: boolean,
  ): void {
    this.#peers.set(peer.key, peer);
    const core = new SessionCore(this.#host, {
      peerKey: peer.key, remotePublicKey: peer.remote.publicKey, remoteAddress: address, endpoint, slot, initiator,
    });
    this.#sessionsByIndex.set(slot.index, core);
    this.#streams.attach(core.conn, core);
    peer.session = core;
    this.#sessions.add(core);
    this.#sessionsByAddress.set(addressKey(address), core);
    this.#counters.sessionsOpened++;
    const waiters = peer.waiters;
    peer.waiters = NO_WAITERS;
    for (const w of waiters) {
      clearTimeout(w.timer);
      if (w.expectNodeId !== null && w.expectNodeId !== address.node) {
        this.#drops.addressMismatch++;
        w.reject(this.#mismatch(Address.of(address.network, w.expectNodeId), address));
      } else {
        w.resolve(core.session);
      }
    }
    this.emit('session', core.session);
  }

  #onStream(core: SessionCore, stream: Stream): void {
    stream.session = core.session;
    const listener = this.#ports.get(stream.localPort);
    if (listener === undefined) {
      this.#drops.streamsRefused++;
      stream._refuse();
      return;
    }
    listener.deliverStream(stream, core.session);
  }

  #sessionClosed(core: SessionCore, error: HublessError | undefined): void {
    // A session closed here ends its streams quietly; one that failed passes its error on.
    this.#streams.detach(core.conn, error);
    this.#sessions.delete(core);
    const key = addressKey(core.remoteAddress);
    if (this.#sessionsByAddress.get(key) === core) this.#sessionsByAddress.delete(key);
    this.#drainWaiters.delete(core);
    this.#counters.sessionsClosed++;
    const peer = this.#peers.get(core.peerKey);
    if (peer === undefined || peer.session !== core) return;
    peer.session = null;
    if (peer.pending !== null && peer.pending.rekey) this.#dropPending(peer.pending);
    this.#maybeForget(peer);
  }

  #releaseIndex(index: number): void {
    this.#sessionsByIndex.delete(index);
    this.#mux.release(index);
    if (!this.#transport.closed) this.#transport.removeSession(index);
  }

  #sendControl(type: number, receiver: number, body: Buffer, to: { address: string; port: number }): boolean {
    if (this.#transport.closed) return false;
    try {
      this.#transport.sendControl(type, receiver, body, to);
      return true;
    } catch {
      return false;
    }
  }

  /** An unexpected exception in handshake processing: counted, never fatal. */
  #fault(_err: unknown): void {
    this.#counters.errors++;
  }

  // ---- datagrams ----

  #onDatagram(batch: DatagramBatch, i: number): void {
    const index = batch.session(i);
    const core = this.#sessionsByIndex.get(index);
    if (core === undefined) return;
    if (index === core.watchIndex) core.sawWatched();
    core.unansweredSince = 0;
    const port = batch.dstPort(i);
    if (port === 0) {
      this.#counters.keepalivesReceived++;
      return;
    }
    if (core.unrepliedSince === 0) core.unrepliedSince = this.#clock.now;
    const listener = this.#ports.get(port);
    if (listener === undefined && !core.hasConsumers) {
      this.#drops.noListener++;
      return;
    }
    // The one object per datagram (besides the payload copy): shared by every consumer.
    const msg: Message = { data: batch.copy(i), port, srcPort: batch.srcPort(i), session: core.session };
    core.deliver(msg);
    listener?.deliver(msg);
  }

  // ---- timers ----

  #onTick(): void {
    if (this.#closed) return;
    const now = Date.now();
    this.#clock.now = now;
    const o = this.#opts;
    if (this.#gate.sources !== 0) this.#gate.prune();
    const deadAfter = o.keepaliveMs + (o.keepaliveMs >> 1);
    // The side that did not initiate the current keys waits a little longer, so that both sides
    // rarely start a rekey at once (a collision is resolved by the tie-break anyway).
    const responderLag = Math.min(Math.floor(o.rekeyAfterMs / 4), 10_000);
    for (const core of this.#sessions) {
      core.tick(now);
      if (core.closed) continue;
      if (!core.confirmed) {
        if (now - core.tx.createdAt > o.handshakeTimeoutMs) {
          core.close(new HublessError('ERR_HUBLESS_HANDSHAKE_TIMEOUT', 'the initiator never used the new session'));
        }
        continue;
      }
      // Passive keepalive: the peer sent data and we had nothing to send for keepaliveMs.
      if (core.unrepliedSince !== 0 && now - core.unrepliedSince >= o.keepaliveMs) core.keepalive();
      // Dead peer: data sent, nothing received for 1.5 × keepaliveMs (a live peer would have sent
      // its passive keepalive by then). A handshake settles it: answered, the session goes on;
      // unanswered (peer gone, or restarted and without this session), the session closes.
      if (core.unansweredSince !== 0 && now - core.unansweredSince >= deadAfter) {
        core.unansweredSince = now;
        this.#counters.deadPeerChecks++;
        this.#startRekey(core);
        continue;
      }
      const newest = core.newest;
      const limit = newest.weInitiated ? o.rekeyAfterMs : o.rekeyAfterMs + responderLag;
      if (now - newest.createdAt >= limit) this.#startRekey(core);
    }
  }
}

/** Creates a node: loads (or creates) its identity, binds its UDP socket, and starts accepting handshakes. */
export function createNode(options: NodeOptions = {}): Promise<Node> {
  return Node.create(options);
}
