// Embedded directory store on LMDB (the `lmdb` package): no server, crash-safe, multi-reader.
//
// Durability: the environment is opened with `overlappingSync: false` and without `noSync` /
// `noMetaSync`, so LMDB's commit itself fsyncs data and meta page before the commit promise
// resolves; put() awaits that commit (and `flushed`, a no-op then) before resolving. An
// acknowledged put therefore survives kill -9 and power loss. The default overlappingSync
// would resolve on commit and flush later: fine after kill -9 (the page cache survives) but
// not after a power cut, and the directory's contract is "no acknowledged write lost".
// Writes in one event turn share one transaction, so the fsync cost is shared under load.
// (Checked with strace: one fdatasync of the data file precedes each acknowledgement.)
//
// Layout (sub-databases of one environment):
//   records  node id (8 hex) → leaseUntil (f64 BE) ‖ expiresAt (f64 BE) ‖ signed record bytes
//            (raw binary, no value encoding: reads are one lookup and a cache check)
//   hosts    hostname → node id
//   index    "c <capability> <id>", "g <group> <id>", "e <leaseUntil, 16 digits> <id>" → 1
// Every put/renew/remove/sweep updates the record and its index entries in one transaction,
// so indexes never disagree with records, even after a crash.
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { DirectoryCodes, directoryError } from './codes.js';
import { collectPageSync, planQuery, type StoredRecord, type SyncKeySource } from './paging.js';
import { conflictMessage, putConflict } from './put-rules.js';
import { validateQuery, visibleTo, type DirectoryQuery, type NormalizedQuery, type ViewOptions } from './query.js';
import { RecordCache } from './record-cache.js';
import type { AgentRecord, SignedRecord } from './record-types.js';
import { WatchHub, type Change } from './watch-hub.js';
import { HublessError } from '../errors.js';
import {
  PAGE_ORIGIN, checkLeaseTime, checkSignalChannel, effectiveLease, recordKey, type ChangeListener, type DirectoryStore,
  type PutOptions, type PutResult, type QueryPage, type SignalBus, type StoreOptions, type Watch,
} from './store.js';

export interface LmdbStoreOptions extends StoreOptions {
  /** Directory holding the LMDB environment (created if missing). */
  path: string;
  /** Decoded records kept in memory for reads. Default 100,000. */
  cacheSize?: number;
}

/** A view of a records value, valid only until the next lmdb read: consume it at once. */
type Row = Buffer;
const ROW_HEADER = 16;
const rowLease = (row: Row) => row.readDoubleBE(0);
const rowExpiry = (row: Row) => row.readDoubleBE(8);
const rowBytes = (row: Row) => row.subarray(ROW_HEADER);

function packRow(leaseUntil: number, expiresAt: number, bytes: Uint8Array): Buffer {
  const row = Buffer.allocUnsafe(ROW_HEADER + bytes.length);
  row.writeDoubleBE(leaseUntil, 0);
  row.writeDoubleBE(expiresAt, 8);
  row.set(bytes, ROW_HEADER);
  return row;
}

const SWEEP_BATCH = 1000;
/** Query pages kept for repeated queries (see #pages). */
const PAGE_CACHE = 1024;
/** A kept page is recomputed at least this often (a safety net; writes and leases already invalidate it). */
const PAGE_MAX_AGE_MS = 1000;

interface CachedPage {
  /** The store's generation when it was computed: any write since makes it stale. */
  generation: number;
  /** When it was computed (a clock that went back makes it stale too). */
  at: number;
  /** The earliest lease among its records: once one ends, the page is stale. */
  until: number;
  page: QueryPage;
}

/** The cache key of a validated query: every field that shapes its page. */
function pageKey(q: NormalizedQuery): string {
  return JSON.stringify([q.address, q.hostname, q.group, q.allOf, q.anyOf, q.limit, q.after]);
}

/** A copy of a kept page for a caller, marked with the kept page as its origin (PAGE_ORIGIN). */
function copyPage(p: QueryPage, origin: QueryPage): QueryPage {
  const copy: QueryPage = p.cursor === undefined ? { records: p.records.slice() } : { records: p.records.slice(), cursor: p.cursor };
  Object.defineProperty(copy, PAGE_ORIGIN, { value: origin });
  return copy;
}

