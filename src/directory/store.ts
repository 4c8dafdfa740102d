// The storage contract of the directory server, shared by the embedded (lmdb) and the Redis
// store. The store keeps signed records exactly as verified (bytes), keyed by node id, and
// enforces the invariants a directory must not lose under concurrency:
//   - per key, sequence numbers only go up (replayed or stale records are refused);
//   - a node id belongs to one key while its record is live (ADDRESS_TAKEN otherwise);
//   - a hostname belongs to one key while its record is live (HOSTNAME_TAKEN otherwise).
// Presence is a lease: live while now < leaseUntil (at most the record's signed expiresAt).
// Expired records drop out of reads at once and are deleted by sweep(), which also emits
// the `leave`/`expired` watch events. Callers verify records (verifyRecord, checkBinding)
// before put; stores trust their own contents and do not re-verify signatures on read.
import { Address } from '../identity/address.js';
import { DirectoryCodes, directoryError } from './codes.js';
import type { DirectoryQuery, ViewOptions } from './query.js';
import type { SignedRecord } from './record-types.js';

export interface PutOptions {
  /** Presence lease end (ms epoch); capped at record.expiresAt, which is the default. */
  leaseUntil?: number;
}

export interface PutResult {
  leaseUntil: number;
  /** The record this one replaced (same node id), if any. */
  previous?: SignedRecord;
}

/**
 * A store that serves the same page again (LmdbDirectoryStore's page cache) marks each copy it
 * hands out with this non-enumerable property: one object per distinct page, so that what is
 * derived from a page (the directory's encoded answer) can be kept for as long as that object.
 */
export const PAGE_ORIGIN: unique symbol = Symbol('hubless.pageOrigin');

export interface QueryPage {
  records: SignedRecord[];
  /** Present when there may be more results: pass it back as `query.cursor`. */
  cursor?: string;
}

export type ChangeEvent =
  /** A record now matching the watched query was registered or updated. */
  | { type: 'put'; key: string; address: string; record: SignedRecord }
  /** A record that matched no longer does: updated away, removed, or its lease expired. */
  | { type: 'leave'; key: string; address: string; reason: 'changed' | 'removed' | 'expired' };

export type ChangeListener = (event: ChangeEvent) => void;

export interface Watch {
  close(): void;
}

export interface DirectoryStore {
  /**
   * Stores a verified record. Resolves only once the write is durable (lmdb: synced commit;
   * Redis: acknowledged by the server). Rejects with ERR_HUBLESS_STALE_RECORD,
   * ERR_HUBLESS_ADDRESS_TAKEN, ERR_HUBLESS_HOSTNAME_TAKEN or ERR_HUBLESS_RECORD_EXPIRED.
   */
  put(record: SignedRecord, options?: PutOptions): Promise<PutResult>;
  /** The live record at exactly this address, if visible to the viewer. */
  get(address: string, view?: ViewOptions): Promise<SignedRecord | undefined>;
  /** The live record holding this hostname, if visible to the viewer. */
  getByHostname(hostname: string, view?: ViewOptions): Promise<SignedRecord | undefined>;
  /** One page of live, visible records matching the query, in ascending node-id order. */
  query(query: DirectoryQuery, view?: ViewOptions): Promise<QueryPage>;
  /** Heartbeat: extends the lease of a live record (never past its expiresAt). False if not live. */
  renew(address: string, leaseUntil: number): Promise<boolean>;
  /** Deregisters the record at this address. False if there was none. */
  remove(address: string): Promise<boolean>;
  /** Deletes records whose lease ended and emits their leave events. Returns how many. */
  sweep(): Promise<number>;
  /** Calls `listener` for changes to records matching `query` (limit/cursor ignored). */
  watch(query: DirectoryQuery, listener: ChangeListener, view?: ViewOptions): Watch;
  close(): Promise<void>;
}

/** Routes small opaque messages between directory replicas (NAT traversal signals). */
export interface SignalBus {
  publishSignal(channel: string, payload: Uint8Array): Promise<void>;
  /** Resolves once subscribed; the returned function unsubscribes this handler. */
  onSignal(channel: string, handler: (payload: Buffer) => void): Promise<() => Promise<void>>;
}

export interface StoreOptions {
  /** Clock (ms epoch); injectable for tests. */
  now?: () => number;
  /** Period of the automatic sweep; 0 disables it (then call sweep() yourself). Default 1000. */
  sweepIntervalMs?: number;
}

/** The store key of an address: its node id as 8 lowercase hex digits (sorts numerically). */
export function recordKey(address: string): string {
  let a: Address;
  try {
    a = Address.parse(address);
  } catch (err) {
    throw directoryError(DirectoryCodes.BAD_QUERY, (err as Error).message, err);
  }
  return a.node.toString(16).padStart(8, '0');
}

/** Lease ends are integer ms epochs (they are index keys and Redis scores). */
export function checkLeaseTime(t: unknown): void {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
    throw directoryError(DirectoryCodes.BAD_ARGUMENT, 'leaseUntil must be an integer ms epoch');
  }
}

/** The lease a put grants: the requested end, capped by the record's signed expiry. */
export function effectiveLease(record: SignedRecord, options: PutOptions | undefined, now: number): number {
  if (options?.leaseUntil !== undefined) checkLeaseTime(options.leaseUntil);
  const lease = Math.min(record.record.expiresAt, options?.leaseUntil ?? record.record.expiresAt);
  if (lease <= now) throw directoryError(DirectoryCodes.RECORD_EXPIRED, `record of ${record.record.address} is expired`);
  return lease;
}

const CHANNEL_RE = /^[A-Za-z0-9:._-]{1,128}$/;

export function checkSignalChannel(channel: string): void {
  if (typeof channel !== 'string' || !CHANNEL_RE.test(channel)) {
    throw directoryError(DirectoryCodes.BAD_ARGUMENT, 'signal channel must be 1..128 of [A-Za-z0-9:._-]');
  }
}
