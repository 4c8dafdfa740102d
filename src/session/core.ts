// The state behind a Session: which native indices (key pairs) it has installed, which one it
// sends on, and the rules for switching keys without losing packets in flight.
//
// Key switching (docs/PROTOCOL.md, "Rekeying"):
// - The side that initiated a handshake installs the new keys when the response arrives and
//   sends on them at once, starting with a keepalive (an empty datagram to port 0).
// - The responder installs the new keys before it answers (so it can receive on them at once)
//   but keeps sending on the old keys until a packet arrives under the new ones: WireGuard's key
//   confirmation. For a brand-new session there are no old keys: what the application sends
//   before that first packet is held back (staged, bounded) and flushed on confirmation.
// - Keys that are no longer used for sending stay installed for `rekeyGraceMs`, so reordered
//   packets sealed under them still open, then their index is removed.
import { HublessError } from '../errors.js';
import type { Address } from '../identity/address.js';
import type { AeadAlgorithm, Transport } from '../transport/transport.js';
import type { MessageQueue } from './message-queue.js';
import { Session, type Message, type SessionStatsSnapshot } from './session.js';
import type { Stream } from '../stream/stream.js';
import type { RawStreamSink } from '../stream/hub.js';

/** One installed key pair (one native session index). */
export interface KeySlot {
  index: number;
  remoteIndex: number;
  algorithm: AeadAlgorithm;
  createdAt: number;
  /** True when our side sent the initiation that produced these keys. */
  weInitiated: boolean;
  /** Datagrams we sealed under these keys (counted in JS, for rekey-by-volume). */
  txPackets: number;
  /** When the index is removed; 0 while the keys are in use. */
  retireAt: number;
}

/** What a session needs from its node. */
export interface SessionHost {
  readonly transport: Transport;
  readonly rekeyAfterPackets: number;
  readonly rekeyGraceMs: number;
  readonly stageLimit: number;
  /** A coarse clock (ms) the node advances on its ticks: read per packet without a call. */
  readonly clock: { now: number };
  now(): number;
  requestRekey(core: SessionCore): void;
  /** Forgets the index and removes it from the native table. */
  releaseIndex(index: number): void;
  sessionClosed(core: SessionCore, error: HublessError | undefined): void;
  wantDrain(core: SessionCore): void;
  count(counter: 'keepalivesSent' | 'stagedDropped'): void;
  /** Opens a stream on the session's logical session (`conn`). */
  openStream(core: SessionCore, dstPort: number, srcPort: number | undefined): Stream;
  /** Opens a stream on the session's logical session whose events go to `sink` (a request: no Stream). */
  openSink(core: SessionCore, dstPort: number, sink: RawStreamSink): void;
  /** A stream the peer opened on this session. */
  acceptStream(core: SessionCore, stream: Stream): void;
  /** Stream traffic went unanswered (a request timed out, a stream idled out): check the peer. */
  suspect(core: SessionCore): void;
}

export interface SessionParams {
  /** The peer's Ed25519 key in hex (the node's map key). */
  peerKey: string;
  remotePublicKey: Buffer;
  remoteAddress: Address;
  endpoint: { address: string; port: number };
  slot: KeySlot;
  /** True when this side sent the first handshake's initiation. */
  initiator: boolean;
}

const EMPTY = [Buffer.alloc(0)];
const NO_HANDLERS: ((data: Buffer, info: Message) => void)[] = [];
const STAT_FIELDS = ['txPackets', 'txBytes', 'rxPackets', 'rxBytes', 'authFailures', 'replays', 'tooOld'] as const;
type Totals = Record<(typeof STAT_FIELDS)[number], number>;

interface Staged {
  port: number;
  srcPort: number;
  data: Buffer[];
}

