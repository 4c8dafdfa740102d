// Decoded-record cache for store reads. Stores keep bytes; decoding and schema-checking a
// record costs microseconds, which dominates a lookup. A hit requires identical bytes, so a
// stale entry can never be served.
import { decodeRecord } from './record.js';
import type { SignedRecord } from './record-types.js';

const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Returned records are shared between readers: treat them as read-only. */
export class RecordCache {
  readonly #max: number;
  readonly #map = new Map<string, SignedRecord>();

  constructor(max = 100_000) {
    this.#max = max;
  }

  decode(key: string, bytes: Uint8Array): SignedRecord {
    const hit = this.#map.get(key);
    if (hit && view(hit.bytes).equals(bytes)) return hit;
    const signed = decodeRecord(new Uint8Array(bytes));
    if (hit) this.#map.delete(key);
    else if (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(key, signed);
    return signed;
  }

  delete(key: string): void {
    this.#map.delete(key);
  }
}
