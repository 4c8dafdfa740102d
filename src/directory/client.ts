// Directory client: talks to one of several pinned directories (replicas), fails over when one
// stops answering, and verifies every record it receives, so a rogue or tampered replica can
// hide records but never forge or alter one.
//
// Failover: entries are tried in order of preference (the one that answered last first, replicas
// that failed recently last). A request that gets no answer within `requestTimeoutMs` (default
// 700 ms, handshake included) moves to the next entry, so one dead replica costs a client at most
// that long. Refusals by a directory (hostname taken, rate limited, bad query, ...) are answers:
// they are returned at once, not retried elsewhere. A storage failure on the replica, a malformed
// answer or a record that fails verification counts that replica as failed and tries the next;
// when every entry failed, the error says why (the last verification error, if any, else
// ERR_HUBLESS_DIRECTORY_UNAVAILABLE).
//
// The client does not know about sockets: a `DirectoryTransport` carries requests and watch
// streams (src/node/directory-transport.ts over a hubless Node; tests inject their own).
import { EventEmitter } from 'node:events';
import { HublessError, remoteError } from '../errors.js';
import { Address } from '../identity/address.js';
import { MessageQueue } from '../session/message-queue.js';
import { DirectoryCodes } from './codes.js';
import type { ResolvedEntry } from './entry.js';
import {
  DIRECTORY_PROTOCOL_VERSION, ProtocolCodes, asBin, parseDeregisterAnswer, parseGetAnswer, parseLeaseAnswer, parseQueryAnswer,
  parseWatchMessage, protocolError, type LeaseAnswer,
} from './protocol.js';
import { matches, validateQuery, type DirectoryQuery, type NormalizedQuery, type ViewOptions } from './query.js';
import { checkBinding, defaultVerifyBinding, verifyRecord } from './record.js';
import type { AgentRecord, SignedRecord, VerifyBinding } from './record-types.js';
import { hostnameProblem } from './names.js';

/** A watch stream as the transport gives it: decoded messages in, close() to end it. */
export interface WatchChannel {
  messages: AsyncIterable<unknown>;
  close(): void;
}

export interface DirectoryTransport {
  /** One request to one directory; rejects on timeout (any code) or with the directory's refusal (err.remote = true). */
  request(entry: ResolvedEntry, payload: unknown, timeoutMs: number): Promise<unknown>;
  /** Opens a watch stream and sends `request` on it. */
  openWatch(entry: ResolvedEntry, request: unknown, timeoutMs: number): Promise<WatchChannel>;
  /** Forgets the connection to a directory that stopped answering (next use starts afresh). */
  reset?(entry: ResolvedEntry): void;
}

export interface DirectoryClientOptions {
  entries: ResolvedEntry[];
  transport: DirectoryTransport;
  /** The requester's own key: query results must be visible to it (default: no private records expected). */
  viewer?: Uint8Array;
  /** Per entry, handshake included (ms). Default 700. */
  requestTimeoutMs?: number;
  /** How long a failed entry is tried only after the others (ms). Default 5,000. */
  downForMs?: number;
  verifyBinding?: VerifyBinding;
  now?: () => number;
}

export interface DirectoryClientStats {
  requests: number;
  /** Entries abandoned for the next one (timeouts, failures, rejected answers). */
  failovers: number;
  /** Records that failed verification (signature, schema, binding, not what was asked). */
  rejectedRecords: number;
  /** Watch streams re-opened after an interruption. */
  watchReconnects: number;
}

export interface FindResult {
  records: SignedRecord[];
  cursor?: string;
}

export type DirectoryWatchEvent =
  | { type: 'put'; address: string; record: AgentRecord; signed: SignedRecord }
  | { type: 'leave'; address: string; reason: 'changed' | 'removed' | 'expired' };

const VERIFIED_CACHE = 10_000;

/** The verified-record cache's key: the signature (the last 64 bytes), as a string without a copy. */
function verifiedKey(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array) || bytes.length <= 64) return '';
  return asBuffer(bytes).toString('latin1', bytes.length - 64, bytes.length);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Remote refusals that mean "this replica is broken", not "the answer is no". */
