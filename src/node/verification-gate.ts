// Admission of address-binding checks for incoming initiations (docs/PROTOCOL.md, "Binding checks
// under load"). A first contact's binding costs one Argon2id evaluation (~30 ms of thread pool),
// and throw-away keys cost an attacker next to nothing, so these checks are the responder's most
// expensive resource; the initiation-rate cookie threshold (1,000/s) is far too high to protect
// them. The rules:
//
// 1. Binding checks count toward "under load": more than `loadThreshold` checks asked for in the
//    current or the previous one-second window (admitted or refused, for any reason), or
//    `loadThreshold` in flight, and every initiation must carry a valid mac2. A flood of new keys
//    therefore soon has to come from an address that can receive the cookie reply: no spoofed
//    sources.
// 2. Under load, each proven source has budgets, checked first: its address (IPv4 address, IPv6
//    /64: `perSource` in flight, a token bucket of `perSourceRate` per second, burst 2×), and the
//    prefixes it belongs to (IPv4 /24 and IPv6 /56 twice that, IPv6 /48 four times that). Over any
//    of them: `sourceBusy`, and the initiator's retransmission timer tries again.
// 3. Under load the shared resources are handed out fairly. The last quarter of the slots
//    (`maxPending`) and the last quarter of a global token bucket (`globalRate` per second, burst
//    one second's worth, kept below what the thread pool can hash so that the slots drain) are
//    reserved for newcomers: sources whose top prefix (IPv4 /24, IPv6 /48) has no check in flight
//    and started none in the last second. A prefix that already holds its share is refused
//    (`sourceBusy`); only when the slots or the tokens are gone altogether is it `busy`.
//
// Off load no budget is charged (neither per source nor global): the source is not proven then
// (anyone could spend a victim's budget by spoofing its address), and at most about
// `loadThreshold` checks per second get in that way; only the slot bound applies.
// Only cache misses reach the gate: a peer whose binding is known costs nothing and is never limited.
import { LoadMeter } from '../handshake/cookie.js';

export interface VerificationGateOptions {
  /** Binding checks per second (asked for), or in flight, above which the node is under load (0 = always). */
  loadThreshold: number;
  /** Checks in flight per source address, under load. */
  perSource: number;
  /** Checks started per second per source address, under load (bucket of twice as many). */
  perSourceRate: number;
  /** Hash evaluations running at once, all of them (default 64). A quarter is kept for newcomers under load. */
  maxPending?: number;
  /** Checks started per second in all, under load (bucket of one second's worth; default 32). */
  globalRate?: number;
  /** Most budget entries remembered (default 16,384); idle ones are forgotten first. */
  maxSources?: number;
  /** Monotonic milliseconds (default performance.now: a wall-clock step must not freeze the buckets). */
  now?: () => number;
}

/** One budget: a source address or one of its prefixes. */
interface Budget {
  inFlight: number;
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
  /** When a check charged to this budget last started (ms). */
  lastStart: number;
  /** Limits are this many times the per-source ones. */
  scale: number;
}

/** What admit() hands out: the budgets charged (source first, top prefix last), or null for a check not charged. */
export type VerificationTicket = readonly Budget[] | null;

/** Why admit() refused: the source (or its prefix) is over its budget or share, or there is no room at all. */
export type VerificationRefusal = 'sourceBusy' | 'busy';

/** A top prefix that started a check this recently is not a newcomer (no reserved slot or token). */
const NEWCOMER_MS = 1000;

export class VerificationGate {
  /** Binding checks admitted and not finished. */
  inFlight = 0;
  readonly #meter: LoadMeter;
  readonly #loadThreshold: number;
  readonly #perSource: number;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxPending: number;
  readonly #reservedSlots: number;
  readonly #globalRate: number;
  readonly #globalBurst: number;
  readonly #reservedTokens: number;
  #globalTokens: number;
  #globalAt: number;
  readonly #maxSources: number;
  readonly #now: () => number;
  readonly #budgets = new Map<string, Budget>();

