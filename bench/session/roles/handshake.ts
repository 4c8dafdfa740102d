/**
 * Handshake-rate children.
 *
 * Server: two responder nodes, each on its own UDP socket: `nocookie` (cookie threshold 10^9:
 * never demands a cookie) and `cookie` (the default threshold, 1,000 initiations/s). They share a
 * binding cache of their own, empty at start, so that the first handshake of each client key pays
 * the responder's Argon2id check of the initiator's address binding (first contact) and later
 * ones do not (repeat). `mark`/`measure` bracket a run with CPU times and handshake counters;
 * `profileStart`/`profileStop` sample the server's JS with the inspector (a separate, unmeasured run).
 *
 * Client: `keys` identities, one node each, all on one shared UDP socket. `run` opens sessions to
 * one server node with bounded concurrency: in `first` mode each key connects once; in `repeat`
 * mode a key closes its session and connects again (a fresh handshake with a key the responder
 * has verified: what a restarted client looks like), until the time is up.
 */
import { defaultBindingCache, VerifiedBindingCache } from '../../../src/identity/derive.js';
import { createNode, type Node } from '../../../src/node/node.js';
import type { Session } from '../../../src/session/session.js';
import { Transport } from '../../../src/transport/transport.js';
import { CpuProfiler, summarizeProfile, type ProfileSummary as FullProfileSummary } from '../../lib/cpu-profile.js';
import { cpuSince, generateIdentities, RunClock, summarize, tick, type Handler } from '../child-lib.js';

export interface HsTarget {
  name: string;
  address: string;
  publicKey: string;
  endpoint: { address: string; port: number };
}

const HOST = '127.0.0.1';

/** What the server reports of its profile (the shared summary without idle time and file). */
export type ProfileSummary = Pick<FullProfileSummary, 'totalMs' | 'self' | 'byHublessFunction'>;

type Counters = Record<string, number>;

function diff(a: Counters, b: Counters): Counters {
  const out: Counters = {};
  for (const k of Object.keys(b)) if (typeof b[k] === 'number') out[k] = b[k] - (a[k] ?? 0);
  return out;
}

function nonZero(c: Counters): Counters {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== 0));
}

export async function hsServer(): Promise<{ ready: Record<string, unknown>; handlers: Record<string, Handler>; close: () => Promise<void> }> {
  const ids = await generateIdentities(2, 'handshake server');
  const cache = new VerifiedBindingCache();
  const nodes: Record<string, Node> = {
    nocookie: await createNode({ identity: ids[0], listen: { host: HOST, port: 0 }, cookieThreshold: 1e9, bindingCache: cache }),
    cookie: await createNode({ identity: ids[1], listen: { host: HOST, port: 0 }, bindingCache: cache }),
  };
  const targets: HsTarget[] = Object.entries(nodes).map(([name, n]) => ({
    name, address: n.address.toString(), publicKey: n.publicKey.toString('hex'),
    endpoint: { address: n.endpoint.address, port: n.endpoint.port },
  }));
  const clock = new RunClock();
  let before: Record<string, { hs: Counters; drops: Counters }> = {};
  const counters = (): Record<string, { hs: Counters; drops: Counters }> => Object.fromEntries(
    Object.entries(nodes).map(([k, n]) => {
      const s = n.stats();
      return [k, { hs: { ...s.handshake } as unknown as Counters, drops: { ...s.drops } as unknown as Counters }];
    }),
  );
  const profiler = new CpuProfiler();
  let cache0 = { hits: 0, misses: 0 };
  const handlers: Record<string, Handler> = {
    mark: () => {
      before = counters();
      cache0 = { hits: cache.hits, misses: cache.misses };
      clock.mark();
      return {};
    },
    measure: () => {
      const { cpu, seconds } = clock.read();
      const after = counters();
      const perNode = Object.fromEntries(Object.keys(nodes).map((k) => [k, {
        handshake: nonZero(diff(before[k].hs, after[k].hs)),
        drops: nonZero(diff(before[k].drops, after[k].drops)),
        sessions: nodes[k].stats().sessions,
      }]));
      return {
        cpu, seconds, nodes: perNode,
        bindingCache: { size: cache.size, hits: cache.hits - cache0.hits, misses: cache.misses - cache0.misses },
      };
    },
    profileStart: async () => {
      await profiler.start(100);
      return {};
    },
    profileStop: async () => {
      const { totalMs, self, byHublessFunction } = summarizeProfile(await profiler.stop(), { idle: 'counted', top: 16 });
      return { profile: { totalMs, self, byHublessFunction } };
    },
  };
  return {
    ready: { targets },
    handlers,
    close: async () => {
      for (const n of Object.values(nodes)) await n.close();
      for (const id of ids) id.destroy();
    },
  };
}