/** No records: the sources and the unions below. */
const NONE: string[] = [];
const pad = (n: number) => String(n).padStart(16, '0');
const capKey = (name: string, id: string) => `c ${name} ${id}`;
const groupKey = (name: string, id: string) => `g ${name} ${id}`;
const expKey = (lease: number, id: string) => `e ${pad(lease)} ${id}`;

export class LmdbDirectoryStore implements DirectoryStore, SignalBus {
  readonly #root: RootDatabase;
  readonly #records: Database<Buffer, string>;
  readonly #hosts: Database<string, string>;
  readonly #index: Database<number, string>;
  readonly #now: () => number;
  readonly #hub = new WatchHub();
  readonly #cache: RecordCache;
  readonly #signals = new Map<string, Set<(payload: Buffer) => void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /**
   * Pages of recent queries (lookups repeat: many agents ask for the same capability). A page is
   * served again while the store has not changed (#generation: every put, removal and expiry
   * bumps it; a renewal only extends leases, which cannot change a page before its earliest
   * lease ends) and until the earliest lease of its records ends. Pages that saw a private record
   * depend on the viewer and are not kept.
   */
  readonly #pages = new Map<string, CachedPage>();
  #generation = 0;

  constructor(options: LmdbStoreOptions) {
    mkdirSync(options.path, { recursive: true });
    this.#root = open({
      path: options.path,
      noSubdir: false,
      overlappingSync: false,
      noSync: false,
      noMetaSync: false,
      maxDbs: 4,
    });
    this.#records = this.#root.openDB<Buffer, string>({ name: 'records', encoding: 'binary' });
    this.#hosts = this.#root.openDB<string, string>({ name: 'hosts' });
    this.#index = this.#root.openDB<number, string>({ name: 'index' });
    this.#now = options.now ?? Date.now;
    this.#cache = new RecordCache(options.cacheSize);
    const every = options.sweepIntervalMs ?? 1000;
    if (every > 0) {
      this.#timer = setInterval(() => void this.sweep().catch(() => {}), every);
      this.#timer.unref();
    }
  }

  #check(): void {
    if (this.#closed) throw directoryError(DirectoryCodes.STORE_CLOSED, 'directory store is closed');
  }

  #row(id: string): Row | undefined {
    // getBinaryFast avoids a copy per read (the decoded-record cache usually makes one
    // unnecessary). Its buffer is lmdb's shared one with `length` overridden as a property, so
    // take a real view of exactly that length before subarray/Buffer.from use it.
    const fast = this.#records.getBinaryFast(id);
    return fast && fast.subarray(0, fast.length);
  }

  #stored(id: string, row: Row | undefined): StoredRecord | undefined {
    return row ? { signed: this.#cache.decode(id, rowBytes(row)), leaseUntil: rowLease(row) } : undefined;
  }

  /** Writes inside a transaction; wraps backend failures, waits for the synced commit. */
  async #write<T>(action: () => T): Promise<T> {
    this.#check();
    let result: T;
    try {
      result = await this.#root.transaction(action);
      await this.#root.flushed;
    } catch (err) {
      if (err instanceof HublessError) throw err;
      throw directoryError(DirectoryCodes.STORE_FAILED, `lmdb write failed: ${(err as Error).message}`, err);
    }
    return result;
  }

  #unindex(id: string, r: AgentRecord, lease: number): void {
    for (const c of r.capabilities) this.#index.remove(capKey(c.name, id));
    for (const g of r.groups) this.#index.remove(groupKey(g, id));
    this.#index.remove(expKey(lease, id));
    if (r.hostname !== undefined && this.#hosts.get(r.hostname) === id) this.#hosts.remove(r.hostname);
  }

  #indexRecord(id: string, r: AgentRecord, lease: number): void {
    for (const c of r.capabilities) this.#index.put(capKey(c.name, id), 1);
    for (const g of r.groups) this.#index.put(groupKey(g, id), 1);
    this.#index.put(expKey(lease, id), 1);
    if (r.hostname !== undefined) this.#hosts.put(r.hostname, id);
  }

  async put(signed: SignedRecord, options?: PutOptions): Promise<PutResult> {
    const r = signed.record;
    const id = recordKey(r.address);
    effectiveLease(signed, options, this.#now()); // refuse an expired record before queueing
    const outcome = await this.#write(() => {
      // Never throw in here: a throwing callback would affect the other writes batched with it.
      const now = this.#now();
      const lease = Math.min(r.expiresAt, options?.leaseUntil ?? r.expiresAt);
      if (lease <= now) return { conflict: DirectoryCodes.RECORD_EXPIRED, storedSeq: undefined };
      const existing = this.#stored(id, this.#row(id));
      const holderId = r.hostname === undefined ? undefined : this.#hosts.get(r.hostname);
      const holder = holderId !== undefined && holderId !== id ? this.#stored(holderId, this.#row(holderId)) : undefined;
      const conflict = putConflict(r, existing, holder, now);
      if (conflict) return { conflict, storedSeq: existing?.signed.record.seq };
      if (existing) this.#unindex(id, existing.signed.record, existing.leaseUntil);
      this.#records.put(id, packRow(lease, r.expiresAt, signed.bytes));
      this.#indexRecord(id, r, lease);
      return { lease, existing, now };
    });
    if ('conflict' in outcome) throw directoryError(outcome.conflict!, conflictMessage(outcome.conflict!, r, outcome.storedSeq));
    const after = { signed, leaseUntil: outcome.lease };
    this.#dispatch({ key: id, cause: 'put', before: outcome.existing, after });
    return outcome.existing ? { leaseUntil: outcome.lease, previous: outcome.existing.signed } : { leaseUntil: outcome.lease };
  }

  #dispatch(change: Change): void {
    this.#generation++;
    if (this.#hub.size > 0) this.#hub.dispatch(change, this.#now());
  }

  #live(id: string | undefined, view: ViewOptions | undefined): StoredRecord | undefined {
    if (id === undefined) return undefined;
    const row = this.#row(id);
    if (!row || rowLease(row) <= this.#now()) return undefined;
    const s = this.#stored(id, row)!;
    return visibleTo(s.signed.record, view) ? s : undefined;
  }

  async get(address: string, view?: ViewOptions): Promise<SignedRecord | undefined> {
    this.#check();
    const s = this.#live(recordKey(address), view);
    return s && s.signed.record.address === address ? s.signed : undefined;
  }

  async getByHostname(hostname: string, view?: ViewOptions): Promise<SignedRecord | undefined> {
    this.#check();
    if (typeof hostname !== 'string') return undefined;
    const s = this.#live(this.#hosts.get(hostname), view);
    return s && s.signed.record.hostname === hostname ? s.signed : undefined;
  }

  #indexSource(prefix: string): SyncKeySource {
    return (after, n) => {
      const keys: string[] = [];
      const start = after === undefined ? prefix : prefix + after;
      for (const k of this.#index.getKeys({ start, end: `${prefix}g`, exclusiveStart: after !== undefined, limit: n })) {
        keys.push((k as string).slice(prefix.length));
      }
      return keys;
    };
  }

  #source(q: NormalizedQuery): SyncKeySource {
    const plan = planQuery(q);
    if (plan.kind === 'address' || plan.kind === 'hostname') {
      // At most one key, so exact lookups page like everything else.
      const key = plan.kind === 'address' ? recordKey(plan.address) : this.#hosts.get(plan.hostname);
      return (after) => (key !== undefined && (after === undefined || key > after) ? [key] : NONE);
    }
    if (plan.kind === 'scan') {
      return (after, n) => [...this.#records.getKeys({ start: after, exclusiveStart: after !== undefined, limit: n })] as string[];
    }
    const sources = plan.union.map((ref) => this.#indexSource(`${ref.kind === 'capability' ? 'c' : 'g'} ${ref.name} `));
    if (sources.length === 1) return sources[0];
    // Each source yields its n smallest keys > after, so the union's n smallest are among them.
    return (after, n) => [...new Set(sources.flatMap((src) => src(after, n)))].sort().slice(0, n);
  }

  async query(query: DirectoryQuery, view: ViewOptions = {}): Promise<QueryPage> {
    this.#check();
    const q = validateQuery(query);
    const now = this.#now();
    const cacheable = view.unrestricted !== true;
    const key = cacheable ? pageKey(q) : '';
    if (cacheable) {
      const hit = this.#pages.get(key);
      if (hit !== undefined) {
        // A copy of the list: callers own what they get.
        if (hit.generation === this.#generation && hit.until > now && now >= hit.at) return copyPage(hit.page, hit.page);
        this.#pages.delete(key);
      }
    }
    let until = now + PAGE_MAX_AGE_MS;
    let viewerDependent = false;
    const page = collectPageSync(q, view, now, this.#source(q), (id) => {
      const row = this.#row(id);
      if (!row) return undefined;
      const lease = rowLease(row);
      if (lease <= now) return undefined;
      const s = this.#stored(id, row)!;
      if (s.signed.record.visibility !== 'public') viewerDependent = true;
      if (lease < until) until = lease;
      return s;
    });
    if (cacheable && !viewerDependent) {
      if (this.#pages.size >= PAGE_CACHE) this.#pages.delete(this.#pages.keys().next().value!);
      const kept: QueryPage = page.cursor === undefined ? { records: page.records.slice() } : { records: page.records.slice(), cursor: page.cursor };
      this.#pages.set(key, { generation: this.#generation, at: now, until, page: kept });
      Object.defineProperty(page, PAGE_ORIGIN, { value: kept });
    }
    return page;
  }

  async renew(address: string, leaseUntil: number): Promise<boolean> {
    const id = recordKey(address);
    checkLeaseTime(leaseUntil);
    return this.#write(() => {
      const row = this.#row(id);
      if (!row || rowLease(row) <= this.#now() || this.#stored(id, row)!.signed.record.address !== address) return false;
      const old = rowLease(row);
      const lease = Math.min(leaseUntil, rowExpiry(row));
      if (lease > old) {
        const updated = Buffer.from(row);
        updated.writeDoubleBE(lease, 0);
        this.#index.remove(expKey(old, id));
        this.#index.put(expKey(lease, id), 1);
        this.#records.put(id, updated);
      }
      return true;
    });
  }

  async remove(address: string): Promise<boolean> {
    const id = recordKey(address);
    const before = await this.#write(() => {
      const s = this.#stored(id, this.#row(id));
      if (!s || s.signed.record.address !== address) return undefined;
      this.#unindex(id, s.signed.record, s.leaseUntil);
      this.#records.remove(id);
      return s;
    });
    if (!before) return false;
    this.#cache.delete(id);
    this.#dispatch({ key: id, cause: 'removed', before });
    return true;
  }

  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const gone = await this.#write(() => {
        const now = this.#now();
        const out: { id: string; s: StoredRecord }[] = [];
        const keys = [...this.#index.getKeys({ start: 'e ', end: `e ${pad(now + 1)}`, limit: SWEEP_BATCH })] as string[];
        for (const k of keys) {
          const id = k.slice(k.lastIndexOf(' ') + 1);
          const row = this.#row(id);
          const s = this.#stored(id, row);
          this.#index.remove(k);
          if (!s || s.leaseUntil > now || k !== expKey(s.leaseUntil, id)) continue; // stale index entry
          this.#unindex(id, s.signed.record, s.leaseUntil);
          this.#records.remove(id);
          out.push({ id, s });
        }
        return { out, more: keys.length === SWEEP_BATCH };
      });
      for (const { id, s } of gone.out) {
        this.#cache.delete(id);
        this.#dispatch({ key: id, cause: 'expired', before: s });
      }
      total += gone.out.length;
      if (!gone.more) return total;
    }
  }

  watch(query: DirectoryQuery, listener: ChangeListener, view?: ViewOptions): Watch {
    this.#check();
    return this.#hub.add(query, listener, view);
  }

  /** In-process only: one embedded directory has no replicas to route signals to. */
  async publishSignal(channel: string, payload: Uint8Array): Promise<void> {
    this.#check();
    checkSignalChannel(channel);
    const copy = Buffer.from(payload);
    for (const h of this.#signals.get(channel) ?? []) queueMicrotask(() => h(copy));
  }

  async onSignal(channel: string, handler: (payload: Buffer) => void): Promise<() => Promise<void>> {
    this.#check();
    checkSignalChannel(channel);
    let set = this.#signals.get(channel);
    if (!set) this.#signals.set(channel, (set = new Set()));
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0) this.#signals.delete(channel);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#hub.clear();
    this.#signals.clear();
    await this.#root.close();
  }
}

export function openLmdbStore(options: LmdbStoreOptions): LmdbDirectoryStore {
  return new LmdbDirectoryStore(options);
}
