/**
 * Part "handshakes": new sessions per second between two processes on loopback.
 *
 * A client process (K keys, one node each, one shared UDP socket) opens sessions to a server
 * process as fast as it can with at most `concurrency` handshakes in flight; a handshake counts
 * when connect() resolves (the responder has verified and installed the keys, the initiator has
 * checked the responder's key against the address it dialled and installed its keys).
 * Both children do their setup (identities: one Argon2id each) on every core, then the client is
 * pinned to CPU 0 and the server to CPU 1, every thread of each (taskset -a).
 *
 * Runs, in order:
 * 1. first contact: each key's first session with the server. The responder verifies the
 *    initiator's address binding (one Argon2id evaluation, ~30 ms of CPU, on its libuv pool) once
 *    per new key, which bounds this rate.
 * 2. repeat, no cookies: the same keys close their session and open a fresh one (a restarted
 *    client with the same key): bindings are cached, so this is the handshake itself.
 * 3. repeat, cookie threshold 1,000/s: the same against a responder with the default threshold;
 *    above it the responder answers initiations without a fresh mac2 with a cookie reply, and the
 *    initiator sends again with mac2: one more round trip and a little more work per handshake.
 * Then, unless --no-profile, a short unmeasured repeat run under the inspector's sampling
 * profiler shows where the server's JS time goes.
 */
import type { BenchOptions } from '../lib/args.js';
import type { CpuLoad } from '../lib/machine.js';
import type { Message } from '../lib/proc.js';
import { note } from '../lib/progress.js';
import { QUIET_PERCENT, settle } from '../lib/quiet.js';
import { num, table } from '../lib/table.js';
import type { CpuMs, summarize } from './child-lib.js';
import { cpuMs, cpuPercent, Group, otherCpu, withLoad } from './parent-lib.js';
import type { HsTarget, ProfileSummary } from './roles/handshake.js';

/** Handshakes per second per core of responder CPU (issue 3). */
export const GOAL_HANDSHAKES_PER_CORE = 2000;

type Latency = ReturnType<typeof summarize>;

interface RunReply extends Message {
  completed: number;
  failed: number;
  errors: Record<string, number>;
  seconds: number;
  cpu: CpuMs;
  concurrency: number;
  latencyUs: Latency;
  clientTotals: Record<string, number>;
}

interface MeasureReply extends Message {
  cpu: CpuMs;
  seconds: number;
  nodes: Record<string, { handshake: Record<string, number>; drops: Record<string, number>; sessions: number }>;
  bindingCache: { size: number; hits: number; misses: number };
}

export interface HandshakeRun {
  id: 'first' | 'repeat' | 'repeat-cookie';
  label: string;
  target: string;
  keys: number;
  concurrency: number;
  completed: number;
  failed: number;
  errors: Record<string, number>;
  seconds: number;
  perSecond: number;
  clientCpuPercent: number;
  serverCpuPercent: number;
  /** completed / server CPU seconds: handshakes per second per core of responder CPU. */
  perServerCore: number;
  perClientCore: number;
  /** connect() duration, µs. */
  latencyUs: Latency;
  server: MeasureReply;
  clientTotals: Record<string, number>;
  otherCpuPercent: number;
  machineLoad: CpuLoad;
}

export interface HandshakeSection {
  pinned: boolean;
  keys: number;
  concurrency: number;
  seconds: number;
  runs: HandshakeRun[];
  profile: { seconds: number; completed: number; summary: ProfileSummary } | null;
  notes: string[];
}

