// Token buckets for the directory server: one per requester key and one per source IP, for each
// class of request (writes are registrations and heartbeats, reads are lookups and queries).
// Buckets live in a bounded map; the least recently used are forgotten first, which only ever
// gives a forgotten requester a fresh (full) bucket, so memory stays bounded under a flood of
// new keys or addresses while the per-key limit still holds for every active requester.
import { HublessError } from '../errors.js';

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: the largest burst. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  readonly #limit: RateLimit;
  readonly #max: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: RateLimit, options: { maxEntries?: number; now?: () => number } = {}) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'a rate limit needs perSecond > 0 and burst >= 1');
    this.#limit = limit;
    this.#max = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes `cost` tokens from the bucket of `id`; false (and nothing taken) when there are not enough. */
  take(id: string, cost = 1): boolean {
    const now = this.#now();
    let b = this.#buckets.get(id);
    if (b === undefined) {
      b = { tokens: this.#limit.burst, at: now };
      if (this.#buckets.size >= this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
    } else {
      this.#buckets.delete(id); // re-inserted below: Map order is recency order
      b.tokens = Math.min(this.#limit.burst, b.tokens + ((now - b.at) / 1000) * this.#limit.perSecond);
      b.at = now;
    }
    this.#buckets.set(id, b);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /** Gives back tokens taken by a request that another limit then refused. */
  refund(id: string, cost = 1): void {
    const b = this.#buckets.get(id);
    if (b !== undefined) b.tokens = Math.min(this.#limit.burst, b.tokens + cost);
  }
}
