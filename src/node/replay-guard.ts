// The greatest initiation timestamp accepted per initiator key: IK's message 1 can be replayed by
// anyone who saw it, so a responder drops an initiation whose TAI64N timestamp is not newer than
// the last one it accepted from that key (WireGuard's rule).
//
// Entries are made only after the Noise message authenticated (the sender holds the static key)
// and the node admitted the initiation (isNewer() first, accept() once admitted), never for
// unauthenticated senders nor for initiations refused for load. The map is bounded (least recently used entries go first):
// a peer forgotten this way could have an old initiation replayed; the replayer cannot read the
// response or use the keys, and a session made that way is never confirmed, so it is closed when
// its confirmation time runs out.
export class ReplayGuard {
  readonly maxEntries: number;
  // Timestamps as 12-character latin1 strings: compact, and string order is byte order.
  readonly #last = new Map<string, string>();

  constructor(maxEntries = 65_536) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#last.size;
  }

  /** True when `timestamp` is newer than the last accepted one for `key`; remembers nothing. */
  isNewer(key: string, timestamp: Buffer): boolean {
    const last = this.#last.get(key);
    return last === undefined || timestamp.toString('latin1') > last;
  }

  /** True (and remembered) when `timestamp` is newer than the last accepted one for `key`. */
  accept(key: string, timestamp: Buffer): boolean {
    const t = timestamp.toString('latin1');
    const last = this.#last.get(key);
    if (last !== undefined) {
      if (t <= last) return false;
      this.#last.delete(key);
    }
    this.#last.set(key, t);
    if (this.#last.size > this.maxEntries) this.#last.delete(this.#last.keys().next().value as string);
    return true;
  }

  /** True while `timestamp` is still the newest accepted for `key` (no later initiation overtook it). */
  isLatest(key: string, timestamp: Buffer): boolean {
    const last = this.#last.get(key);
    return last === undefined || timestamp.toString('latin1') >= last;
  }
}