const REPLICA_FAILURES = new Set<string>(['ERR_HUBLESS_STORE_FAILED', 'ERR_HUBLESS_INTERNAL', 'ERR_HUBLESS_STORE_CLOSED', 'ERR_HUBLESS_REMOTE_ERROR']);
const VERIFICATION_CODES = new Set<string>([
  DirectoryCodes.BAD_RECORD, DirectoryCodes.RECORD_TOO_LARGE, DirectoryCodes.BAD_SIGNATURE, DirectoryCodes.BAD_BINDING,
  DirectoryCodes.RECORD_EXPIRED, ProtocolCodes.BAD_RESPONSE,
]);

/** Local errors about our own request that another replica would give as well. */
const OWN_FAULTS = new Set<string>(['ERR_HUBLESS_MESSAGE_TOO_LARGE', 'ERR_HUBLESS_MESSAGE_INVALID', 'ERR_HUBLESS_INVALID_ARGUMENT']);

const isRefusal = (err: unknown) => err instanceof Error && (
  ((err as { remote?: unknown }).remote === true && !REPLICA_FAILURES.has((err as HublessError).code)) ||
  OWN_FAULTS.has((err as HublessError).code));

export class DirectoryClient {
  readonly entries: readonly ResolvedEntry[];
  readonly #transport: DirectoryTransport;
  readonly #viewer: Uint8Array | undefined;
  readonly #timeoutMs: number;
  readonly #downForMs: number;
  readonly #verifyBinding: VerifyBinding;
  readonly #now: () => number;
  readonly #downUntil = new Map<ResolvedEntry, number>();
  readonly #watches = new Set<DirectoryWatch>();
  /** Answers (or refusals) received per entry: tells a lost request from a dead replica. */
  readonly #answers = new Map<ResolvedEntry, number>();
  /** Times each entry's connection was reset (markDown). */
  readonly #resets = new Map<ResolvedEntry, number>();
  /** Records verified lately, by signature (a hit needs identical bytes, compared with `bytes`). */
  readonly #verified = new Map<string, { signed: SignedRecord; bytes: Buffer }>();
  #preferred: ResolvedEntry | undefined;
  #closed = false;
  readonly #stats: DirectoryClientStats = { requests: 0, failovers: 0, rejectedRecords: 0, watchReconnects: 0 };

  constructor(options: DirectoryClientOptions) {
    if (!Array.isArray(options.entries) || options.entries.length === 0) {
      throw protocolError(ProtocolCodes.BAD_DIRECTORY_ENTRY, 'a directory client needs at least one directory entry');
    }
    this.entries = [...options.entries];
    this.#transport = options.transport;
    this.#viewer = options.viewer;
    this.#timeoutMs = options.requestTimeoutMs ?? 700;
    this.#downForMs = options.downForMs ?? 5000;
    this.#verifyBinding = options.verifyBinding ?? defaultVerifyBinding;
    this.#now = options.now ?? Date.now;
  }

