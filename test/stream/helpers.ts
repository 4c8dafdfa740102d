// Helpers for stream tests: a session pair with a stream hub on each end, and byte sources.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { openPair, type Pair } from '../transport/pair.js';
import { streamsOf, type StreamHub, type StreamOptions } from '../../src/stream/hub.js';
import type { Stream } from '../../src/stream/stream.js';

export interface StreamPair extends Pair {
  ha: StreamHub;
  hb: StreamHub;
}

export async function openStreamPair(options?: StreamOptions): Promise<StreamPair> {
  const p = await openPair();
  const ha = streamsOf(p.a, options);
  const hb = streamsOf(p.b, options);
  return { ...p, ha, hb };
}

export async function withStreamPair(fn: (p: StreamPair) => Promise<void>, options?: StreamOptions): Promise<void> {
  const p = await openStreamPair(options);
  try {
    await fn(p);
  } finally {
    p.close();
  }
}

/** Writes `total` pseudo-random bytes in `chunk`-sized pieces, honouring backpressure; returns the hash. */
export async function writeAll(s: Stream, total: number, chunk = 256 << 10, end = true): Promise<string> {
  const h = createHash('sha256');
  const block = randomBytes(Math.min(chunk, total) + 4096);
  let sent = 0, i = 0;
  while (sent < total) {
    const n = Math.min(chunk, total - sent);
    const off = (i++ * 613) % 4096;
    const piece = block.subarray(off, off + n);
    h.update(piece);
    sent += n;
    if (!s.write(piece)) await once(s, 'drain');
  }
  if (end) s.end();
  return h.digest('hex');
}

/** Reads a stream to its end with 'data' events (no async iterator: that destroys the stream at
 * the end, which resets our write side if it is still open); returns hash, length, largest chunk. */
export function readAll(s: Stream): Promise<{ hash: string; bytes: number; maxChunk: number }> {
  const h = createHash('sha256');
  let bytes = 0, maxChunk = 0;
  return new Promise((resolve, reject) => {
    s.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
      if (c.length > maxChunk) maxChunk = c.length;
    });
    s.once('end', () => resolve({ hash: h.digest('hex'), bytes, maxChunk }));
    s.once('error', reject);
    s.resume();
  });
}

export function nextStream(hub: StreamHub): Promise<Stream> {
  return new Promise((resolve) => hub.once('stream', resolve));
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => { t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); }),
  ]);
}
