// What a directory server does with a request, as plain functions over a DirectoryStore: no
// sockets here, so every rule is unit-testable. server.ts wires this onto a hubless node.
//
// Per request, in this order (cheap checks first): envelope shape, rate limits (per requester key
// and per source IP, writes and reads counted apart), then the operation. A registration is
// verified completely before the store sees it: size before decoding, schema, canonical bytes,
// signature, times (verifyRecord); the requester must own the record (its session key signs it);
// the key ↔ address binding (checkBinding, cached, usually already verified by the handshake).
// Sequence numbers, node-id and hostname ownership are the store's atomic rules. Every refusal
// is a HublessError with a stable code, counted in stats().refused under that code.
import { HublessError } from '../errors.js';
import { DirectoryCodes, directoryError } from './codes.js';
import { hostnameProblem } from './names.js';
import { sameKey } from './put-rules.js';
import {
  OPS, ProtocolCodes, asBin, parseRequest, parseWatchRequest, protocolError,
  type DirectoryRequest, type LeaseAnswer, type Op, type WatchMessage,
} from './protocol.js';
import { TokenBuckets, type RateLimit } from './rate-limit.js';
import { RECORD_TIME_DEFAULTS, checkBinding, defaultVerifyBinding, verifyRecord } from './record.js';
import type { VerifyBinding } from './record-types.js';
import { PAGE_ORIGIN, type DirectoryStore, type QueryPage, type Watch } from './store.js';
import { EncodedAnswer } from '../stream/request.js';

/** Who sent a request: the authenticated key of the session and its UDP source. */
export interface DirectoryPeer {
  publicKey: Uint8Array;
  host: string;
  port: number;
}

export interface DirectoryRateLimits {
  /** Registrations, renewals and deregistrations per requester key. Default 5/s, burst 20. */
  writesPerKey?: RateLimit;
  /** The same per source IP (many agents may share a NAT). Default 200/s, burst 400. */
  writesPerSource?: RateLimit;
  /** Lookups, queries and watches per requester key. Default 2,000/s, burst 4,000. */
  readsPerKey?: RateLimit;
  /** The same per source IP. Default 100,000/s, burst 200,000 (above the benchmark goal of 50,000 lookups/s from one host). */
  readsPerSource?: RateLimit;
}

export interface DirectoryServiceOptions {
  store: DirectoryStore;
  /** Lease granted per registration or heartbeat (ms). Default 30,000; agents renew at a third of it. */
  leaseMs?: number;
  rateLimits?: DirectoryRateLimits;
  /** Concurrent watches per requester key (default 16) and in total (default 10,000). */
  maxWatchesPerKey?: number;
  maxWatches?: number;
  /** Records sent as the initial snapshot of a watch at most (default 10,000). */
  maxWatchSnapshot?: number;
  /** Key ↔ address binding check (default: the identity module's cached Argon2id check). */
  verifyBinding?: VerifyBinding;
  now?: () => number;
}

export const DEFAULT_RATE_LIMITS: Required<DirectoryRateLimits> = {
  writesPerKey: { perSecond: 5, burst: 20 },
  writesPerSource: { perSecond: 200, burst: 400 },
  readsPerKey: { perSecond: 2000, burst: 4000 },
  readsPerSource: { perSecond: 100_000, burst: 200_000 },
};

export interface DirectoryServerStats {
  /** Requests received, by operation (`invalid`: not a directory request at all). */
  requests: Record<Op | 'invalid', number>;
  /** Requests answered with a result. */
  answered: number;
  /** Refusals by error code (ERR_HUBLESS_RATE_LIMITED, ERR_HUBLESS_BAD_SIGNATURE, ...). */
  refused: Record<string, number>;
  /** Watches open now. */
  watches: number;
  /** Watch events sent; watches closed because their reader fell behind. */
  watchEvents: number;
  watchOverflows: number;
}

export interface HandleOptions {
  /**
   * May answer with an EncodedAnswer (the request layer sends its frame as is) instead of the
   * answer's value: what the server does, so that a query page served again is not re-encoded.
   */
  encoded?: boolean;
}