  constructor(o: VerificationGateOptions) {
    this.#now = o.now ?? (() => performance.now());
    this.#meter = new LoadMeter(o.loadThreshold, this.#now);
    this.#loadThreshold = o.loadThreshold;
    this.#perSource = o.perSource;
    this.#rate = o.perSourceRate / 1000;
    this.#burst = Math.max(1, 2 * o.perSourceRate);
    this.#maxPending = o.maxPending ?? 64;
    this.#reservedSlots = Math.floor(this.#maxPending / 4);
    const globalRate = o.globalRate ?? 32;
    this.#globalRate = globalRate / 1000;
    this.#globalBurst = Math.max(1, globalRate);
    this.#reservedTokens = Math.floor(this.#globalBurst / 4);
    this.#globalTokens = this.#globalBurst;
    this.#globalAt = this.#now();
    this.#maxSources = o.maxSources ?? 16_384;
  }

  /** True while binding checks demand cookies. */
  get underLoad(): boolean {
    return this.inFlight >= this.#loadThreshold || this.#meter.underLoad;
  }

  /** Budgets (source addresses and prefixes) remembered. */
  get sources(): number {
    return this.#budgets.size;
  }

  /**
   * Asks for one binding check; every call counts toward the load, admitted or not. `address`:
   * the proven source address (under load), or null (off load: nothing charged). `hashing`: hash
   * evaluations running now (the node's own included; default: the checks this gate admitted).
   * Returns a ticket to hand back to done(), or why the check is refused.
   */
  admit(address: string | null, hashing: number = this.inFlight): VerificationTicket | VerificationRefusal {
    this.#meter.hit();
    if (address === null) {
      if (hashing >= this.#maxPending) return 'busy';
      this.inFlight++;
      return null;
    }
    const now = this.#now();
    const budgets = budgetKeys(address).map(({ key, scale }) => this.#budget(key, scale, now));
    try {
      // The source's own budgets first: a source over them is refused as such, whatever the rest.
      for (const b of budgets) if (b.inFlight >= this.#perSource * b.scale || b.tokens < 1) return 'sourceBusy';
      const top = budgets[budgets.length - 1];
      const newcomer = top.inFlight === 0 && now - top.lastStart >= NEWCOMER_MS;
      this.#refillGlobal(now);
      if (!newcomer && (hashing >= this.#maxPending - this.#reservedSlots || this.#globalTokens < 1 + this.#reservedTokens)) {
        return 'sourceBusy'; // the prefix already has its share; the rest is kept for newcomers
      }
      if (hashing >= this.#maxPending || this.#globalTokens < 1) return 'busy';
      for (const b of budgets) {
        b.tokens -= 1;
        b.inFlight++;
        b.lastStart = now;
      }
      this.#globalTokens -= 1;
      this.inFlight++;
      return budgets;
    } finally {
      if (this.#budgets.size > this.#maxSources) this.#evictIdle(budgets);
    }
  }

  done(ticket: VerificationTicket): void {
    this.inFlight--;
    if (ticket !== null) for (const b of ticket) b.inFlight--;
  }

  /** Forgets budgets with nothing in flight, a full bucket and no recent start (they are back to the default). */
  prune(): void {
    const now = this.#now();
    for (const [k, b] of this.#budgets) {
      if (b.inFlight !== 0 || now - b.lastStart < NEWCOMER_MS) continue;
      this.#refill(b, now);
      if (b.tokens >= this.#burst * b.scale) this.#budgets.delete(k);
    }
  }

  #budget(key: string, scale: number, now: number): Budget {
    let b = this.#budgets.get(key);
    if (b === undefined) {
      b = { inFlight: 0, tokens: this.#burst * scale, at: now, lastStart: -Infinity, scale };
      this.#budgets.set(key, b);
    } else {
      this.#refill(b, now);
    }
    return b;
  }

  #refill(b: Budget, now: number): void {
    if (now > b.at) {
      b.tokens = Math.min(this.#burst * b.scale, b.tokens + (now - b.at) * this.#rate * b.scale);
      b.at = now;
    }
  }

  #refillGlobal(now: number): void {
    if (now > this.#globalAt) {
      this.#globalTokens = Math.min(this.#globalBurst, this.#globalTokens + (now - this.#globalAt) * this.#globalRate);
      this.#globalAt = now;
    }
  }

  /** Over the size bound: drop the oldest budgets with nothing in flight (their buckets restart full). */
  #evictIdle(keep: readonly Budget[]): void {
    for (const [k, b] of this.#budgets) {
      if (this.#budgets.size <= this.#maxSources) return;
      if (b.inFlight === 0 && !keep.includes(b)) this.#budgets.delete(k);
    }
  }
}

/** An IPv6 address as 8 groups (a dotted IPv4 tail is 2 groups), or null when it does not parse. */
function parseIPv6(a: string): number[] | null {
  let text = a;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    // Keep the colon when it is part of a '::' ("::1.2.3.4"), else drop it ("64:ff9b::1:1.2.3.4").
    text = text[lastColon - 1] === ':' ? text.slice(0, lastColon + 1) : text.slice(0, lastColon);
  }
  const hex = (g: string): number | null => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : null);
  const want = 8 - tail.length;
  let groups: (number | null)[];
  const double = text.indexOf('::');
  if (double < 0) {
    groups = text.split(':').map(hex);
    if (groups.length !== want) return null;
  } else {
    if (text.indexOf('::', double + 1) >= 0) return null;
    const head = double === 0 ? [] : text.slice(0, double).split(':').map(hex);
    const rest = double + 2 >= text.length ? [] : text.slice(double + 2).split(':').map(hex);
    if (head.length + rest.length >= want) return null;
    groups = [...head, ...new Array<number>(want - head.length - rest.length).fill(0), ...rest];
  }
  if (groups.some((g) => g === null)) return null;
  return [...(groups as number[]), ...tail];
}

function parseIPv4(a: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (m === null) return null;
  const b = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  return b.every((x) => x <= 255) ? b : null;
}

/** The IPv4 address an address stands for: itself, v4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96); else null. */
function embeddedIPv4(g: number[]): number[] | null {
  const zero5 = g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0;
  const mapped = zero5 && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0;
  if (!mapped && !nat64) return null;
  return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff];
}

/**
 * The budgets a source address is charged to, with their scale (limits are that many times the
 * per-source ones): its own key first, its top prefix last. IPv4 (also v4-mapped, and NAT64's
 * 64:ff9b::/96, keyed by the embedded IPv4): the address ×1, its /24 ×2. IPv6: the /64 ×1, the
 * /56 ×2, the /48 ×4 (an ISP hands a subscriber a /64, a /56 or a /48).
 */
export function budgetKeys(address: string): { key: string; scale: number }[] {
  const zone = address.indexOf('%');
  const a = (zone >= 0 ? address.slice(0, zone) : address).toLowerCase();
  let v4 = a.includes(':') ? null : parseIPv4(a);
  if (a.includes(':')) {
    const g = parseIPv6(a);
    if (g === null) return [{ key: a, scale: 1 }];
    v4 = embeddedIPv4(g);
    if (v4 === null) {
      const h = (x: number): string => x.toString(16);
      return [
        { key: `${h(g[0])}:${h(g[1])}:${h(g[2])}:${h(g[3])}::/64`, scale: 1 },
        { key: `${h(g[0])}:${h(g[1])}:${h(g[2])}:${h(g[3] & 0xff00)}::/56`, scale: 2 },
        { key: `${h(g[0])}:${h(g[1])}:${h(g[2])}::/48`, scale: 4 },
      ];
    }
  }
  if (v4 === null) return [{ key: a, scale: 1 }];
  return [
    { key: v4.join('.'), scale: 1 },
    { key: `${v4[0]}.${v4[1]}.${v4[2]}.0/24`, scale: 2 },
  ];
}

/**
 * The budget key of a source address: an IPv4 address as is (also when v4-mapped or NAT64
 * 64:ff9b::/96), an IPv6 address by its /64 (one subscriber usually holds a whole /64).
 */
export function sourceKey(address: string): string {
  return budgetKeys(address)[0].key;
}