export class SessionCore {
  readonly session: Session;
  readonly host: SessionHost;
  readonly peerKey: string;
  readonly remotePublicKey: Buffer;
  readonly remoteAddress: Address;
  readonly initiator: boolean;
  /**
   * The logical session in the native table: the first key pair's index. Later key pairs are
   * linked to it, so streams (keyed by it) survive rekeys.
   */
  readonly conn: number;
  endpoint: { address: string; port: number };
  /** The keys we send on. */
  tx: KeySlot;
  /** Responder side of a rekey: new keys installed, waiting for the peer's first packet under them. */
  next: KeySlot | null = null;
  /**
   * Keys no longer sent on, still installed for reordered packets until their retireAt; null
   * when there are none (an idle session). With tx and next, every installed index.
   */
  #retiring: KeySlot[] | null = null;
  /** False for a responder's new session until the initiator's first packet arrives. */
  confirmed: boolean;
  /** Index whose first received packet means something (see sawWatched); -1 for none. */
  watchIndex = -1;
  /** Initiator side of a rekey: true once the peer sent under the newest keys. */
  #peerSwitched = true;
  /** Datagrams held back until the keys are confirmed (made by the first one). */
  #staged: Staged[] | null = null;
  #stagedCount = 0;
  /** Iterators from session.messages(); null until the first one (most sessions never have one). */
  queues: Set<MessageQueue<Message>> | null = null;
  closed = false;
  rekeys = 0;
  delivered = 0;
  /** Coarse times (host.clock) for keepalives and dead-peer detection, 0 when not running. */
  /** When we first sent data after the last packet we received (reset by anything received). */
  unansweredSince = 0;
  /** When we first received data after the last packet we sent (reset by anything sent). */
  unrepliedSince = 0;
  /**
   * The session's 'message' listeners, refreshed only when they change (Session marks it stale):
   * delivering a datagram then allocates nothing, where EventEmitter.emit would build an
   * argument array per call.
   */
  handlers: ((data: Buffer, info: Message) => void)[] = NO_HANDLERS;
  handlersStale = false;
  /** Counters of removed key pairs (made at the first removal). */
  #retired: Totals | null = null;

  constructor(host: SessionHost, params: SessionParams) {
    this.host = host;
    this.peerKey = params.peerKey;
    this.remotePublicKey = params.remotePublicKey;
    this.remoteAddress = params.remoteAddress;
    this.endpoint = params.endpoint;
    this.initiator = params.initiator;
    this.tx = params.slot;
    this.conn = params.slot.index;
    this.confirmed = params.initiator;
    // Responder: the first packet confirms the keys. Initiator: our keepalive is repeated on
    // ticks until the responder's first packet shows it arrived (it confirms the responder's side).
    this.watchIndex = params.slot.index;
    this.#peerSwitched = !params.initiator;
    this.session = new Session(this);
    if (params.initiator) this.#keepalive(params.slot);
  }

  /** The newest keys (those a time-based rekey is measured from). */
  get newest(): KeySlot {
    return this.next ?? this.tx;
  }

  get hasConsumers(): boolean {
    return (this.queues !== null && this.queues.size > 0) || this.#messageHandlers().length > 0;
  }

  /** The first packet arrived under `watchIndex`. */
  sawWatched(): void {
    this.watchIndex = -1;
    const next = this.next;
    if (next !== null) {
      // Rekey confirmed: the initiator sends under the new keys, so we switch too.
      this.next = null;
      this.#retire(this.tx);
      this.#sendOn(next);
    } else if (!this.confirmed) {
      this.confirmed = true;
      this.#flushStaged();
    } else {
      this.#peerSwitched = true;
    }
  }

  /** Our initiation (a rekey) completed: send under the new keys from now on. */
  installInitiated(slot: KeySlot): void {
    this.#link(slot);
    this.rekeys++;
    this.#retire(this.tx);
    if (this.next !== null) {
      this.#retire(this.next);
      this.next = null;
    }
    this.#sendOn(slot);
    this.watchIndex = slot.index;
    this.#peerSwitched = false;
    this.#keepalive(slot);
    if (!this.confirmed) {
      this.confirmed = true;
      this.#flushStaged();
    }
  }