/** Where a watch's events go (a stream in server.ts). */
export interface WatchSink {
  send(message: WatchMessage): void;
  close(error?: Error): void;
}

const hex = (k: Uint8Array) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');
/** Hex of a session's key, by key object (a session hands out the same Buffer each time). */
const hexCache = new WeakMap<Uint8Array, string>();
function keyHex(k: Uint8Array): string {
  let h = hexCache.get(k);
  if (h === undefined) {
    h = hex(k);
    hexCache.set(k, h);
  }
  return h;
}
const WRITES = new Set<Op>(['register', 'renew', 'deregister']);

export class DirectoryService {
  readonly store: DirectoryStore;
  readonly leaseMs: number;
  readonly #now: () => number;
  readonly #verifyBinding: VerifyBinding;
  readonly #writesPerKey: TokenBuckets;
  readonly #writesPerSource: TokenBuckets;
  readonly #readsPerKey: TokenBuckets;
  readonly #readsPerSource: TokenBuckets;
  readonly #maxWatchesPerKey: number;
  readonly #maxWatches: number;
  readonly #maxSnapshot: number;
  readonly #watchesByKey = new Map<string, number>();
  readonly #watches = new Set<{ close(): void }>();
  readonly #stats: DirectoryServerStats;

  constructor(options: DirectoryServiceOptions) {
    this.store = options.store;
    this.leaseMs = options.leaseMs ?? 30_000;
    if (!Number.isInteger(this.leaseMs) || this.leaseMs < 50 || this.leaseMs > RECORD_TIME_DEFAULTS.maxLifetimeMs) {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'leaseMs must be an integer in 50..86,400,000');
    }
    this.#now = options.now ?? Date.now;
    this.#verifyBinding = options.verifyBinding ?? defaultVerifyBinding;
    const limits = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
    const o = { now: this.#now };
    this.#writesPerKey = new TokenBuckets(limits.writesPerKey, o);
    this.#writesPerSource = new TokenBuckets(limits.writesPerSource, o);
    this.#readsPerKey = new TokenBuckets(limits.readsPerKey, o);
    this.#readsPerSource = new TokenBuckets(limits.readsPerSource, o);
    this.#maxWatchesPerKey = options.maxWatchesPerKey ?? 16;
    this.#maxWatches = options.maxWatches ?? 10_000;
    this.#maxSnapshot = options.maxWatchSnapshot ?? 10_000;
    const requests = Object.fromEntries([...OPS, 'invalid'].map((op) => [op, 0])) as DirectoryServerStats['requests'];
    this.#stats = { requests, answered: 0, refused: {}, watches: 0, watchEvents: 0, watchOverflows: 0 };
  }

  stats(): DirectoryServerStats {
    return {
      ...this.#stats, requests: { ...this.#stats.requests }, refused: { ...this.#stats.refused }, watches: this.#watches.size,
    };
  }

  /** Counts a refusal that happened outside handle() (e.g. an oversized or undecodable message). */
  countRefusal(code: string): void {
    this.#stats.refused[code] = (this.#stats.refused[code] ?? 0) + 1;
  }

  /**
   * Answers one request; rejects with a HublessError (counted) when it is refused. One promise
   * per request: the checks run synchronously, then the operation's own promise.
   */
  handle(payload: unknown, peer: DirectoryPeer, options: HandleOptions = {}): Promise<unknown> {
    let pending: Promise<unknown>;
    try {
      let req: DirectoryRequest;
      try {
        req = parseRequest(payload);
      } catch (err) {
        this.#stats.requests.invalid++;
        this.#limit('register', peer); // garbage costs like a write
        throw err;
      }
      this.#stats.requests[req.op]++;
      this.#limit(req.op, peer);
      pending = this.#dispatch(req, peer, options.encoded === true);
    } catch (err) {
      return Promise.reject(this.#refused(err));
    }
    return pending.then(this.#onAnswered, this.#onRefused);
  }

  /** Encoded answers of pages a store serves again (PAGE_ORIGIN), kept as long as the store keeps the page. */
  readonly #encoded = new WeakMap<QueryPage, EncodedAnswer>();

  readonly #encodedQueryAnswer = (page: QueryPage): unknown => {
    const origin = (page as { [PAGE_ORIGIN]?: QueryPage })[PAGE_ORIGIN];
    if (origin === undefined) return queryAnswer(page);
    let a = this.#encoded.get(origin);
    if (a === undefined) {
      a = new EncodedAnswer(queryAnswer(page));
      this.#encoded.set(origin, a);
    }
    return a;
  };

  readonly #onAnswered = (out: unknown): unknown => {
    this.#stats.answered++;
    return out;
  };

