/**
 * Idle-session memory children (run with --expose-gc).
 *
 * Server: `nodes` responder nodes (identities) on one shared UDP socket. Client: `keys` client
 * identities, one node each, on one shared UDP socket; every client node opens a session to every
 * server node, so keys × nodes sessions exist in each process with only keys + nodes Argon2id
 * evaluations to pay (10,000 distinct client keys would cost ~300 CPU-seconds to make and as
 * much again to verify). Both sides verify the other side's address bindings before their
 * baseline, so the binding cache (one entry per peer key) is not in the per-session figures.
 *
 * Figures come from settledMemory(): after full collections, so they are what the sessions keep,
 * not garbage the handshakes left behind.
 */
import { defaultBindingCache } from '../../../src/identity/derive.js';
import { createNode, type Node } from '../../../src/node/node.js';
import type { Session } from '../../../src/session/session.js';
import { preferredAlgorithm, Transport } from '../../../src/transport/transport.js';
import { generateIdentities, settledMemory, sleep, tick, writeHeapSnapshot, type Handler } from '../child-lib.js';

const HOST = '127.0.0.1';

export interface IdleTarget {
  address: string;
  publicKey: string;
  endpoint: { address: string; port: number };
}

export interface KeyBinding {
  publicKey: string;
  nonce: number;
}

type Setup = Promise<{ ready: Record<string, unknown>; handlers: Record<string, Handler>; close: () => Promise<void> }>;

async function verifyAll(keys: KeyBinding[], label: string): Promise<void> {
  let done = 0;
  const t0 = performance.now();
  const timer = setInterval(() => tick(`${label}: ${done}/${keys.length} address bindings verified`), 250);
  try {
    await Promise.all(keys.map(async (k) => {
      await defaultBindingCache.nodeIdOf(Buffer.from(k.publicKey, 'hex'), k.nonce);
      done++;
    }));
  } finally {
    clearInterval(timer);
  }
  tick(`${label}: ${keys.length} bindings verified in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function sessionCounts(nodes: Node[]): { sessions: number; confirmed: number } {
  let sessions = 0;
  let confirmed = 0;
  for (const n of nodes) {
    for (const s of n.sessions()) {
      sessions++;
      if (s.stats().confirmed) confirmed++;
    }
  }
  return { sessions, confirmed };
}

function nodeTotals(nodes: Node[]): Record<string, unknown> {
  const hs: Record<string, number> = {};
  const drops: Record<string, number> = {};
  for (const n of nodes) {
    const s = n.stats();
    for (const [k, v] of Object.entries(s.handshake)) hs[k] = (hs[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.drops)) if (v !== 0) drops[k] = (drops[k] ?? 0) + v;
  }
  return { handshake: hs, drops, bindingCacheEntries: defaultBindingCache.size };
}

export async function idleServer(cfg: { nodes: number }): Setup {
  const ids = await generateIdentities(cfg.nodes, 'idle server');
  const transport = await Transport.open({ host: HOST, port: 0 });
  const nodes: Node[] = [];
  for (const identity of ids) nodes.push(await createNode({ identity, transport }));
  const targets: IdleTarget[] = nodes.map((n) => ({
    address: n.address.toString(), publicKey: n.publicKey.toString('hex'),
    endpoint: { address: HOST, port: transport.address.port },
  }));
  return {
    ready: { targets, bindings: ids.map((i) => ({ publicKey: i.publicKey.toString('hex'), nonce: i.nonce })) },
    handlers: {
      warm: async (m) => {
        await verifyAll(m.keys as KeyBinding[], 'idle server');
        return {};
      },
      snapshot: async () => ({ memory: await settledMemory(), ...sessionCounts(nodes) }),
      count: () => sessionCounts(nodes),
      totals: () => nodeTotals(nodes),
      heapSnapshot: () => ({ file: writeHeapSnapshot() }),
      /**
       * The native session table alone: installs `count` key pairs straight into the transport
       * (what a handshake installs, without any JS session state), measures, removes them.
       */
      probeTable: async (m) => {
        const count = Number(m.count);
        const before = await settledMemory();
        const installed: number[] = [];
        const algorithm = preferredAlgorithm();
        for (let i = 0; i < count; i++) {
          const index = transport.reserveSession();
          if (index === 0) break;
          const key = Buffer.alloc(32, i & 0xff);
          transport.installSession(index, { remoteIndex: i + 1, algorithm, txKey: key, rxKey: key, peer: { address: HOST, port: 9 } });
          installed.push(index);
        }
        const after = await settledMemory();
        for (const index of installed) transport.removeSession(index);
        return { count: installed.length, algorithm, before, after };
      },
    },
    close: async () => {
      for (const n of nodes) await n.close();
      transport.close();
      for (const id of ids) id.destroy();
    },
  };
}

export async function idleClient(cfg: { keys: number }): Setup {
  const ids = await generateIdentities(cfg.keys, 'idle client');
  const transport = await Transport.open({ host: HOST, port: 0 });
  const nodes: Node[] = [];
  for (const identity of ids) nodes.push(await createNode({ identity, transport }));
  const sessions: Session[] = [];
  return {
    ready: { bindings: ids.map((i) => ({ publicKey: i.publicKey.toString('hex'), nonce: i.nonce })) },
    handlers: {
      warm: async (m) => {
        await verifyAll(m.keys as KeyBinding[], 'idle client');
        return {};
      },
      snapshot: async () => ({ memory: await settledMemory(), ...sessionCounts(nodes) }),
      connect: async (m) => {
        const targets = m.targets as IdleTarget[];
        const concurrency = Number(m.concurrency);
        const jobs: [Node, IdleTarget][] = [];
        // Target-major order: consecutive jobs go to different client nodes.
        for (const t of targets) for (const n of nodes) jobs.push([n, t]);
        let next = 0;
        let failed = 0;
        const errors: Record<string, number> = {};
        const t0 = performance.now();
        const timer = setInterval(() => tick(`idle: ${sessions.length}/${jobs.length} sessions open`), 250);
        const worker = async (): Promise<void> => {
          while (next < jobs.length) {
            const [n, t] = jobs[next++];
            try {
              sessions.push(await n.connect(t.address, { publicKey: t.publicKey, endpoint: t.endpoint, timeoutMs: 20_000 }));
            } catch (e) {
              failed++;
              const code = (e as { code?: string }).code ?? (e as Error).message;
              errors[code] = (errors[code] ?? 0) + 1;
            }
          }
        };
        try {
          await Promise.all(Array.from({ length: concurrency }, worker));
        } finally {
          clearInterval(timer);
        }
        return { opened: sessions.length, failed, errors, seconds: (performance.now() - t0) / 1000 };
      },
      totals: () => nodeTotals(nodes),
      pause: async (m) => {
        await sleep(Number(m.ms));
        return {};
      },
    },
    close: async () => {
      for (const n of nodes) await n.close();
      transport.close();
      for (const id of ids) id.destroy();
    },
  };
}
