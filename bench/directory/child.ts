/**
 * One process of the `directory` section: argv[2] is `{role, watchdogSeconds, ...config}`.
 *
 * - `server`: one directory (startDirectoryServer on 127.0.0.1, an embedded LMDB store in a fresh
 *   temp directory, deleted on exit), rate limits raised far above the load. `mark`/`measure`
 *   bracket a run (CPU, request counters); `fill` writes synthetic records straight into the
 *   store (no network); `memory` takes a snapshot after full GCs; `profileStart`/`profileStop`
 *   sample its JS (an unmeasured run).
 * - `agents`: `count` agent identities, one node each on one shared UDP socket, each with a session
 *   to the directory; `run` re-registers every agent in a loop (a freshly signed record with the
 *   next sequence number each time, one registration in flight per agent).
 * - `lookups`: one node (one key) that keeps `concurrency` node.find({ capability }) calls in flight
 *   (`run` may give its own `concurrency`: the in-flight level of that run).
 *
 * Protocol and helpers: ../session/child-lib.ts.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirectoryClient } from '../../src/directory/client.js';
import { resolveEntries } from '../../src/directory/entry.js';
import { signRecord } from '../../src/directory/record.js';
import { startDirectoryServer, type DirectoryServer } from '../../src/directory/server.js';
import { openLmdbStore } from '../../src/directory/store-lmdb.js';
import type { Identity } from '../../src/identity/identity.js';
import { NodeDirectoryTransport } from '../../src/node/directory-transport.js';
import { createNode, type Node } from '../../src/node/node.js';
import { Transport } from '../../src/transport/transport.js';
import { CpuProfiler, summarizeProfile } from '../lib/cpu-profile.js';
import { cpuSince, generateIdentities, RunClock, serve, settledMemory, tick, type Handler } from '../session/child-lib.js';
import { agentInput, capName, SyntheticRecords } from './records.js';

const HOST = '127.0.0.1';
const cfg = JSON.parse(process.argv[2] ?? '{}') as { role: string; watchdogSeconds: number } & Record<string, unknown>;

type Setup = ReturnType<Parameters<typeof serve>[2]>;

/** Rate limits far above any load this benchmark makes (the defaults would refuse most of it). */
const UNLIMITED = { perSecond: 1e9, burst: 1e9 };

/** Latencies in µs, growing. */
class Samples {
  #a = new Float64Array(1 << 16);
  #n = 0;
  add(v: number): void {
    if (this.#n === this.#a.length) {
      const b = new Float64Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.#n++] = v;
  }
  /** base64 of the samples (Float64, host order) for the parent. */
  encode(): string {
    return Buffer.from(this.#a.buffer, 0, this.#n * 8).toString('base64');
  }
}

/**
 * `workers` loops, each calling `op(worker)` back to back for `seconds`: every call's latency (µs)
 * when it succeeds, failures counted by error code.
 */
async function timedLoop(workers: number, seconds: number, op: (worker: number) => Promise<void>): Promise<Record<string, unknown>> {
  const samples = new Samples();
  const errors: Record<string, number> = {};
  let completed = 0;
  let failed = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    while (performance.now() < end) {
      const s = performance.now();
      try {
        await op(w);
        samples.add((performance.now() - s) * 1000);
        completed++;
      } catch (err) {
        failed++;
        const code = (err as { code?: string }).code ?? (err as Error).message;
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
  }));
  return { completed, failed, errors, seconds: (performance.now() - t0) / 1000, cpu: cpuSince(cpu), samples: samples.encode() };
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(path.join(dir, f)).size;
  return total;
}

async function serverRole(c: { profileIntervalUs?: number }): Setup {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hubless-bench-directory-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanup);
  const [identity] = await generateIdentities(1, 'directory');
  const store = openLmdbStore({ path: dir });
  const server: DirectoryServer = await startDirectoryServer({
    identity, store, listen: { host: HOST, port: 0 },
    rateLimits: { writesPerKey: UNLIMITED, writesPerSource: UNLIMITED, readsPerKey: UNLIMITED, readsPerSource: UNLIMITED },
  });
  const clock = new RunClock();
  let stats0 = server.stats();
  /** The UDP socket's and stream engine's counters, flattened (numbers only). */
  const counters = (): Record<string, number> => {
    const n = server.node.stats();
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(n.transport)) if (typeof v === 'number') out[`transport.${k}`] = v;
    for (const [k, v] of Object.entries(n.streams)) if (typeof v === 'number') out[`streams.${k}`] = v;
    return out;
  };
  let counters0 = counters();
  const profiler = new CpuProfiler();
  const handlers: Record<string, Handler> = {
    mark: () => {
      stats0 = server.stats();
      counters0 = counters();
      clock.mark();
      return {};
    },
    measure: () => {
      const { cpu, seconds } = clock.read();
      const s = server.stats();
      const refused: Record<string, number> = {};
      for (const [k, v] of Object.entries(s.refused)) if (v - (stats0.refused[k] ?? 0) > 0) refused[k] = v - (stats0.refused[k] ?? 0);
      const c = counters();
      const wire: Record<string, number> = {};
      for (const [k, v] of Object.entries(c)) if (v - (counters0[k] ?? 0) !== 0) wire[k] = v - (counters0[k] ?? 0);
      return {
        cpu, seconds, answered: s.answered - stats0.answered, refused, sessions: s.sessions, wire,
        requests: Object.fromEntries(Object.entries(s.requests).map(([k, v]) => [k, v - stats0.requests[k as keyof typeof s.requests]])),
      };
    },
    memory: async () => ({ memory: await settledMemory(), diskBytes: dirBytes(dir) }),
    /** Writes `count` synthetic records into the store, `batch` puts per transaction. */
    fill: async (m) => {
      const count = Number(m.count);
      const batch = Number(m.batch ?? 5000);
      const capabilities = Number(m.capabilities ?? 1000);
      const gen = new SyntheticRecords(capabilities);
      const t = performance.now();
      const cpu = process.cpuUsage();
      const now = Date.now();
      // A lease as long as the signed lifetime, so that nothing expires (and is swept) meanwhile.
      for (let i = 0; i < count; i += batch) {
        const puts: Promise<unknown>[] = [];
        for (let j = i; j < Math.min(count, i + batch); j++) puts.push(store.put(gen.make(j, now)));
        await Promise.all(puts);
        tick(`[directory] memory: ${(i + puts.length).toLocaleString('en-US')}/${count.toLocaleString('en-US')} records ` +
          `(${((performance.now() - t) / 1000).toFixed(1)} s)`);
      }
      return { seconds: (performance.now() - t) / 1000, cpu: cpuSince(cpu) };
    },
    profileStart: async () => {
      await profiler.start(c.profileIntervalUs ?? 100);
      return {};
    },
    profileStop: async (m) => {
      const profile = await profiler.stop();
      return { profile: summarizeProfile(profile, { idle: 'apart', top: 18, save: typeof m.save === 'string' ? m.save : undefined }) };
    },
  };
  return {
    ready: { entry: server.entry, dir },
    handlers,
    close: async () => {
      await server.close();
      await store.close();
      identity.destroy();
      cleanup();
    },
  };
}

