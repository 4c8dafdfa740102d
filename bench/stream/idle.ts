/**
 * Part "idle": memory per open idle stream. A sender and a receiver process (with --expose-gc, not
 * pinned: nothing here is timed) set up their session (connection), take a memory snapshot
 * after full collections, open `n` streams and write one byte on each (so that both ends hold
 * every stream), wait until the receiver has them all, let them idle, and snapshot again.
 * Differences divided by n, per side: JS heap used, external (Buffers' backing stores), native
 * = RSS − V8 heap resident − external (the addon's and libuv's allocations; allocator slack
 * counts, so an upper bound), and RSS.
 */
import type { MemorySnapshot } from '../session/child-lib.js';
import type { Message } from '../lib/proc.js';
import { status } from '../lib/progress.js';
import { Pair } from './group.js';
import { PEERS } from './peers/index.js';

export interface PerStream {
  heapUsed: number;
  external: number;
  native: number;
  rss: number;
}

export interface IdleResult {
  peer: string;
  label: string;
  streams: number;
  /** Streams the receiver had (bytes it got: one per stream) when the "after" snapshot was taken. */
  received: number;
  openSeconds: number;
  sender: { before: MemorySnapshot; after: MemorySnapshot; perStream: PerStream };
  receiver: { before: MemorySnapshot; after: MemorySnapshot; perStream: PerStream };
}

const IDLE_SECONDS = 2;

function perStream(b: MemorySnapshot, a: MemorySnapshot, n: number): PerStream {
  const nativeOf = (m: MemorySnapshot): number => m.rss - m.heapPhysical - m.external;
  return {
    heapUsed: (a.heapUsed - b.heapUsed) / n,
    external: (a.external - b.external) / n,
    native: (nativeOf(a) - nativeOf(b)) / n,
    rss: (a.rss - b.rss) / n,
  };
}

export async function runIdleStreams(peer: string, n: number): Promise<IdleResult> {
  const g = new Pair();
  const label = `[stream] idle ${peer}`;
  const base = { peer, maxStreams: n + 16, label, watchdogSeconds: 300, host: '127.0.0.1', peerHost: '127.0.0.1' };
  const extras = { nodeArgs: ['--expose-gc'] };
  try {
    status(`${label}: starting`);
    const rx = g.spawn(`${peer} idle receiver`, { ...base, role: 'receiver' }, null, extras);
    const tx = g.spawn(`${peer} idle sender`, { ...base, role: 'sender' }, null, extras);
    const [rr, tr] = await g.guard(Promise.all([rx.next('ready', 60_000), tx.next('ready', 60_000)]));
    await g.call(rx, 'setup', { peerInfo: tr.info, txKey: '22'.repeat(32), rxKey: '11'.repeat(32) }, 30_000);
    await g.call(tx, 'setup', { peerInfo: rr.info, txKey: '11'.repeat(32), rxKey: '22'.repeat(32) }, 30_000);
    type Mem = Message & { memory: MemorySnapshot };
    const [rb, tb] = await Promise.all([g.call<Mem>(rx, 'memory', {}, 30_000), g.call<Mem>(tx, 'memory', {}, 30_000)]);
    const t0 = performance.now();
    status(`${label}: opening ${n} streams`);
    await g.call(rx, 'accept', { n }, 60_000);
    await g.call(tx, 'open', { n }, 120_000);
    await g.call(tx, 'poke', {}, 30_000);
    let received = 0;
    const deadline = Date.now() + 60_000;
    while (received < n && Date.now() < deadline) {
      received = (await g.call<Message & { bytes: number }>(rx, 'mark', {}, 10_000)).bytes;
      status(`${label}: ${received}/${n} streams arrived`);
      if (received < n) await g.sleep(0.1);
    }
    const openSeconds = (performance.now() - t0) / 1000;
    status(`${label}: idle ${IDLE_SECONDS} s`);
    await g.sleep(IDLE_SECONDS);
    const [ra, ta] = await Promise.all([g.call<Mem>(rx, 'memory', {}, 30_000), g.call<Mem>(tx, 'memory', {}, 30_000)]);
    return {
      peer,
      label: PEERS[peer].label,
      streams: n,
      received,
      openSeconds,
      sender: { before: tb.memory, after: ta.memory, perStream: perStream(tb.memory, ta.memory, n) },
      receiver: { before: rb.memory, after: ra.memory, perStream: perStream(rb.memory, ra.memory, n) },
    };
  } finally {
    await g.stop();
  }
}
