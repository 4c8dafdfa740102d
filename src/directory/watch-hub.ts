// In-process registry of watches. Stores report every committed change (before/after state);
// the hub decides, per watch, whether it is a `put` (the record matches now) or a `leave`
// (it matched before and no longer does). The Redis store feeds it from pub/sub, so a watch
// on one replica sees writes made through any replica.
import { HublessError } from '../errors.js';
import { matches, validateQuery, type DirectoryQuery, type NormalizedQuery, type ViewOptions } from './query.js';
import type { StoredRecord } from './paging.js';
import type { ChangeListener, Watch } from './store.js';

export interface Change {
  key: string;
  /** Why the change happened; `put` covers registrations and updates. */
  cause: 'put' | 'removed' | 'expired';
  before?: StoredRecord;
  after?: StoredRecord;
}

interface Entry {
  query: NormalizedQuery;
  view: ViewOptions;
  listener: ChangeListener;
}

export class WatchHub {
  readonly #entries = new Set<Entry>();

  get size(): number {
    return this.#entries.size;
  }

  add(query: DirectoryQuery, listener: ChangeListener, view: ViewOptions = {}): Watch {
    // A watch is about filters only: paging fields are dropped, anything else is validated.
    let filters: unknown = query;
    if (typeof query === 'object' && query !== null && !Array.isArray(query)) {
      const { limit: _limit, cursor: _cursor, ...rest } = query;
      filters = rest;
    }
    if (typeof listener !== 'function') throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'watch listener must be a function');
    const entry: Entry = { query: validateQuery(filters), view, listener };
    this.#entries.add(entry);
    return { close: () => void this.#entries.delete(entry) };
  }

  dispatch(change: Change, now: number): void {
    for (const e of this.#entries) {
      const { before, after } = change;
      const wasIn = before !== undefined && matches(before.signed.record, e.query, e.view);
      const isIn = after !== undefined && after.leaseUntil > now && matches(after.signed.record, e.query, e.view);
      const record = (after ?? before)!.signed;
      try {
        if (isIn) {
          e.listener({ type: 'put', key: change.key, address: record.record.address, record: after!.signed });
        } else if (wasIn) {
          const reason = change.cause === 'put' ? 'changed' : change.cause;
          e.listener({ type: 'leave', key: change.key, address: record.record.address, reason });
        }
      } catch (err) {
        // A throwing listener must not starve the others; surface it like an EventEmitter would.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
