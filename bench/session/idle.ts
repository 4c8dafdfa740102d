/**
 * Part "idle": memory per idle session. A server process holds `--idle-server-nodes` nodes
 * (identities) on one UDP socket; a client process holds ceil(sessions / nodes) client keys on one
 * socket, and every client node opens a session to every server node: `--idle-sessions` sessions
 * (10,000 by default) established in each process. Both run with --expose-gc; each takes a
 * snapshot after full collections before the first session (bindings of the other side's keys
 * already verified) and again once every session is established (confirmed on the server) and has
 * been idle for a moment. Differences divided by the sessions are the per-session figures:
 * - JS heap: V8 heap used;
 * - external: memory V8 knows of outside its heap (Buffers' backing stores);
 * - native: RSS − V8 heap resident − external: the addon's session table and every other
 *   allocation V8 does not know of (allocator slack and memory the allocator kept after the
 *   handshakes count too, so this is an upper bound, and noisy);
 * - RSS: the whole resident set.
 * Then the server installs as many key pairs again straight into its transport (no JS session
 * state) and measures that alone: the native session table's cost per entry, without the noise.
 * Not pinned: nothing here is timed.
 */
import type { BenchOptions } from '../lib/args.js';
import type { Message } from '../lib/proc.js';
import { note, status } from '../lib/progress.js';
import { num, table } from '../lib/table.js';
import type { MemorySnapshot } from './child-lib.js';
import { readHeapClasses, type HeapClasses } from './heap.js';
import { Group } from './parent-lib.js';
import type { IdleTarget, KeyBinding } from './roles/idle.js';

export const GOAL_NATIVE_BYTES = 4096;
export const GOAL_JS_BYTES = 2048;

interface Snapshot extends Message {
  memory: MemorySnapshot;
  sessions: number;
  confirmed: number;
}

export interface SideResult {
  side: 'server' | 'client';
  sessions: number;
  confirmed: number;
  before: MemorySnapshot;
  after: MemorySnapshot;
  perSession: {
    rss: number;
    /** RSS without the V8 new space's growth (the young generation grows under the handshake burst). */
    rssLessNewSpace: number;
    heapUsed: number;
    heapPhysical: number;
    external: number;
    native: number;
    rssAnon: number | null;
  };
  totals: Record<string, unknown>;
}

export interface IdleSection {
  target: number;
  serverNodes: number;
  clientKeys: number;
  openSeconds: number;
  failed: number;
  errors: Record<string, number>;
  idleSeconds: number;
  /** Keepalives the clients sent until every session was confirmed, and during the idle wait. */
  keepalives: { whileOpening: number; whileIdle: number };
  sides: SideResult[];
  /** With --idle-heap-classes: the server's heap objects added per session, by constructor, largest first. */
  heapClasses: { name: string; bytesPerSession: number; countPerSession: number }[] | null;
  /** The native session table alone (server transport), per installed key pair. */
  table: { count: number; algorithm: string; before: MemorySnapshot; after: MemorySnapshot; perEntry: SideResult['perSession'] } | null;
  notes: string[];
}

function perSession(b: MemorySnapshot, a: MemorySnapshot, n: number): SideResult['perSession'] {
  type NumKey = Exclude<keyof MemorySnapshot, 'spaces'>;
  const d = (k: NumKey): number => ((a[k] ?? 0) - (b[k] ?? 0)) / Math.max(1, n);
  const young = ((a.spaces.new_space?.physical ?? 0) - (b.spaces.new_space?.physical ?? 0)) / Math.max(1, n);
  return {
    rss: d('rss'),
    rssLessNewSpace: d('rss') - young,
    heapUsed: d('heapUsed'),
    heapPhysical: d('heapPhysical'),
    external: d('external'),
    native: d('rss') - d('heapPhysical') - d('external'),
    rssAnon: a.rssAnon === null || b.rssAnon === null ? null : d('rssAnon'),
  };
}