  stats(): DirectoryClientStats {
    return { ...this.#stats };
  }

  /** The entry that answered last (where requests go first). */
  get current(): ResolvedEntry | undefined {
    return this.#preferred;
  }

  /** Entries in the order the next request tries them. */
  order(): ResolvedEntry[] {
    if (this.entries.length === 1) return [this.entries[0]];
    const now = this.#now();
    const up: ResolvedEntry[] = [];
    const down: ResolvedEntry[] = [];
    for (const e of this.entries) ((this.#downUntil.get(e) ?? 0) > now ? down : up).push(e);
    const pref = this.#preferred;
    if (pref !== undefined && up.includes(pref)) up.splice(up.indexOf(pref), 1), up.unshift(pref);
    down.sort((a, b) => this.#downUntil.get(a)! - this.#downUntil.get(b)!);
    return [...up, ...down];
  }

  #markDown(entry: ResolvedEntry): void {
    this.#resets.set(entry, (this.#resets.get(entry) ?? 0) + 1);
    this.#downUntil.set(entry, this.#now() + this.#downForMs);
    if (this.#preferred === entry) this.#preferred = undefined;
    this.#stats.failovers++;
    try {
      this.#transport.reset?.(entry);
    } catch {
      // best effort
    }
  }

  /** Sends `payload` to the first entry that answers, and checks the answer with `accept`. */
  async #call<T>(payload: unknown, accept: (answer: unknown) => Promise<T> | T): Promise<T> {
    if (this.#closed) throw protocolError(ProtocolCodes.CLOSED, 'the directory client is closed');
    this.#stats.requests++;
    let verificationError: unknown;
    let lastError: unknown;
    const attempts = this.order();
    let retried: Set<ResolvedEntry> | undefined;
    for (let i = 0; i < attempts.length; i++) {
      const entry = attempts[i];
      const answersBefore = this.#answers.get(entry) ?? 0;
      const resetsBefore = this.#resets.get(entry) ?? 0;
      let answer: unknown;
      try {
        answer = await this.#transport.request(entry, payload, this.#timeoutMs);
        this.#answers.set(entry, (this.#answers.get(entry) ?? 0) + 1);
      } catch (err) {
        if (isRefusal(err)) {
          this.#answers.set(entry, (this.#answers.get(entry) ?? 0) + 1);
          this.#preferred = entry;
          throw err;
        }
        lastError = err;
        const resetMeanwhile = (this.#resets.get(entry) ?? 0) > resetsBefore;
        if (resetMeanwhile || (this.#answers.get(entry) ?? 0) > answersBefore) {
          // Other requests got answers from this replica meanwhile (it is alive, only this request
          // was lost), or another request reset its session under this one: try the next replica,
          // or this one once more.
          if (!retried?.has(entry)) {
            (retried ??= new Set()).add(entry);
            attempts.push(entry);
          }
          continue;
        }
        this.#markDown(entry);
        // The only directory: one more try on a fresh session (its old one may be stale, e.g.
        // the directory restarted) before giving up.
        if (this.entries.length === 1 && !retried?.has(entry)) {
          (retried ??= new Set()).add(entry);
          attempts.push(entry);
        }
        continue;
      }
      try {
        // A page whose records were all verified before is checked synchronously: no await (and
        // no microtask) for a value that is not a promise.
        const checked = accept(answer);
        const out = checked instanceof Promise ? await checked : checked as T;
        this.#preferred = entry;
        this.#downUntil.delete(entry);
        return out;
      } catch (err) {
        if (!(err instanceof HublessError) || !VERIFICATION_CODES.has(err.code)) throw err;
        verificationError = err;
        this.#markDown(entry);
      }
    }
    if (verificationError !== undefined) throw verificationError;
    const why = lastError instanceof Error ? `${lastError.message}${(lastError as HublessError).code ? ` [${(lastError as HublessError).code}]` : ''}` : 'no answer';
    throw protocolError(
      ProtocolCodes.DIRECTORY_UNAVAILABLE,
      `no directory answered (${this.entries.length} tried; last: ${why})`,
      lastError,
    );
  }

  /**
   * Verifies one record from a directory: signature, schema, times, key ↔ address binding.
   * Records verified before (identical bytes) skip the signature and binding checks, not the
   * expiry check.
   */
  async verify(bytes: Uint8Array): Promise<SignedRecord> {
    const now = this.#now();
    try {
      const hit = this.#verifiedHit(bytes, now);
      if (hit !== undefined) return hit;
      const signed = verifyRecord(bytes, { now });
      await checkBinding(signed.record, this.#verifyBinding);
      this.#verified.set(verifiedKey(bytes), { signed, bytes: asBuffer(signed.bytes) });
      if (this.#verified.size > VERIFIED_CACHE) this.#verified.delete(this.#verified.keys().next().value!);
      return signed;
    } catch (err) {
      throw this.#invalidRecord(err);
    }
  }

  /**
   * The record verified before with these exact bytes (undefined: not seen, verify it); throws
   * ERR_HUBLESS_RECORD_EXPIRED when it expired since. No promise: the hot path of find().
   */
  #verifiedHit(bytes: Uint8Array, now: number): SignedRecord | undefined {
    const hit = this.#verified.get(verifiedKey(bytes));
    if (hit === undefined || !hit.bytes.equals(bytes)) return undefined;
    if (hit.signed.record.expiresAt <= now) {
      throw new HublessError(DirectoryCodes.RECORD_EXPIRED, `record of ${hit.signed.record.address} expired`);
    }
    return hit.signed;
  }

  #invalidRecord(err: unknown): unknown {
    this.#stats.rejectedRecords++;
    if (err instanceof HublessError) {
      return new HublessError(err.code, `a directory served an invalid record: ${err.message}`, { cause: err });
    }
    return err;
  }

  /** Verifies a page of records: synchronously when every one was verified before (the usual case). */
  #verifyAll(list: Uint8Array[]): SignedRecord[] | Promise<SignedRecord[]> {
    const now = this.#now();
    const out: SignedRecord[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      let hit: SignedRecord | undefined;
      try {
        hit = this.#verifiedHit(list[i], now);
      } catch (err) {
        throw this.#invalidRecord(err);
      }
      if (hit === undefined) return Promise.all(list.map((b) => this.verify(b)));
      out[i] = hit;
    }
    return out;
  }

  #rejected(message: string): HublessError {
    this.#stats.rejectedRecords++;
    return protocolError(ProtocolCodes.BAD_RESPONSE, message);
  }

  async register(record: SignedRecord): Promise<LeaseAnswer> {
    return this.#call({ v: DIRECTORY_PROTOCOL_VERSION, op: 'register', record: asBin(record.bytes) }, parseLeaseAnswer);
  }

  async renew(address: string): Promise<LeaseAnswer> {
    return this.#call({ v: DIRECTORY_PROTOCOL_VERSION, op: 'renew', address }, parseLeaseAnswer);
  }

  async deregister(address: string): Promise<boolean> {
    return this.#call({ v: DIRECTORY_PROTOCOL_VERSION, op: 'deregister', address }, (a) => parseDeregisterAnswer(a).removed);
  }

  /** The live record of this address (node id compared), verified; undefined if none. */
  async get(address: string | Address): Promise<SignedRecord | undefined> {
    const want = typeof address === 'string' ? Address.parse(address) : address;
    return this.#call({ v: DIRECTORY_PROTOCOL_VERSION, op: 'get', address: want.toString() }, async (a) => {
      const bytes = parseGetAnswer(a).record;
      if (bytes === null) return undefined;
      const signed = await this.verify(bytes);
      if (Address.parse(signed.record.address).node !== want.node) {
        throw this.#rejected(`asked for ${want.toString()}, the directory answered with the record of ${signed.record.address}`);
      }
      return signed;
    });
  }

  /** The live record holding this hostname, verified; undefined if none. */
  async getByHostname(hostname: string): Promise<SignedRecord | undefined> {
    return this.#call({ v: DIRECTORY_PROTOCOL_VERSION, op: 'get', hostname }, async (a) => {
      const bytes = parseGetAnswer(a).record;
      if (bytes === null) return undefined;
      const signed = await this.verify(bytes);
      if (signed.record.hostname !== hostname) {
        throw this.#rejected(`asked for ${hostname}, the directory answered with the record of ${signed.record.hostname ?? signed.record.address}`);
      }
      return signed;
    });
  }