interface Key {
  node: Node;
  sessions: Map<string, Session>;
}

export async function hsClient(cfg: { keys: number }): Promise<{ ready: Record<string, unknown>; handlers: Record<string, Handler>; close: () => Promise<void> }> {
  const ids = await generateIdentities(cfg.keys, 'handshake client');
  const transport = await Transport.open({ host: HOST, port: 0 });
  const keys: Key[] = [];
  for (const identity of ids) keys.push({ node: await createNode({ identity, transport }), sessions: new Map() });
  const handlers: Record<string, Handler> = {
    /** Verifies the servers' address bindings now, so that no run pays for them. */
    warm: async (m) => {
      const targets = m.targets as HsTarget[];
      await Promise.all(targets.map((t) => defaultBindingCache.nodeIdOf(Buffer.from(t.publicKey, 'hex'), 0)));
      return {};
    },
    /** Closes every session to one server node (before a run against another). */
    drop: (m) => {
      const name = String(m.target);
      for (const k of keys) {
        k.sessions.get(name)?.close();
        k.sessions.delete(name);
      }
      return {};
    },
    run: async (m) => {
      const target = m.target as HsTarget;
      const mode = m.mode as 'first' | 'repeat';
      const seconds = Number(m.seconds);
      const concurrency = Math.min(Number(m.concurrency), keys.length);
      const label = String(m.label);
      const idle = [...keys];
      let todo = mode === 'first' ? keys.length : Number.POSITIVE_INFINITY;
      let completed = 0;
      let failed = 0;
      const errors: Record<string, number> = {};
      const latency: number[] = [];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const deadline = t0 + seconds * 1000;
      const pk = Buffer.from(target.publicKey, 'hex');
      const progress = setInterval(() => {
        const s = (performance.now() - t0) / 1000;
        tick(`${label}: ${completed} sessions in ${s.toFixed(1)} s (${(completed / s).toFixed(0)}/s)${failed > 0 ? `, ${failed} failed` : ''}`);
      }, 250);
      const worker = async (): Promise<void> => {
        while (todo > 0 && performance.now() < deadline) {
          const k = idle.shift();
          if (k === undefined) return;
          todo--;
          k.sessions.get(target.name)?.close();
          k.sessions.delete(target.name);
          const s0 = performance.now();
          try {
            const s = await k.node.connect(target.address, { publicKey: pk, endpoint: target.endpoint, timeoutMs: 10_000 });
            latency.push((performance.now() - s0) * 1000);
            k.sessions.set(target.name, s);
            completed++;
          } catch (e) {
            failed++;
            const code = (e as { code?: string }).code ?? (e as Error).message;
            errors[code] = (errors[code] ?? 0) + 1;
          }
          idle.push(k);
        }
      };
      try {
        await Promise.all(Array.from({ length: concurrency }, worker));
      } finally {
        clearInterval(progress);
      }
      const elapsed = (performance.now() - t0) / 1000;
      const cpu = cpuSince(cpu0);
      const hs = { initiationsSent: 0, initiationsRetransmitted: 0, cookieRepliesReceived: 0, timeouts: 0 };
      for (const k of keys) {
        const s = k.node.stats().handshake;
        for (const f of Object.keys(hs) as (keyof typeof hs)[]) hs[f] += s[f];
      }
      return {
        completed, failed, errors, seconds: elapsed, cpu, concurrency,
        latencyUs: summarize(Float64Array.from(latency)),
        clientTotals: hs,
      };
    },
  };
  return {
    ready: { keys: keys.length },
    handlers,
    close: async () => {
      for (const k of keys) await k.node.close();
      transport.close();
      for (const id of ids) id.destroy();
    },
  };
}