  readonly #onRefused = (err: unknown): never => {
    throw this.#refused(err);
  };

  /** Starts a watch; events go to `sink` until the returned handle is closed. Throws (counted) when refused. */
  async watch(payload: unknown, peer: DirectoryPeer, sink: WatchSink): Promise<{ close(): void }> {
    try {
      this.#stats.requests.watch++;
      this.#limit('watch', peer);
      const req = parseWatchRequest(payload);
      const key = hex(peer.publicKey);
      const mine = this.#watchesByKey.get(key) ?? 0;
      if (mine >= this.#maxWatchesPerKey || this.#watches.size >= this.#maxWatches) {
        throw protocolError(ProtocolCodes.TOO_MANY_WATCHES, `too many watches (${mine} for this key, ${this.#watches.size} in all)`);
      }
      const view = { viewer: new Uint8Array(peer.publicKey) };
      const { limit: _l, cursor: _c, ...filters } = req.query;
      let buffered: WatchMessage[] | null = req.initial ? [] : null;
      const emit = (m: WatchMessage) => {
        if (buffered !== null) buffered.push(m);
        else {
          this.#stats.watchEvents++;
          sink.send(m);
        }
      };
      const storeWatch: Watch = this.store.watch(filters, (e) => {
        emit(e.type === 'put'
          ? { v: 1, type: 'put', record: asBin(e.record.bytes) }
          : { v: 1, type: 'leave', address: e.address, reason: e.reason });
      }, view);
      let closed = false;
      const handle = {
        close: () => {
          if (closed) return;
          closed = true;
          storeWatch.close();
          this.#watches.delete(handle);
          const n = (this.#watchesByKey.get(key) ?? 1) - 1;
          if (n <= 0) this.#watchesByKey.delete(key);
          else this.#watchesByKey.set(key, n);
        },
      };
      this.#watches.add(handle);
      this.#watchesByKey.set(key, mine + 1);
      if (req.initial) {
        try {
          let cursor: string | undefined;
          let sent = 0;
          do {
            const page = await this.store.query({ ...filters, limit: 500, ...(cursor ? { cursor } : {}) }, view);
            for (const r of page.records) {
              if (closed) return handle;
              this.#stats.watchEvents++;
              sink.send({ v: 1, type: 'put', record: asBin(r.bytes) });
            }
            sent += page.records.length;
            cursor = page.cursor;
          } while (cursor !== undefined && sent < this.#maxSnapshot && !closed);
        } catch (err) {
          handle.close();
          throw err;
        }
        const pending = buffered ?? [];
        buffered = null;
        if (!closed) {
          this.#stats.watchEvents++;
          sink.send({ v: 1, type: 'synced' });
          for (const m of pending) emit(m);
        }
      }
      return handle;
    } catch (err) {
      throw this.#refused(err);
    }
  }

  /** A watch whose reader fell behind was dropped (server.ts decides when). */
  countOverflow(): void {
    this.#stats.watchOverflows++;
  }

  /** Closes every watch (the store is closed by its owner). */
  close(): void {
    for (const w of [...this.#watches]) w.close();
  }

  #refused(err: unknown): HublessError {
    const e = err instanceof HublessError
      ? err
      : new HublessError('ERR_HUBLESS_INTERNAL', 'the directory failed to handle the request', { cause: err });
    this.countRefusal(e.code);
    return e;
  }

  #limit(op: Op, peer: DirectoryPeer): void {
    const [perKey, perSource] = WRITES.has(op)
      ? [this.#writesPerKey, this.#writesPerSource]
      : [this.#readsPerKey, this.#readsPerSource];
    const key = keyHex(peer.publicKey);
    if (!perKey.take(key)) {
      throw protocolError(ProtocolCodes.RATE_LIMITED, `rate limit of this key exceeded (${WRITES.has(op) ? 'writes' : 'reads'}); retry later`);
    }
    if (!perSource.take(peer.host)) {
      perKey.refund(key);
      throw protocolError(ProtocolCodes.RATE_LIMITED, `rate limit of source ${peer.host} exceeded; retry later`);
    }
  }

  #lease(leaseUntil: number, peer: DirectoryPeer): LeaseAnswer {
    return { v: 1, leaseUntil, leaseMs: this.leaseMs, observed: { host: peer.host, port: peer.port } };
  }

  async #owned(address: string, peer: DirectoryPeer, op: string) {
    const current = await this.store.get(address, { unrestricted: true });
    if (current === undefined) throw protocolError(ProtocolCodes.NOT_REGISTERED, `${address} has no live record: register first`);
    if (!sameKey(current.record.publicKey, peer.publicKey)) {
      throw protocolError(ProtocolCodes.NOT_OWNER, `the record of ${address} belongs to another key: cannot ${op} it`);
    }
    return current;
  }

  /** The operation; lookups (the hot path) answer from the store's promise without another async frame. */
  #dispatch(req: DirectoryRequest, peer: DirectoryPeer, encoded: boolean): Promise<unknown> {
    if (req.op === 'query') {
      return this.store.query(req.query, { viewer: new Uint8Array(peer.publicKey) }).then(encoded ? this.#encodedQueryAnswer : queryAnswer);
    }
    return this.#dispatchOther(req, peer);
  }

  async #dispatchOther(req: DirectoryRequest, peer: DirectoryPeer): Promise<unknown> {
    const now = this.#now();
    switch (req.op) {
      case 'register': {
        const signed = verifyRecord(req.record, { now });
        if (!sameKey(signed.record.publicKey, peer.publicKey)) {
          throw protocolError(ProtocolCodes.NOT_OWNER, `the record of ${signed.record.address} is signed by another key than this session's`);
        }
        await checkBinding(signed.record, this.#verifyBinding);
        const r = await this.store.put(signed, { leaseUntil: now + this.leaseMs });
        return this.#lease(r.leaseUntil, peer);
      }
      case 'renew': {
        const current = await this.#owned(req.address, peer, 'renew');
        const until = Math.min(now + this.leaseMs, current.record.expiresAt);
        if (!(await this.store.renew(current.record.address, until))) {
          throw protocolError(ProtocolCodes.NOT_REGISTERED, `${req.address} has no live record: register first`);
        }
        return this.#lease(until, peer);
      }
      case 'deregister': {
        let current;
        try {
          current = await this.#owned(req.address, peer, 'deregister');
        } catch (err) {
          if ((err as HublessError).code === ProtocolCodes.NOT_REGISTERED) return { v: 1, removed: false };
          throw err;
        }
        return { v: 1, removed: await this.store.remove(current.record.address) };
      }
      case 'get': {
        const view = { viewer: new Uint8Array(peer.publicKey) };
        if (req.hostname !== undefined) {
          const problem = hostnameProblem(req.hostname);
          if (problem) throw directoryError(DirectoryCodes.BAD_QUERY, `hostname: ${problem}`);
        }
        const r = req.address !== undefined
          ? await this.store.get(req.address, view)
          : await this.store.getByHostname(req.hostname!, view);
        return { v: 1, record: r === undefined ? null : asBin(r.bytes) };
      }
      case 'query':
        return queryAnswer(await this.store.query(req.query, { viewer: new Uint8Array(peer.publicKey) }));
    }
  }
}

function queryAnswer(page: QueryPage): { v: 1; records: Uint8Array[]; cursor?: string } {
  const records: Uint8Array[] = new Array(page.records.length);
  for (let i = 0; i < records.length; i++) records[i] = asBin(page.records[i].bytes);
  return page.cursor === undefined ? { v: 1, records } : { v: 1, records, cursor: page.cursor };
}

