// TAI64N timestamps for handshake initiations (as WireGuard uses them): 8 bytes of TAI64 seconds
// (2^62 + 10 + Unix seconds, big endian) then 4 bytes of nanoseconds (big endian), so comparing
// two timestamps is comparing 12 bytes. A responder keeps the greatest timestamp it accepted per
// initiator key and drops any initiation that is not newer: that is the replay protection of IK's
// first message.
//
// The clock below never repeats or goes backwards within a process (a timestamp not above the last
// one is bumped by 1 ns), so retransmissions and rekeys sent in the same nanosecond still count as
// newer. Across restarts it relies on the wall clock: a peer whose clock jumped back is refused
// until its clock passes the last value the responder saw (WireGuard has the same property).
import { TIMESTAMP_BYTES } from './wire.js';

const TAI64_BASE = (1n << 62n) + 10n;

export class Tai64nClock {
  #last = 0n; // nanoseconds since the Unix epoch
  readonly #nowNs: () => bigint;

  constructor(nowNs: () => bigint = wallClockNs) {
    this.#nowNs = nowNs;
  }

  /** The next timestamp: the wall clock, or 1 ns after the previous one if the clock did not advance. */
  next(): Buffer {
    let ns = this.#nowNs();
    if (ns <= this.#last) ns = this.#last + 1n;
    this.#last = ns;
    return encodeTai64n(ns);
  }
}

/** Nanoseconds since the Unix epoch from the wall clock (sub-millisecond part from the monotonic clock). */
export function wallClockNs(): bigint {
  const ms = performance.timeOrigin + performance.now();
  return BigInt(Math.floor(ms * 1000)) * 1000n;
}

export function encodeTai64n(unixNs: bigint): Buffer {
  const b = Buffer.alloc(TIMESTAMP_BYTES);
  b.writeBigUInt64BE(TAI64_BASE + unixNs / 1_000_000_000n, 0);
  b.writeUInt32BE(Number(unixNs % 1_000_000_000n), 8);
  return b;
}

/** Unix time in nanoseconds of a TAI64N timestamp (for logs and tests). */
export function decodeTai64n(b: Uint8Array): bigint {
  const buf = Buffer.from(b.buffer, b.byteOffset, TIMESTAMP_BYTES);
  return (buf.readBigUInt64BE(0) - TAI64_BASE) * 1_000_000_000n + BigInt(buf.readUInt32BE(8));
}

/** > 0 when a is newer than b. */
export function compareTimestamps(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