  /** A hostname or an address → its verified record; ERR_HUBLESS_NOT_FOUND when there is none. */
  async resolve(target: string | Address): Promise<SignedRecord> {
    let r: SignedRecord | undefined;
    if (target instanceof Address) r = await this.get(target);
    else if (typeof target === 'string' && hostnameProblem(target) === undefined) r = await this.getByHostname(target);
    else if (typeof target === 'string') {
      let a: Address;
      try {
        a = Address.parse(target);
      } catch {
        throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', `"${target.slice(0, 80)}" is neither a hostname nor an address`);
      }
      r = await this.get(a);
    } else throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'resolve() takes a hostname or an address');
    if (r === undefined) throw protocolError(ProtocolCodes.NOT_FOUND, `no live record for ${String(target)} in the directory`);
    return r;
  }

  /** One page of verified records matching the query (each checked to match it). */
  async find(query: DirectoryQuery): Promise<FindResult> {
    const q = validateQuery(query); // a bad query fails here, not at every replica
    const view = this.#viewer ? { viewer: this.#viewer } : {};
    return this.#call({ v: DIRECTORY_PROTOCOL_VERSION, op: 'query', query }, (a) => {
      const page = parseQueryAnswer(a);
      if (page.records.length > q.limit) throw this.#rejected(`asked for at most ${q.limit} records, got ${page.records.length}`);
      const verified = this.#verifyAll(page.records);
      return Array.isArray(verified) ? this.#checkPage(verified, page.cursor, q, view) : verified.then((records) => this.#checkPage(records, page.cursor, q, view));
    });
  }

  #checkPage(records: SignedRecord[], cursor: string | undefined, q: NormalizedQuery, view: ViewOptions): FindResult {
    for (const r of records) {
      if (!matches(r.record, q, view)) throw this.#rejected(`the directory returned ${r.record.address}, which does not match the query`);
    }
    return cursor === undefined ? { records } : { records, cursor };
  }

  /** Every matching record, page after page (at most `max`, default 10,000). */
  async findAll(query: DirectoryQuery, max = 10_000): Promise<SignedRecord[]> {
    const out: SignedRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.find({ ...query, ...(cursor ? { cursor } : {}) });
      out.push(...page.records);
      cursor = page.cursor;
    } while (cursor !== undefined && out.length < max);
    return out.slice(0, max);
  }

  /** Watches a query: see DirectoryWatch. */
  watch(query: DirectoryQuery, options: { initial?: boolean } = {}): DirectoryWatch {
    if (this.#closed) throw protocolError(ProtocolCodes.CLOSED, 'the directory client is closed');
    const { limit: _l, cursor: _c, ...filters } = query;
    const q = validateQuery(filters);
    const w = new DirectoryWatch(this, filters, q, options.initial ?? true, () => this.#watches.delete(w));
    this.#watches.add(w);
    return w;
  }

  /** @internal For DirectoryWatch: opens a watch on the best entry, failing over like requests. */
  async openWatch(request: unknown): Promise<WatchChannel> {
    let lastError: unknown;
    for (const entry of this.order()) {
      if (this.#closed) break;
      try {
        const ch = await this.#transport.openWatch(entry, request, this.#timeoutMs);
        this.#preferred ??= entry;
        return ch;
      } catch (err) {
        if (isRefusal(err)) throw err;
        lastError = err;
        this.#markDown(entry);
      }
    }
    throw protocolError(ProtocolCodes.DIRECTORY_UNAVAILABLE, 'no directory accepted the watch', lastError);
  }

  /** @internal */
  countWatchReconnect(): void {
    this.#stats.watchReconnects++;
  }

  get viewer(): Uint8Array | undefined {
    return this.#viewer;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    for (const w of [...this.#watches]) w.close();
  }
}

export interface DirectoryWatchEvents {
  /** A record matching the query was registered or changed (verified), or found at (re)sync. */
  put: [event: Extract<DirectoryWatchEvent, { type: 'put' }>];
  /** A record stopped matching: changed, deregistered or its lease expired. */
  leave: [event: Extract<DirectoryWatchEvent, { type: 'leave' }>];
  /** The snapshot after (re)connecting is complete: the watch is live from here. */
  synced: [];
  /** A recoverable problem (a directory went away, a rejected record); the watch carries on. */
  warning: [error: Error];
  close: [];
}

/**
 * A live query. Events as an EventEmitter ('put', 'leave', 'synced', 'warning', 'close') and as
 * an async iterator of DirectoryWatchEvent (buffered up to 10,000 events; beyond that, events
 * are dropped and counted in `dropped`). When its directory goes away, the watch re-opens on the
 * next one and resynchronizes: records it already reported with the same seq are not repeated,
 * and records that disappeared meanwhile are reported as `leave` (reason `removed`).
 * close() ends it (idempotent).
 */
export class DirectoryWatch extends EventEmitter<DirectoryWatchEvents> implements AsyncIterable<DirectoryWatchEvent> {
  readonly #client: DirectoryClient;
  readonly #filters: DirectoryQuery;
  readonly #query: ReturnType<typeof validateQuery>;
  readonly #onClose: () => void;
  readonly #known = new Map<string, number>();
  #queue: MessageQueue<DirectoryWatchEvent> | null = null;
  #channel: WatchChannel | null = null;
  #closed = false;
  #synced = false;
  /** The directory's refusal that ended this watch (bad query, too many watches), if any. */
  error: Error | null = null;
  /** Resolves once the first snapshot arrived (or with initial: false, once the watch is open). */
  readonly ready: Promise<void>;
  #ready!: () => void;

  /** @internal Made by DirectoryClient.watch(). */
  constructor(client: DirectoryClient, filters: DirectoryQuery, query: ReturnType<typeof validateQuery>, initial: boolean, onClose: () => void) {
    super();
    this.#client = client;
    this.#filters = filters;
    this.#query = query;
    this.#onClose = onClose;
    this.ready = new Promise((r) => (this.#ready = r));
    this.#queue = new MessageQueue<DirectoryWatchEvent>(10_000);
    void this.#run(initial);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get dropped(): number {
    return this.#queue?.dropped ?? 0;
  }

  [Symbol.asyncIterator](): AsyncIterator<DirectoryWatchEvent> {
    return this.#queue!;
  }

  #warn(err: unknown): void {
    if (this.listenerCount('warning') > 0) this.emit('warning', err instanceof Error ? err : new Error(String(err)));
  }

  #deliver(e: DirectoryWatchEvent): void {
    this.#queue?.push(e);
    if (e.type === 'put') this.emit('put', e);
    else this.emit('leave', e);
  }

  async #run(initial: boolean): Promise<void> {
    let first = true;
    let backoff = 50;
    while (!this.#closed) {
      const snapshot = initial || !first;
      let seen: Set<string> | null = snapshot ? new Set() : null;
      try {
        const ch = await this.#client.openWatch({ v: DIRECTORY_PROTOCOL_VERSION, op: 'watch', query: this.#filters, initial: snapshot });
        if (this.#closed) {
          ch.close();
          break;
        }
        this.#channel = ch;
        if (!first) this.#client.countWatchReconnect();
        if (!snapshot) this.#ready();
        first = false;
        backoff = 50;
        for await (const raw of ch.messages) {
          if (this.#closed) break;
          const m = parseWatchMessage(raw);
          if (m.type === 'ping') continue;
          if (m.type === 'error') {
            throw remoteError(m.code, m.message);
          }
          if (m.type === 'synced') {
            if (seen !== null) {
              for (const address of [...this.#known.keys()]) {
                if (!seen.has(address)) {
                  this.#known.delete(address);
                  this.#deliver({ type: 'leave', address, reason: 'removed' });
                }
              }
              seen = null;
            }
            this.#synced = true;
            this.emit('synced');
            this.#ready();
          } else if (m.type === 'leave') {
            this.#known.delete(m.address);
            this.#deliver({ type: 'leave', address: m.address, reason: m.reason });
          } else {
            let signed: SignedRecord;
            try {
              signed = await this.#client.verify(m.record);
              const view = this.#client.viewer ? { viewer: this.#client.viewer } : {};
              if (!matches(signed.record, this.#query, view)) throw protocolError(ProtocolCodes.BAD_RESPONSE, `watch sent ${signed.record.address}, which does not match the query`);
            } catch (err) {
              this.#warn(err);
              continue;
            }
            const address = signed.record.address;
            seen?.add(address);
            if (this.#known.get(address) === signed.record.seq) continue;
            this.#known.set(address, signed.record.seq);
            this.#deliver({ type: 'put', address, record: signed.record, signed });
          }
        }
        if (!this.#closed) this.#warn(protocolError(ProtocolCodes.DIRECTORY_UNAVAILABLE, 'the watch stream ended; reconnecting'));
      } catch (err) {
        if (this.#closed) break;
        if (isRefusal(err)) {
          // The directory refused this watch (bad query, too many watches): it will not get better.
          this.error = err as Error;
          this.#warn(err);
          this.close();
          break;
        }
        this.#warn(err);
      } finally {
        this.#channel?.close();
        this.#channel = null;
      }
      if (this.#closed) break;
      await new Promise((r) => setTimeout(r, backoff).unref?.());
      backoff = Math.min(backoff * 2, 2000);
    }
  }

  /** True once a snapshot was received. */
  get synced(): boolean {
    return this.#synced;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel?.close();
    this.#channel = null;
    this.#queue?.end();
    this.#ready();
    this.#onClose();
    this.emit('close');
  }
}