export async function runHandshakes(opts: BenchOptions, pin: boolean, cores: number): Promise<HandshakeSection> {
  const g = new Group();
  const watchdogSeconds = 600;
  const notes: string[] = [];
  notes.push(pin
    ? 'client pinned to CPU 0, server to CPU 1 (all threads, taskset -a, after setup)'
    : 'processes not pinned');
  try {
    const server = g.spawn('handshake server', { role: 'hs-server', watchdogSeconds }, null, { env: { UV_THREADPOOL_SIZE: '4' } });
    const client = g.spawn('handshake client', { role: 'hs-client', keys: opts.handshakeKeys, watchdogSeconds }, null, {
      env: { UV_THREADPOOL_SIZE: String(Math.max(4, cores)) },
    });
    const setupMs = 60_000 + opts.handshakeKeys * 100;
    const [sr] = await g.guard(Promise.all([
      server.next<Message & { targets: HsTarget[] }>('ready', setupMs),
      client.next('ready', setupMs),
    ]));
    if (pin) {
      client.pin(0);
      server.pin(1);
    }
    const targets = Object.fromEntries(sr.targets.map((t) => [t.name, t]));
    await g.call(client, 'warm', { targets: sr.targets }, 30_000);

    const runs: HandshakeRun[] = [];
    const plan: { id: HandshakeRun['id']; label: string; target: string; mode: 'first' | 'repeat' }[] = [
      { id: 'first', label: 'first contact (responder verifies binding)', target: 'nocookie', mode: 'first' },
      { id: 'repeat', label: 'repeat, known keys, no cookies', target: 'nocookie', mode: 'repeat' },
      { id: 'repeat-cookie', label: 'repeat, known keys, cookie threshold 1,000/s', target: 'cookie', mode: 'repeat' },
    ];
    for (const p of plan) {
      const tag = `[session] handshakes: ${p.label}`;
      if (opts.settle > 0) await settle(tag, opts.settle);
      // First contact runs until every key is done (bounded); the repeat runs for --handshake-seconds,
      // after one unmeasured second against the same responder (JIT warm-up on both sides; against
      // the cookie responder, the first cookie reply per key, after which each key's initiations
      // carry a valid mac2 for two minutes, as WireGuard's do).
      const seconds = p.mode === 'first' ? 300 : opts.handshakeSeconds;
      if (p.mode === 'repeat') {
        await g.call<RunReply>(client, 'run', {
          target: targets[p.target], mode: 'repeat', seconds: 1, concurrency: opts.handshakeConcurrency, label: `${tag} (warm-up)`,
        }, 60_000);
      }
      await g.call(server, 'mark', {}, 10_000);
      const { value: r, load } = await withLoad(() => g.call<RunReply>(client, 'run', {
        target: targets[p.target], mode: p.mode, seconds, concurrency: opts.handshakeConcurrency, label: tag,
      }, (seconds + 60) * 1000));
      const m = await g.call<MeasureReply>(server, 'measure', {}, 10_000);
      const serverSeconds = cpuMs(m.cpu) / 1000;
      const clientSeconds = cpuMs(r.cpu) / 1000;
      const run: HandshakeRun = {
        id: p.id,
        label: p.label,
        target: p.target,
        keys: opts.handshakeKeys,
        concurrency: r.concurrency,
        completed: r.completed,
        failed: r.failed,
        errors: r.errors,
        seconds: r.seconds,
        perSecond: r.completed / r.seconds,
        clientCpuPercent: cpuPercent(r.cpu, r.seconds),
        serverCpuPercent: cpuPercent(m.cpu, m.seconds),
        perServerCore: serverSeconds > 0 ? r.completed / serverSeconds : 0,
        perClientCore: clientSeconds > 0 ? r.completed / clientSeconds : 0,
        latencyUs: r.latencyUs,
        server: m,
        clientTotals: r.clientTotals,
        otherCpuPercent: otherCpu(load, cpuMs(r.cpu) + cpuMs(m.cpu)),
        machineLoad: load,
      };
      runs.push(run);
      note(`${tag}: ${num(run.perSecond, 0)} handshakes/s, server CPU ${num(run.serverCpuPercent, 0)}% ` +
        `(${num(run.perServerCore, 0)} per server core)${run.failed > 0 ? `, ${run.failed} failed` : ''}`);
      if (p.id === 'repeat') await g.call(client, 'drop', { target: 'nocookie' }, 30_000);
    }

    let profile: HandshakeSection['profile'] = null;
    if (opts.profile) {
      const tag = '[session] handshakes: profiling the server (unmeasured repeat run)';
      const seconds = Math.min(3, opts.handshakeSeconds);
      await g.call(client, 'drop', { target: 'cookie' }, 30_000);
      await g.call(server, 'profileStart', {}, 10_000);
      const r = await g.call<RunReply>(client, 'run', {
        target: targets.nocookie, mode: 'repeat', seconds, concurrency: opts.handshakeConcurrency, label: tag,
      }, (seconds + 60) * 1000);
      const pr = await g.call<Message & { profile: ProfileSummary }>(server, 'profileStop', {}, 30_000);
      profile = { seconds: r.seconds, completed: r.completed, summary: pr.profile };
    }
    return {
      pinned: pin, keys: opts.handshakeKeys, concurrency: opts.handshakeConcurrency, seconds: opts.handshakeSeconds,
      runs, profile, notes,
    };
  } finally {
    await g.stop();
  }
}

