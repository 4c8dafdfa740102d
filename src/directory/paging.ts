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
 * One page's walk, shared by the synchronous and the asynchronous collectPage: it hands out batch
 * sizes (just enough for a full page when every candidate matches, the common case when walking
 * the index of a queried capability; growing for sparse matches) and keeps the live, visible,
 * matching records of each batch until the page is full, the source is exhausted or the scan
 * budget is spent.
 */
class PageWalk {
  readonly records: SignedRecord[] = [];
  after: string | undefined;
  #examined = 0;
  #batch: number;

  constructor(readonly q: NormalizedQuery, readonly view: ViewOptions, readonly now: number, readonly budget: number) {
    this.after = q.after;
    this.#batch = q.limit + 1;
  }

  /** Keys to ask the source for next, or 0 when the budget is spent. */
  want(): number {
    if (this.#examined >= this.budget) return 0;
    const want = Math.min(this.#batch, this.budget - this.#examined);
    this.#batch = Math.min(this.#batch * 4, 1024);
    return want;
  }

  /** Takes one batch (`record(i)` loads keys[i]); the page when it is complete, else null. */
  take(keys: string[], want: number, record: (i: number) => StoredRecord | undefined): QueryPage | null {
    if (keys.length === 0) return { records: this.records };
    for (let i = 0; i < keys.length; i++) {
      this.#examined++;
      this.after = keys[i];
      const s = record(i);
      if (s !== undefined && s.leaseUntil > this.now && matches(s.signed.record, this.q, this.view)) {
        this.records.push(s.signed);
        if (this.records.length === this.q.limit) {
          const exhausted = i === keys.length - 1 && keys.length < want;
          return exhausted ? { records: this.records } : { records: this.records, cursor: encodeCursor(this.after, this.q) };
        }
      }
    }
    return keys.length < want ? { records: this.records } : null; // short batch: the source is exhausted
  }

  /** The page when the budget ran out: what was found, and a cursor to go on from. */
  end(): QueryPage {
    return { records: this.records, cursor: encodeCursor(this.after!, this.q) };
  }
}

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
  const walk = new PageWalk(q, view, now, budget);
  for (let want = walk.want(); want > 0; want = walk.want()) {
    const keys = source(walk.after, want);
    const page = walk.take(keys, want, (i) => load(keys[i]));
    if (page !== null) return page;
  }
  return walk.end();
}

export async function collectPage(
  q: NormalizedQuery,
  view: ViewOptions,
  now: number,
  source: KeySource,
  load: (keys: string[]) => Promise<(StoredRecord | undefined)[]>,
  budget = SCAN_BUDGET,
): Promise<QueryPage> {
  const walk = new PageWalk(q, view, now, budget);
  for (let want = walk.want(); want > 0; want = walk.want()) {
    const keys = await source(walk.after, want);
    const loaded = keys.length > 0 ? await load(keys) : [];
    const page = walk.take(keys, want, (i) => loaded[i] ?? undefined);
    if (page !== null) return page;
  }
  return walk.end();
}