  /** We answered the peer's initiation for this session (a rekey, or its retransmission). */
  installResponded(slot: KeySlot): void {
    this.#link(slot);
    this.rekeys++;
    if (!this.confirmed) {
      // The initiator never used the previous keys (its first response was lost or late):
      // replace them; staged datagrams wait for the new ones.
      this.#retire(this.tx);
      this.#sendOn(slot);
    } else {
      if (this.next !== null) this.#retire(this.next);
      this.next = slot;
    }
    this.watchIndex = slot.index;
  }

  /** Periodic work: remove expired indices, nudge a peer that has not switched keys yet. */
  tick(now: number): void {
    const retiring = this.#retiring;
    if (retiring !== null) {
      for (let i = retiring.length - 1; i >= 0; i--) {
        const s = retiring[i];
        if (s.retireAt <= now) {
          this.#absorbStats(s.index);
          retiring.splice(i, 1);
          this.host.releaseIndex(s.index);
        }
      }
      if (retiring.length === 0) this.#retiring = null;
    }
    // Our keepalive on new keys may have been lost: while the old keys are still installed, send
    // it again so that the responder switches before they go.
    if (!this.#peerSwitched) {
      if (now - this.tx.createdAt < this.host.rekeyGraceMs) this.#keepalive(this.tx);
      else this.#peerSwitched = true;
    }
  }

  /** A keepalive now (passive keepalive: the peer sends, we have nothing to say). */
  keepalive(): void {
    this.#keepalive(this.tx);
  }

  send(port: number, srcPort: number, payloads: Uint8Array[]): boolean {
    if (this.closed) throw new HublessError('ERR_HUBLESS_SESSION_CLOSED', 'the session is closed');
    if (!this.confirmed) return this.#stage(port, srcPort, payloads);
    const tx = this.tx;
    const ok = this.host.transport.send(tx.index, port, srcPort, payloads);
    this.unrepliedSince = 0;
    if (this.unansweredSince === 0) this.unansweredSince = this.host.clock.now;
    tx.txPackets += payloads.length;
    if (tx.txPackets >= this.host.rekeyAfterPackets) this.host.requestRekey(this);
    if (!ok) this.host.wantDrain(this);
    return ok;
  }

  openStream(dstPort: number, srcPort: number | undefined): Stream {
    if (this.closed) throw new HublessError('ERR_HUBLESS_SESSION_CLOSED', 'the session is closed');
    return this.host.openStream(this, dstPort, srcPort);
  }

  openSink(dstPort: number, sink: RawStreamSink): void {
    if (this.closed) throw new HublessError('ERR_HUBLESS_SESSION_CLOSED', 'the session is closed');
    this.host.openSink(this, dstPort, sink);
  }

  /** A stream the peer opened (the stream hub's owner callback: no closure per session). */
  takeStream(stream: Stream): void {
    this.host.acceptStream(this, stream);
  }

  /**
   * The stream hub's owner callback when a stream idled out; also called when a request timed
   * out. Stream traffic does not feed the datagram keepalive timers, so this starts the same
   * dead-peer check (a rekey): a restarted or vanished peer does not answer it, and the session
   * closes instead of swallowing requests.
   */
  streamTimedOut(): void {
    if (!this.closed) this.host.suspect(this);
  }