export function formatHandshakes(s: HandshakeSection): string {
  const header = [
    'run', 'handshakes', 's', 'hs/s', 'p50 ms', 'p99 ms', 'CPU client %', 'CPU server %', 'hs/s per server core',
    'hs/s per client core', 'other CPU %',
  ];
  const rows = s.runs.map((r) => [
    r.otherCpuPercent >= QUIET_PERCENT ? `${r.label} (*)` : r.label,
    num(r.completed, 0) + (r.failed > 0 ? ` (+${r.failed} failed)` : ''),
    num(r.seconds, 1),
    num(r.perSecond, 0),
    num(r.latencyUs.p50 / 1000, 2),
    num(r.latencyUs.p99 / 1000, 2),
    num(r.clientCpuPercent, 0),
    num(r.serverCpuPercent, 0),
    num(r.perServerCore, 0),
    num(r.perClientCore, 0),
    num(r.otherCpuPercent, 0),
  ]);
  const lines = [
    `New sessions per second, two processes on loopback, ${s.keys} client keys on one client socket, ` +
      `at most ${s.concurrency} handshakes in flight (${s.notes.join('; ')})`,
    table(header, rows),
    '',
    'hs/s = completed connect() calls / wall time; per server (client) core = completed / that process\'s CPU seconds',
    '(all its threads, Argon2id on the libuv pool included). p50/p99 = connect() duration in the client.',
    'first contact: each key\'s first session; the responder checks the initiator\'s address binding (one Argon2id,',
    'cached per key afterwards). repeat: the same keys close their session and open a fresh one (a restarted client):',
    'bindings cached, the static-static DH cached; this is what the handshakes/s goal measures. Each repeat run',
    'follows 1 s of unmeasured warm-up against the same responder (with cookies: each key got its cookie then).',
  ];
  const repeat = s.runs.find((r) => r.id === 'repeat');
  const first = s.runs.find((r) => r.id === 'first');
  if (repeat !== undefined) {
    const ok = repeat.perServerCore >= GOAL_HANDSHAKES_PER_CORE;
    lines.push(`goal >= ${num(GOAL_HANDSHAKES_PER_CORE, 0)} handshakes/s per core: repeat handshakes ${num(repeat.perServerCore, 0)} per ` +
      `server core, ${num(repeat.perClientCore, 0)} per client core: ${ok ? 'met' : 'NOT met'} (responder side)` +
      (first !== undefined ? `; first contact ${num(first.perServerCore, 0)} per server core (bound by Argon2id)` : ''));
  }
  const odd: string[] = [];
  for (const r of s.runs) {
    const srv = r.server.nodes[r.target];
    const hs = srv?.handshake ?? {};
    const drops = srv?.drops ?? {};
    odd.push(`${r.id}: server: ${Object.entries(hs).map(([k, v]) => `${k} ${v}`).join(', ')}` +
      (Object.keys(drops).length > 0 ? `; drops: ${Object.entries(drops).map(([k, v]) => `${k} ${v}`).join(', ')}` : '') +
      `; binding cache misses ${r.server.bindingCache.misses}, hits ${r.server.bindingCache.hits}` +
      `; client retransmissions ${r.clientTotals.initiationsRetransmitted ?? 0}` +
      (r.failed > 0 ? `; client errors ${JSON.stringify(r.errors)}` : ''));
  }
  lines.push('', 'counters during each run:', ...odd.map((o) => `  ${o}`));
  if (s.runs.some((r) => r.otherCpuPercent >= QUIET_PERCENT)) {
    lines.push('(*) other processes took CPU during this run: its figures are low.');
  }
  if (s.profile !== null) {
    const p = s.profile;
    const total = p.summary.totalMs;
    lines.push(
      '',
      `where the server's time goes (sampling profile of its main thread, ${num(p.completed, 0)} repeat handshakes in ` +
        `${num(p.seconds, 1)} s, ${num(total, 0)} ms sampled; a separate run, not the one measured above):`,
      '  self time (where the CPU was):',
      ...p.summary.self.map((e) => `    ${num(e.percent, 1).padStart(5)}%  ${num(e.ms / Math.max(1, p.completed) * 1000, 1).padStart(6)} µs/hs  ${e.name}`),
      '  by innermost hubless function (its own time and the library/native code it called):',
      ...p.summary.byHublessFunction.map((e) => `    ${num(e.percent, 1).padStart(5)}%  ${num(e.ms / Math.max(1, p.completed) * 1000, 1).padStart(6)} µs/hs  ${e.name}`),
    );
  }
  return lines.join('\n');
}