export async function runIdle(opts: BenchOptions, cores: number): Promise<IdleSection> {
  const serverNodes = Math.min(opts.idleServerNodes, opts.idleSessions);
  const clientKeys = Math.ceil(opts.idleSessions / serverNodes);
  const total = serverNodes * clientKeys;
  const g = new Group();
  const extras = { nodeArgs: ['--expose-gc'], env: { UV_THREADPOOL_SIZE: String(Math.max(4, cores)) } };
  // A new session's initiator repeats its first keepalive every tick until the responder sends
  // something (rekeyGraceMs, 5 s by default): idle means after that.
  const idleSeconds = 6;
  try {
    note(`[session] idle: ${num(total, 0)} sessions = ${clientKeys} client keys x ${serverNodes} server nodes; ` +
      `making ${clientKeys + serverNodes} identities (one Argon2id each) and verifying them on the other side`);
    const setupMs = 120_000 + (clientKeys + serverNodes) * 200;
    const server = g.spawn('idle server', { role: 'idle-server', nodes: serverNodes, watchdogSeconds: 900 }, null, extras);
    const client = g.spawn('idle client', { role: 'idle-client', keys: clientKeys, watchdogSeconds: 900 }, null, extras);
    const [sr, cr] = await g.guard(Promise.all([
      server.next<Message & { targets: IdleTarget[]; bindings: KeyBinding[] }>('ready', setupMs),
      client.next<Message & { bindings: KeyBinding[] }>('ready', setupMs),
    ]));
    await g.guard(Promise.all([
      g.call(server, 'warm', { keys: cr.bindings }, setupMs),
      g.call(client, 'warm', { keys: sr.bindings }, setupMs),
    ]));
    const heapClasses = async (): Promise<HeapClasses> => {
      const r = await g.call<Message & { file: string }>(server, 'heapSnapshot', {}, 300_000);
      return readHeapClasses(r.file);
    };
    let classes0: HeapClasses | null = null;
    if (opts.idleHeapClasses) {
      status('[session] idle: heap snapshot of the server (before)');
      classes0 = await heapClasses();
    }
    status('[session] idle: baseline snapshots');
    const [sb, cb] = await g.guard(Promise.all([
      g.call<Snapshot>(server, 'snapshot', {}, 60_000),
      g.call<Snapshot>(client, 'snapshot', {}, 60_000),
    ]));
    const opened = await g.call<Message & { opened: number; failed: number; errors: Record<string, number>; seconds: number }>(
      client, 'connect', { targets: sr.targets, concurrency: 128 }, 300_000,
    );
    note(`[session] idle: ${num(opened.opened, 0)} sessions opened in ${num(opened.seconds, 1)} s` +
      (opened.failed > 0 ? `, ${opened.failed} failed ${JSON.stringify(opened.errors)}` : ''));
    // Wait (bounded) for the server to see every session confirmed by the initiator's first packet.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const c = await g.call<Message & { sessions: number; confirmed: number }>(server, 'count', {}, 10_000);
      status(`[session] idle: server holds ${c.sessions} sessions, ${c.confirmed} confirmed`);
      if (c.confirmed >= opened.opened || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const keepalives = (t: Message): number => ((t.handshake as Record<string, number> | undefined)?.keepalivesSent ?? 0);
    const kaOpen = keepalives(await g.call<Message>(client, 'totals', {}, 10_000));
    status(`[session] idle: ${idleSeconds} s idle, then snapshots`);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const [sa, ca] = await g.guard(Promise.all([
      g.call<Snapshot>(server, 'snapshot', {}, 60_000),
      g.call<Snapshot>(client, 'snapshot', {}, 60_000),
    ]));
    const [st, ct] = await g.guard(Promise.all([
      g.call<Message>(server, 'totals', {}, 10_000),
      g.call<Message>(client, 'totals', {}, 10_000),
    ]));
    const kaIdle = keepalives(ct) - kaOpen;
    const side = (name: 'server' | 'client', b: Snapshot, a: Snapshot, t: Message): SideResult => {
      const { type: _t, ...totals } = t;
      return {
        side: name, sessions: a.sessions, confirmed: a.confirmed, before: b.memory, after: a.memory,
        perSession: perSession(b.memory, a.memory, a.sessions), totals,
      };
    };
    const sides = [side('server', sb, sa, st), side('client', cb, ca, ct)];
    const s = sides[0];
    status('[session] idle: probing the native session table alone');
    const probe = await g.call<Message & { count: number; algorithm: string; before: MemorySnapshot; after: MemorySnapshot }>(
      server, 'probeTable', { count: total }, 120_000,
    );
    const table = {
      count: probe.count, algorithm: probe.algorithm, before: probe.before, after: probe.after,
      perEntry: perSession(probe.before, probe.after, probe.count),
    };
    let heapClassesOut: IdleSection['heapClasses'] = null;
    if (classes0 !== null) {
      status('[session] idle: heap snapshot of the server (after)');
      const c1 = await heapClasses();
      const c0 = classes0;
      const n = Math.max(1, sa.sessions);
      heapClassesOut = Object.keys(c1).map((k) => ({
        name: k,
        bytesPerSession: (c1[k].size - (c0[k]?.size ?? 0)) / n,
        countPerSession: (c1[k].count - (c0[k]?.count ?? 0)) / n,
      })).filter((e) => Math.abs(e.bytesPerSession) >= 4).sort((a, b) => b.bytesPerSession - a.bytesPerSession).slice(0, 30);
    }
    note(`[session] idle: server ${num(s.sessions, 0)} sessions: ${num(s.perSession.rss, 0)} B RSS, ` +
      `${num(s.perSession.heapUsed, 0)} B JS heap, ${num(s.perSession.native, 0)} B native per session`);
    return {
      target: total, serverNodes, clientKeys, openSeconds: opened.seconds, failed: opened.failed, errors: opened.errors,
      idleSeconds, sides, table, heapClasses: heapClassesOut, keepalives: { whileOpening: kaOpen, whileIdle: kaIdle },
      notes: [
        `${clientKeys} client keys x ${serverNodes} server nodes (each side on one UDP socket): the server holds ` +
          `${clientKeys} peer keys per node, ${clientKeys} binding-cache entries in all (verified before the baseline)`,
      ],
    };
  } finally {
    await g.stop();
  }
}

const kib = (b: number | null): string => (b === null ? '-' : num(b / 1024, 2));

export function formatIdle(s: IdleSection): string {
  const header = [
    'side', 'sessions', 'RSS KiB/session', 'RSS w/o new space', 'JS heap KiB/session', 'external KiB/session', 'native KiB/session',
    'V8 heap resident KiB/session', 'RSS MiB before', 'after',
  ];
  const rows = s.sides.map((x) => [
    x.side === 'server' ? 'server (responder)' : 'client (initiator)',
    `${num(x.sessions, 0)}${x.confirmed !== x.sessions && x.side === 'server' ? ` (${num(x.confirmed, 0)} confirmed)` : ''}`,
    kib(x.perSession.rss),
    kib(x.perSession.rssLessNewSpace),
    kib(x.perSession.heapUsed),
    kib(x.perSession.external),
    kib(x.perSession.native),
    kib(x.perSession.heapPhysical),
    num(x.before.rss / 2 ** 20, 1),
    num(x.after.rss / 2 ** 20, 1),
  ]);
  if (s.table !== null) {
    const t = s.table;
    rows.push([
      'server: native session table alone', `${num(t.count, 0)} entries`, kib(t.perEntry.rss), kib(t.perEntry.rssLessNewSpace),
      kib(t.perEntry.heapUsed),
      kib(t.perEntry.external), kib(t.perEntry.native), kib(t.perEntry.heapPhysical),
      num(t.before.rss / 2 ** 20, 1), num(t.after.rss / 2 ** 20, 1),
    ]);
  }
  const lines = [
    `Memory per idle session, ${num(s.target, 0)} sessions established between two processes on loopback ` +
      `(${s.notes.join('; ')}); opened in ${num(s.openSeconds, 1)} s, then ${s.idleSeconds} s idle`,
    table(header, rows),
    '',
    'per session = (after - before) / sessions, both snapshots after full GCs (--expose-gc). JS heap = V8 heap used;',
    'external = Buffers and other memory V8 is told of; native = RSS - V8 heap resident - external (the addon\'s',
    'session table, allocator slack and anything else outside V8); KiB = 1024 bytes. The last row installs as many',
    `${s.table?.algorithm ?? ''} key pairs straight into the server's native table (no JS session state) and measures that alone.`,
  ];
  const srv = s.sides.find((x) => x.side === 'server');
  for (const x of s.sides) {
    const sp = (m: MemorySnapshot, k: string): number => m.spaces[k]?.physical ?? 0;
    const grown = x.after.heapPhysical - x.before.heapPhysical;
    const young = sp(x.after, 'new_space') - sp(x.before, 'new_space');
    const old = Object.keys(x.after.spaces).filter((k) => k !== 'new_space')
      .reduce((a, k) => a + sp(x.after, k) - sp(x.before, k), 0);
    const oldUsed = Object.keys(x.after.spaces).filter((k) => k !== 'new_space')
      .reduce((a, k) => a + (x.after.spaces[k]?.used ?? 0) - (x.before.spaces[k]?.used ?? 0), 0);
    lines.push(`${x.side}: V8 heap resident +${num(grown / 2 ** 20, 1)} MiB: new space +${num(young / 2 ** 20, 1)} MiB ` +
      `(young generation grown by the handshake burst, empty after GC: not per session), other spaces ` +
      `+${num(old / 2 ** 20, 1)} MiB resident for +${num(oldUsed / 2 ** 20, 1)} MiB of objects`);
  }
  if (srv !== undefined) {
    const nat = Math.max(srv.perSession.native, s.table?.perEntry.rss ?? 0);
    const js = srv.perSession.heapUsed + srv.perSession.external;
    lines.push(
      `goals (server side): <= 4 KiB native per idle session: ${kib(nat)} KiB (the larger of the native column and ` +
        `the table's RSS per entry): ${nat <= GOAL_NATIVE_BYTES ? 'met' : 'NOT met'}; ` +
        `<= 2 KiB JS per idle session: ${kib(srv.perSession.heapUsed)} KiB heap + ${kib(srv.perSession.external)} KiB external ` +
        `= ${kib(js)} KiB: ${js <= GOAL_JS_BYTES ? 'met' : 'NOT met'}`,
    );
  }
  lines.push(`keepalives sent by the initiators: ${num(s.keepalives.whileOpening, 0)} while the sessions opened, ` +
    `${num(s.keepalives.whileIdle, 0)} during the ${s.idleSeconds} s idle wait (a new session's initiator repeats its first ` +
    'keepalive each tick until the responder sends something, for up to rekeyGraceMs)');
  if (s.heapClasses !== null && s.heapClasses !== undefined) {
    lines.push('', 'server heap objects added per session (heap snapshots before/after; self sizes, bytes; the snapshots',
      'also disturb this run\'s RSS and native figures: take those from a run without --idle-heap-classes):',
      ...s.heapClasses.map((e) => `  ${num(e.bytesPerSession, 0).padStart(6)} B  ${num(e.countPerSession, 2).padStart(6)} objects  ${e.name}`));
  }
  if (s.failed > 0) lines.push(`${s.failed} sessions failed to open: ${JSON.stringify(s.errors)}`);
  return lines.join('\n');
}