  deliver(msg: Message): void {
    this.delivered++;
    const hs = this.#messageHandlers();
    for (let i = 0; i < hs.length; i++) {
      try {
        hs[i].call(this.session, msg.data, msg);
      } catch (err) {
        // As with any listener, the exception is the application's: it surfaces as an uncaught
        // exception, but only after this batch was delivered to everyone else.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    if (this.queues !== null) for (const q of this.queues) q.push(msg);
  }

  #messageHandlers(): ((data: Buffer, info: Message) => void)[] {
    if (this.handlersStale) {
      this.handlersStale = false;
      this.handlers = this.session.rawListeners('message') as ((data: Buffer, info: Message) => void)[];
    }
    return this.handlers;
  }

  close(error?: HublessError): void {
    if (this.closed) return;
    this.closed = true;
    this.watchIndex = -1;
    for (const s of this.#installed()) {
      this.#absorbStats(s.index);
      this.host.releaseIndex(s.index);
    }
    this.#retiring = null;
    this.#staged = null;
    const queues = this.queues;
    this.queues = null;
    if (queues !== null) for (const q of queues) q.end();
    this.host.sessionClosed(this, error);
    this.session.emit('close', error);
  }

  stats(): SessionStatsSnapshot {
    const t: Totals = this.#retired === null
      ? { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, authFailures: 0, replays: 0, tooOld: 0 }
      : { ...this.#retired };
    // A closed session's keys are all removed (their counters are in #retired).
    const installed = this.closed ? [] : this.#installed();
    for (const s of installed) {
      const st = this.host.transport.sessionStats(s.index);
      if (st === null) continue;
      for (const f of STAT_FIELDS) t[f] += st[f];
    }
    return {
      algorithm: this.tx.algorithm,
      localIndex: this.tx.index,
      remoteIndex: this.tx.remoteIndex,
      endpoint: { ...this.endpoint },
      keyAgeMs: this.host.now() - this.newest.createdAt,
      rekeys: this.rekeys,
      installedKeys: installed.length,
      confirmed: this.confirmed,
      ...t,
      messagesDelivered: this.delivered,
    };
  }

  /** Joins a rekey's key pair to this logical session (natively), before anything arrives under it. */
  #link(slot: KeySlot): void {
    this.host.transport.linkSession(slot.index, this.tx.index);
  }

  /** Switches datagrams and stream packets to `slot`'s keys. */
  #sendOn(slot: KeySlot): void {
    this.tx = slot;
    if (!this.host.transport.closed) this.host.transport.setTxSession(slot.index);
  }

  /** Stops using `slot` (tx or next): it stays installed for rekeyGraceMs. */
  #retire(slot: KeySlot): void {
    if (slot.retireAt !== 0) return;
    slot.retireAt = this.host.now() + this.host.rekeyGraceMs;
    (this.#retiring ??= []).push(slot);
  }

  /** Every installed key pair: the retiring ones, next, tx (oldest first). */
  #installed(): KeySlot[] {
    const out = this.#retiring === null ? [] : [...this.#retiring];
    if (this.next !== null) out.push(this.next);
    out.push(this.tx);
    return out;
  }

  #absorbStats(index: number): void {
    const st = this.host.transport.closed ? null : this.host.transport.sessionStats(index);
    if (st === null) return;
    const r = (this.#retired ??= { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, authFailures: 0, replays: 0, tooOld: 0 });
    for (const f of STAT_FIELDS) r[f] += st[f];
  }

  #keepalive(slot: KeySlot): void {
    if (this.host.transport.closed) return;
    try {
      this.host.transport.send(slot.index, 0, 0, EMPTY);
      this.unrepliedSince = 0;
      this.host.count('keepalivesSent');
    } catch {
      // Runs inside packet and timer handling: a failure here must not escape (the index is gone).
    }
  }

  #stage(port: number, srcPort: number, payloads: Uint8Array[]): boolean {
    if (this.#stagedCount + payloads.length > this.host.stageLimit) {
      for (let i = 0; i < payloads.length; i++) this.host.count('stagedDropped');
      return false;
    }
    // Copies: the caller may reuse its buffers once send() returns.
    (this.#staged ??= []).push({ port, srcPort, data: payloads.map((p) => Buffer.from(p)) });
    this.#stagedCount += payloads.length;
    return true;
  }

  #flushStaged(): void {
    const staged = this.#staged;
    this.#staged = null;
    this.#stagedCount = 0;
    if (staged === null) return;
    for (const s of staged) {
      try {
        this.send(s.port, s.srcPort, s.data);
      } catch {
        for (let i = 0; i < s.data.length; i++) this.host.count('stagedDropped');
      }
    }
  }
}
