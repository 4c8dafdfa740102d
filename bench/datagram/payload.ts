/**
 * Test payloads every datagram peer sends and every receiver verifies, cheaply but for real:
 *   [0,4)     sequence number (u32 LE)
 *   [4,8)     mixA(seq)
 *   [L-4,L)   mixB(seq)
 *   elsewhere a fixed filler, fill(i) = (i * 7 + 13) & 0xff; the receiver checks four of its bytes
 *             at an offset that moves with the sequence number, so every region of the payload
 *             gets checked across the run.
 * A receiver counts a payload valid when its length and all of these match, and counts each
 * sequence number once (duplicates are counted apart).
 */

export function mixA(seq: number): number {
  return Math.imul(seq ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
}

export function mixB(seq: number): number {
  return Math.imul((seq + 0x632be5ab) | 0, 0xc2b2ae35) >>> 0;
}

function fill(i: number): number {
  return (i * 7 + 13) & 0xff;
}

/** A payload template with the filler in place; stamp() writes the per-packet words. */
export function template(length: number): Buffer {
  if (length < 16) throw new Error('payloads are at least 16 bytes');
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = fill(i);
  return b;
}

export function stamp(b: Uint8Array, seq: number): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint32(0, seq, true);
  v.setUint32(4, mixA(seq), true);
  v.setUint32(b.byteLength - 4, mixB(seq), true);
}

/** Faster stamp for Buffers (no DataView allocation). */
export function stampBuffer(b: Buffer, seq: number): void {
  b.writeUInt32LE(seq, 0);
  b.writeUInt32LE(mixA(seq), 4);
  b.writeUInt32LE(mixB(seq), b.length - 4);
}

/** The sequence number of a valid payload of `length` bytes, or -1. */
export function verify(b: Buffer, length: number): number {
  if (b.length !== length) return -1;
  const seq = b.readUInt32LE(0);
  if (b.readUInt32LE(4) !== mixA(seq) || b.readUInt32LE(length - 4) !== mixB(seq)) return -1;
  const span = length - 12;                     // filler lives in [8, length - 4)
  const off = 8 + ((seq * 4) % (span - 3));
  for (let k = 0; k < 4; k++) if (b[off + k] !== fill(off + k)) return -1;
  return seq;
}

/** Distinct sequence numbers seen: a growable bitset. */
export class SeqSet {
  #bits = new Uint32Array(1 << 16);
  distinct = 0;
  duplicates = 0;

  add(seq: number): void {
    const w = seq >>> 5;
    if (w >= this.#bits.length) {
      let n = this.#bits.length;
      while (n <= w) n *= 2;
      const next = new Uint32Array(n);
      next.set(this.#bits);
      this.#bits = next;
    }
    const m = 1 << (seq & 31);
    if ((this.#bits[w] & m) !== 0) {
      this.duplicates++;
      return;
    }
    this.#bits[w] |= m;
    this.distinct++;
  }
}
