/**
 * What every session-section child shares: IPC replies, progress ticks, failure handling, CPU and
 * memory snapshots, and the parallel generation of identities.
 *
 * Protocol: the parent sends `{type: method, ...args}`; the child answers `{type: method + ':ok', ...}`
 * or `{type: 'error', message}` (and exits). `{type: 'tick', text}` carries progress.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { Identity } from '../../src/identity/identity.js';

export type Handler = (m: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;

export function send(m: Record<string, unknown>): void {
  if (process.connected) process.send!(m);
}

/** Progress for the parent's status line (throttled there). */
export function tick(text: string): void {
  send({ type: 'tick', text });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface CpuMs {
  userMs: number;
  systemMs: number;
}

export function cpuSince(start: NodeJS.CpuUsage): CpuMs {
  const d = process.cpuUsage(start);
  return { userMs: d.user / 1000, systemMs: d.system / 1000 };
}

/** CPU and wall time since the last mark(): what a role's `mark`/`measure` requests bracket a run with. */
export class RunClock {
  #cpu = process.cpuUsage();
  #t0 = performance.now();

  mark(): void {
    this.#cpu = process.cpuUsage();
    this.#t0 = performance.now();
  }

  read(): { cpu: CpuMs; seconds: number } {
    const cpu = cpuSince(this.#cpu);
    return { cpu, seconds: (performance.now() - this.#t0) / 1000 };
  }
}

/**
 * Runs the child: reports `ready` with what `setup` returns, then serves the parent's requests one
 * at a time until `exit`. A watchdog, the loss of the IPC channel or any uncaught error end it.
 */
export function serve(name: string, watchdogSeconds: number, setup: () => Promise<{ ready: Record<string, unknown>; handlers: Record<string, Handler>; close?: () => Promise<void> | void }>): void {
  const fail = (e: unknown): void => {
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    send({ type: 'error', message });
    process.stderr.write(`bench child ${name}: ${message}\n`);
    setTimeout(() => process.exit(1), 50);
  };
  setTimeout(() => {
    process.stderr.write(`bench child ${name}: watchdog expired after ${watchdogSeconds} s\n`);
    process.exit(70);
  }, watchdogSeconds * 1000).unref();
  process.on('disconnect', () => process.exit(0));
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  setup().then(({ ready, handlers, close }) => {
    let queue: Promise<void> = Promise.resolve();
    process.on('message', (m: { type: string } & Record<string, unknown>) => {
      queue = queue.then(async () => {
        if (m.type === 'exit') {
          await close?.();
          process.exit(0);
        }
        const h = handlers[m.type];
        if (h === undefined) throw new Error(`unknown request ${m.type}`);
        send({ type: `${m.type}:ok`, ...(await h(m)) });
      }).catch(fail);
    });
    send({ type: 'ready', ...ready });
  }, fail);
}

/**
 * `n` fresh identities. Each costs one Argon2id evaluation (~30 ms, on the libuv pool), so they
 * are made in parallel, as many at once as the pool has threads (UV_THREADPOOL_SIZE). They cannot
 * usefully be cached on disk: Identity.fromSecretKey() derives the node id again from the key.
 */
export async function generateIdentities(n: number, label: string): Promise<Identity[]> {
  const out: Identity[] = [];
  const t0 = performance.now();
  const chunk = 32;
  while (out.length < n) {
    const k = Math.min(chunk, n - out.length);
    out.push(...(await Promise.all(Array.from({ length: k }, () => Identity.generate()))));
    tick(`${label}: ${out.length}/${n} identities (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return out;
}

export interface MemorySnapshot {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** From /proc/self/status: anonymous resident memory (heap, malloc), without mapped files. */
  rssAnon: number | null;
  /** V8 heap pages actually resident (total_physical_size); heapTotal also counts committed, untouched pages. */
  heapPhysical: number;
  /** V8's own malloc'd memory (malloced_memory). */
  v8Malloced: number;
  /** Per V8 heap space: bytes used by objects, bytes resident. */
  spaces: Record<string, { used: number; physical: number }>;
}

function statusField(text: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** Memory after full collections (needs --expose-gc), with a pause for finalizers between them. */
export async function settledMemory(): Promise<MemorySnapshot> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run this child with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(60);
  }
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // not Linux
  }
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    rssAnon: statusField(status, 'RssAnon'),
    heapPhysical: h.total_physical_size,
    v8Malloced: h.malloced_memory,
    spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, { used: x.space_used_size, physical: x.physical_space_size }])),
  };
}

/** Percentiles and moments of a sample (µs in, µs out). */
export function summarize(samples: Float64Array): { count: number; p50: number; p90: number; p99: number; p999: number; mean: number; min: number; max: number; stdev: number } {
  const s = Float64Array.from(samples).sort();
  const n = s.length;
  const q = (p: number): number => (n === 0 ? NaN : s[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]);
  let sum = 0;
  for (const v of s) sum += v;
  const mean = n > 0 ? sum / n : NaN;
  let sq = 0;
  for (const v of s) sq += (v - mean) ** 2;
  return {
    count: n, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), mean,
    min: n > 0 ? s[0] : NaN, max: n > 0 ? s[n - 1] : NaN, stdev: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
  };
}

/** Writes a heap snapshot to the temp directory (the parent reads and deletes it: see heap.ts). */
export function writeHeapSnapshot(): string {
  const file = path.join(os.tmpdir(), `hubless-bench-${process.pid}-${Date.now()}.heapsnapshot`);
  return (v8 as unknown as { writeHeapSnapshot(f: string): string }).writeHeapSnapshot(file);
}
