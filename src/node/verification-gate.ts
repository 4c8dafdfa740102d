// Admission of address-binding checks for incoming initiations (docs/PROTOCOL.md, "Binding checks
// under load"). A first contact's binding costs one Argon2id evaluation (~30 ms of thread pool),
// and throw-away keys cost an attacker next to nothing, so these checks are the responder's most
// expensive resource; the initiation-rate cookie threshold (1,000/s) is far too high to protect
// them. Two rules:
//
// 1. Binding checks count toward "under load": more than `loadThreshold` checks asked for in the
//    current or the previous one-second window (admitted or not), or `loadThreshold` in flight,
//    and every initiation must carry a valid mac2. A flood of new keys therefore soon has to come
//    from an address that can receive the cookie reply: no spoofed sources.
// 2. Under load, each proven source address (IPv4 address, IPv6 /64) has a budget: at most
//    `perSource` checks in flight, and a token bucket of `perSourceRate` checks per second (burst
//    2×). Over budget, the initiation is dropped (`sourceBusy`) and the initiator's retransmission
//    timer tries again. One source can never hold every slot of `maxPendingVerifications`, so a new
//    peer elsewhere still gets its check run.
//
// Off load no budget is charged: the source is not proven then (anyone could spend a victim's
// budget by spoofing its address), and at most `loadThreshold` checks per second get in that way.
// Only cache misses reach the gate: a peer whose binding is known costs nothing and is never limited.
import { LoadMeter } from '../handshake/cookie.js';

export interface VerificationGateOptions {
  /** Binding checks per second (asked for), or in flight, above which the node is under load (0 = always). */
  loadThreshold: number;
  /** Checks in flight per source address, under load. */
  perSource: number;
  /** Checks started per second per source address, under load (bucket of twice as many). */
  perSourceRate: number;
  /** Most sources remembered (default 16,384); idle ones are forgotten first. */
  maxSources?: number;
  now?: () => number;
}

interface SourceState {
  inFlight: number;
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/** What admit() hands out: the source's state, or null for a check not charged to a source. */
export type VerificationTicket = SourceState | null;

export class VerificationGate {
  /** Binding checks admitted and not finished. */
  inFlight = 0;
  readonly #meter: LoadMeter;
  readonly #loadThreshold: number;
  readonly #perSource: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #now: () => number;
  readonly #sources = new Map<string, SourceState>();

  constructor(o: VerificationGateOptions) {
    this.#now = o.now ?? Date.now;
    this.#meter = new LoadMeter(o.loadThreshold, this.#now);
    this.#loadThreshold = o.loadThreshold;
    this.#perSource = o.perSource;
    this.#rate = o.perSourceRate / 1000;
    this.#burst = Math.max(1, 2 * o.perSourceRate);
    this.#maxSources = o.maxSources ?? 16_384;
  }

  /** True while binding checks demand cookies. */
  get underLoad(): boolean {
    return this.inFlight >= this.#loadThreshold || this.#meter.underLoad;
  }

  /** Source addresses with a budget in use. */
  get sources(): number {
    return this.#sources.size;
  }

  /**
   * Asks for one binding check. `source`: the proven source key (under load), or null (off load:
   * not charged). Returns a ticket to hand back to done(), or false when the source is over budget.
   */
  admit(source: string | null): VerificationTicket | false {
    this.#meter.hit();
    if (source === null) {
      this.inFlight++;
      return null;
    }
    const now = this.#now();
    let s = this.#sources.get(source);
    if (s === undefined) {
      s = { inFlight: 0, tokens: this.#burst, at: now };
      this.#sources.set(source, s);
      if (this.#sources.size > this.#maxSources) this.#evictIdle();
    } else {
      this.#refill(s, now);
    }
    if (s.inFlight >= this.#perSource || s.tokens < 1) return false;
    s.tokens -= 1;
    s.inFlight++;
    this.inFlight++;
    return s;
  }

  done(ticket: VerificationTicket): void {
    this.inFlight--;
    if (ticket !== null) ticket.inFlight--;
  }

  /** Forgets sources with nothing in flight and a full bucket (they are back to the default). */
  prune(): void {
    const now = this.#now();
    for (const [k, s] of this.#sources) {
      if (s.inFlight !== 0) continue;
      this.#refill(s, now);
      if (s.tokens >= this.#burst) this.#sources.delete(k);
    }
  }

  #refill(s: SourceState, now: number): void {
    if (now > s.at) {
      s.tokens = Math.min(this.#burst, s.tokens + (now - s.at) * this.#rate);
      s.at = now;
    }
  }

  /** Over the size bound: drop the oldest sources with nothing in flight (their buckets restart full). */
  #evictIdle(): void {
    for (const [k, s] of this.#sources) {
      if (this.#sources.size <= this.#maxSources) return;
      if (s.inFlight === 0) this.#sources.delete(k);
    }
  }
}

/**
 * The budget key of a source address: an IPv4 address as is (also when v4-mapped), an IPv6
 * address by its /64 (one subscriber usually holds a whole /64).
 */
export function sourceKey(address: string): string {
  const zone = address.indexOf('%');
  const a = (zone >= 0 ? address.slice(0, zone) : address).toLowerCase();
  if (!a.includes(':')) return a;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped !== null) return mapped[1];
  const double = a.indexOf('::');
  let groups: string[];
  if (double < 0) {
    groups = a.split(':');
  } else {
    const head = double === 0 ? [] : a.slice(0, double).split(':');
    const tail = double + 2 >= a.length ? [] : a.slice(double + 2).split(':');
    groups = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  }
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}
