// Query execution shared by the stores: pick an index to walk (the query plan), walk it in
// node-id order from the cursor, load candidates in batches, keep the live, visible, matching
// ones. A scan budget bounds the work of one page, so a query whose index is large but whose
// matches are rare returns a short page with a cursor instead of scanning everything at once.
import { encodeCursor, matches, type NormalizedQuery, type ViewOptions } from './query.js';
import type { SignedRecord } from './record-types.js';
import type { QueryPage } from './store.js';

/** Ascending keys strictly greater than `after`, at most `n` of them. */
export type KeySource = (after: string | undefined, n: number) => Promise<string[]>;

export interface StoredRecord {
  signed: SignedRecord;
  leaseUntil: number;
}

export type IndexRef = { kind: 'capability' | 'group'; name: string };

export type QueryPlan =
  | { kind: 'address'; address: string }
  | { kind: 'hostname'; hostname: string }
  | { kind: 'index'; union: IndexRef[] }
  | { kind: 'scan' };

/** Candidates examined per page at most (matches are then filtered in memory). */
export const SCAN_BUDGET = 10_000;

/**
 * Chooses what to walk: an exact key, one allOf capability index (every result must be in
 * it), the group index, the union of the anyOf capability indexes, or everything.
 */
export function planQuery(q: NormalizedQuery): QueryPlan {
  if (q.address !== undefined) return { kind: 'address', address: q.address };
  if (q.hostname !== undefined) return { kind: 'hostname', hostname: q.hostname };
  if (q.allOf.length > 0) return { kind: 'index', union: [{ kind: 'capability', name: q.allOf[0].name }] };
  if (q.group !== undefined) return { kind: 'index', union: [{ kind: 'group', name: q.group }] };
  if (q.anyOf.length > 0) {
    return { kind: 'index', union: [...new Set(q.anyOf.map((f) => f.name))].map((name) => ({ kind: 'capability' as const, name })) };
  }
  return { kind: 'scan' };
}

/** Merges sorted sources: each yields its n smallest keys > after, so the union's n smallest are among them. */
export function unionSource(sources: KeySource[]): KeySource {
  if (sources.length === 1) return sources[0];
  return async (after, n) => {
    const lists = await Promise.all(sources.map((s) => s(after, n)));
    return [...new Set(lists.flat())].sort().slice(0, n);
  };
}

/** A source holding at most one key (exact lookups), so they page like everything else. */
export function singleSource(key: string | undefined): KeySource {
  return async (after) => (key !== undefined && (after === undefined || key > after) ? [key] : []);
}

/** Ascending keys strictly greater than `after`, at most `n` of them, read synchronously (LMDB). */
export type SyncKeySource = (after: string | undefined, n: number) => string[];

/**
 * collectPage for a store whose reads are synchronous (LMDB): the same walk without a promise per
 * batch. `load(key)` gives the live stored record or undefined.
 */
export function collectPageSync(
  q: NormalizedQuery,
  view: ViewOptions,
  now: number,
  source: SyncKeySource,
  load: (key: string) => StoredRecord | undefined,
  budget = SCAN_BUDGET,
): QueryPage {
  const records: SignedRecord[] = [];
  let after = q.after;
  let examined = 0;
  let batch = q.limit + 1;
  while (examined < budget) {
    const want = Math.min(batch, budget - examined);
    batch = Math.min(batch * 4, 1024);
    const keys = source(after, want);
    if (keys.length === 0) return { records };
    for (let i = 0; i < keys.length; i++) {
      examined++;
      after = keys[i];
      const s = load(after);
      if (s !== undefined && s.leaseUntil > now && matches(s.signed.record, q, view)) {
        records.push(s.signed);
        if (records.length === q.limit) {
          const exhausted = i === keys.length - 1 && keys.length < want;
          return exhausted ? { records } : { records, cursor: encodeCursor(after, q) };
        }
      }
    }
    if (keys.length < want) return { records };
  }
  return { records, cursor: encodeCursor(after!, q) };
}

export async function collectPage(
  q: NormalizedQuery,
  view: ViewOptions,
  now: number,
  source: KeySource,
  load: (keys: string[]) => Promise<(StoredRecord | undefined)[]>,
  budget = SCAN_BUDGET,
): Promise<QueryPage> {
  const records: SignedRecord[] = [];
  let after = q.after;
  let examined = 0;
  // First batch: just enough for a full page when every candidate matches (the common case
  // when walking the index of a queried capability); later batches grow for sparse matches.
  let batch = q.limit + 1;
  while (examined < budget) {
    const want = Math.min(batch, budget - examined);
    batch = Math.min(batch * 4, 1024);
    const keys = await source(after, want);
    if (keys.length === 0) return { records };
    const loaded = await load(keys);
    for (let i = 0; i < keys.length; i++) {
      examined++;
      after = keys[i];
      const s = loaded[i];
      if (s && s.leaseUntil > now && matches(s.signed.record, q, view)) {
        records.push(s.signed);
        if (records.length === q.limit) {
          const exhausted = i === keys.length - 1 && keys.length < want;
          return exhausted ? { records } : { records, cursor: encodeCursor(after, q) };
        }
      }
    }
    if (keys.length < want) return { records }; // the source is exhausted
  }
  return { records, cursor: encodeCursor(after!, q) };
}