interface Agent {
  identity: Identity;
  node: Node;
  client: DirectoryClient;
  index: number;
  seq: number;
}

async function agentsRole(c: { count: number; first: number; capabilities: number; entry: string }): Setup {
  const ids = await generateIdentities(c.count, `agents ${c.first}..${c.first + c.count - 1}`);
  const transport = await Transport.open({ host: HOST, port: 0 });
  const entries = resolveEntries([c.entry]);
  const agents: Agent[] = [];
  for (let i = 0; i < ids.length; i++) {
    const node = await createNode({ identity: ids[i], transport });
    // Generous timeouts: the first contact of many keys queues Argon2id checks on the directory.
    const client = new DirectoryClient({ entries, transport: new NodeDirectoryTransport(node), requestTimeoutMs: 30_000 });
    agents.push({ identity: ids[i], node, client, index: c.first + i, seq: 0 });
  }
  const register = async (a: Agent): Promise<void> => {
    a.seq = Math.max(a.seq + 1, Date.now());
    const signed = signRecord(agentInput(a.identity, a.index, c.capabilities, a.seq, transport.address.port, `agent-${a.index}`), a.identity);
    await a.client.register(signed);
  };
  const handlers: Record<string, Handler> = {
    /** Each agent's first contact and first registration, 16 at a time (unmeasured). */
    connect: async () => {
      const queue = [...agents];
      let done = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        for (let a = queue.shift(); a !== undefined; a = queue.shift()) {
          await a.node.connect(entries[0].publicKey, { endpoint: entries[0].endpoint, timeoutMs: 120_000 });
          await register(a);
          tick(`[directory] agents: ${++done}/${agents.length} connected and registered`);
        }
      }));
      return {};
    },
    run: (m) => timedLoop(agents.length, Number(m.seconds), (i) => register(agents[i])),
  };
  return {
    ready: { agents: agents.length },
    handlers,
    close: async () => {
      for (const a of agents) await a.node.close();
      await transport.close();
    },
  };
}

async function lookupsRole(c: { entry: string; capabilities: number; concurrency: number }): Setup {
  const [identity] = await generateIdentities(1, 'lookup client');
  const node = await createNode({
    identity, listen: { host: HOST, port: 0 }, directory: [c.entry], register: false,
    directoryOptions: { requestTimeoutMs: 10_000 },
  });
  let next = 0;
  const handlers: Record<string, Handler> = {
    /** One lookup per capability: verifies every record once (Argon2id binding check each), unmeasured. */
    warm: async () => {
      let records = 0;
      for (let i = 0; i < c.capabilities; i++) records += (await node.find({ capability: capName(i) })).records.length;
      return { records };
    },
    run: async (m) => {
      let records = 0;
      const r = await timedLoop(m.concurrency === undefined ? c.concurrency : Number(m.concurrency), Number(m.seconds), async () => {
        const cap = capName(next++ % c.capabilities);
        // Awaited first: `records += await …` would read `records` before the await and lose
        // the other workers' additions.
        const found = (await node.find({ capability: cap })).records.length;
        records += found;
      });
      return { ...r, records };
    },
  };
  return {
    ready: {},
    handlers,
    close: async () => {
      await node.close();
      identity.destroy();
    },
  };
}

const ROLES: Record<string, () => Setup> = {
  server: () => serverRole(cfg as { profileIntervalUs?: number }),
  agents: () => agentsRole(cfg as unknown as { count: number; first: number; capabilities: number; entry: string }),
  lookups: () => lookupsRole(cfg as unknown as { entry: string; capabilities: number; concurrency: number }),
};

const role = ROLES[cfg.role];
if (role === undefined) {
  process.stderr.write(`bench directory child: unknown role ${cfg.role}\n`);
  process.exit(2);
}
serve(`directory ${cfg.role}${cfg.first !== undefined ? ` ${String(cfg.first)}` : ''}`, cfg.watchdogSeconds ?? 900, role);
