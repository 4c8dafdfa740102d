/**
 * Part "rtt": 64-byte request/response round trips, one in flight, between two processes on
 * loopback, for hubless (an encrypted session), node:dgram and udx-native (plain datagrams).
 * Every peer gets the same pinning: both processes on CPU 1 by default (`--rtt-cpus same`; a
 * round trip then never waits for another CPU to wake up, and figures vary far less), or client
 * on CPU 0 and server on CPU 1 (`split`). With --rounds N the peers run N times round-robin and
 * each peer's median round (by p50) is shown.
 */
import type { BenchOptions } from '../lib/args.js';
import type { CpuLoad } from '../lib/machine.js';
import type { Message } from '../lib/proc.js';
import { note } from '../lib/progress.js';
import { QUIET_PERCENT, settle } from '../lib/quiet.js';
import { num, ratio, table, times } from '../lib/table.js';
import type { CpuMs, summarize } from './child-lib.js';
import { cpuMs, Group, otherCpu, withLoad } from './parent-lib.js';
import { RTT_PAYLOAD, type RttServerInfo } from './roles/rtt.js';

type Stats = ReturnType<typeof summarize>;


const LABELS: Record<string, string> = {
  hubless: 'hubless session (encrypted)',
  dgram: 'node:dgram echo (plain)',
  udx: 'udx-native echo (plain)',
};

export interface RttRun {
  peer: string;
  label: string;
  round: number;
  rttUs: Stats;
  lost: number;
  stale: number;
  seconds: number;
  /** CPU per round trip, µs, of each side. */
  clientCpuUsPerRt: number;
  serverCpuUsPerRt: number;
  otherCpuPercent: number;
  machineLoad: CpuLoad;
  info: Record<string, unknown>;
  /** hubless p50 / this peer's p50, etc. (filled for the shown rows). */
  p50Ratio: number | null;
  p99Ratio: number | null;
  meanRatio: number | null;
}

export interface RttSection {
  count: number;
  warmup: number;
  rounds: number;
  cpus: 'same' | 'split';
  pinned: boolean;
  peers: RttRun[];
  allRuns: RttRun[];
  notes: string[];
}

async function runPeer(peer: string, opts: BenchOptions, pin: boolean, round: number): Promise<RttRun> {
  const tag = `[session] rtt ${peer}${opts.rounds > 1 ? ` (round ${round}/${opts.rounds})` : ''}`;
  if (opts.settle > 0) await settle(tag, opts.settle);
  const [clientCpu, serverCpu] = !pin ? [null, null] : opts.rttCpus === 'same' ? [1, 1] : [0, 1];
  const g = new Group();
  try {
    const server = g.spawn(`rtt ${peer} server`, { role: 'rtt-server', peer, watchdogSeconds: 300 }, serverCpu);
    const client = g.spawn(`rtt ${peer} client`, { role: 'rtt-client', peer, watchdogSeconds: 300 }, clientCpu);
    const [sr] = await g.guard(Promise.all([
      server.next<Message & { info: RttServerInfo }>('ready', 60_000),
      client.next('ready', 60_000),
    ]));
    await g.call(client, 'connect', { server: sr.info }, 30_000);
    await g.call(server, 'mark', {}, 10_000);
    const { value: r, load } = await withLoad(() => g.call<Message & {
      rttUs: Stats; lost: number; stale: number; seconds: number; cpu: CpuMs; info: Record<string, unknown>;
    }>(client, 'run', { warmup: opts.rttWarmup, count: opts.rttCount, label: tag }, 180_000));
    const m = await g.call<Message & { cpu: CpuMs; echoed: number }>(server, 'measure', {}, 10_000);
    // The server's CPU since 'mark' includes the warm-up; count it per echo it made.
    const run: RttRun = {
      peer,
      label: LABELS[peer] ?? peer,
      round,
      rttUs: r.rttUs,
      lost: r.lost,
      stale: r.stale,
      seconds: r.seconds,
      clientCpuUsPerRt: (cpuMs(r.cpu) * 1000) / Math.max(1, r.rttUs.count),
      serverCpuUsPerRt: (cpuMs(m.cpu) * 1000) / Math.max(1, m.echoed),
      otherCpuPercent: otherCpu(load, cpuMs(r.cpu) + cpuMs(m.cpu)),
      machineLoad: load,
      info: r.info,
      p50Ratio: null,
      p99Ratio: null,
      meanRatio: null,
    };
    note(`${tag}: p50 ${num(run.rttUs.p50, 1)} µs, p99 ${num(run.rttUs.p99, 1)} µs, mean ${num(run.rttUs.mean, 1)} µs` +
      (run.lost > 0 ? `, ${run.lost} lost` : '') +
      (run.otherCpuPercent >= QUIET_PERCENT ? `, other processes used ${num(run.otherCpuPercent, 0)}% of a core meanwhile` : ''));
    return run;
  } finally {
    await g.stop();
  }
}

export async function runRtt(opts: BenchOptions, pin: boolean): Promise<RttSection> {
  const notes: string[] = [];
  if (!pin) notes.push('processes not pinned');
  else if (opts.rttCpus === 'same') notes.push('client and server of every peer pinned to the same CPU (1) with taskset');
  else notes.push('every client pinned to CPU 0 and every server to CPU 1 with taskset');
  const allRuns: RttRun[] = [];
  const byPeer = new Map<string, RttRun[]>();
  for (let round = 1; round <= opts.rounds; round++) {
    for (const peer of opts.rttPeers) {
      const r = await runPeer(peer, opts, pin, round);
      allRuns.push(r);
      byPeer.set(peer, [...(byPeer.get(peer) ?? []), r]);
    }
  }
  const peers = [...byPeer.values()].map((runs) => {
    const sorted = [...runs].sort((a, b) => a.rttUs.p50 - b.rttUs.p50);
    return sorted[Math.floor((sorted.length - 1) / 2)];
  });
  const h = peers.find((p) => p.peer === 'hubless');
  for (const p of peers) {
    p.p50Ratio = h ? ratio(h.rttUs.p50, p.rttUs.p50) : null;
    p.p99Ratio = h ? ratio(h.rttUs.p99, p.rttUs.p99) : null;
    p.meanRatio = h ? ratio(h.rttUs.mean, p.rttUs.mean) : null;
  }
  if (opts.rounds > 1) notes.push(`${opts.rounds} rounds, each peer's median round (by p50) shown`);
  return { count: opts.rttCount, warmup: opts.rttWarmup, rounds: opts.rounds, cpus: opts.rttCpus, pinned: pin, peers, allRuns, notes };
}

export function formatRtt(s: RttSection): string {
  const header = [
    'peer', 'p50 µs', 'p99 µs', 'mean µs', 'min µs', 'max µs', 'lost', 'CPU µs/RT client', 'CPU µs/RT server',
    'other CPU %', 'hubless/peer p50', 'p99', 'mean',
  ];
  const rows = s.peers.map((p) => [
    p.otherCpuPercent >= QUIET_PERCENT ? `${p.label} (*)` : p.label,
    num(p.rttUs.p50, 1),
    num(p.rttUs.p99, 1),
    num(p.rttUs.mean, 1),
    num(p.rttUs.min, 1),
    num(p.rttUs.max, 0),
    String(p.lost),
    num(p.clientCpuUsPerRt, 1),
    num(p.serverCpuUsPerRt, 1),
    num(p.otherCpuPercent, 0),
    times(p.p50Ratio),
    times(p.p99Ratio),
    times(p.meanRatio),
  ]);
  const lines = [
    `${RTT_PAYLOAD}-byte request/response over loopback, one in flight, ${num(s.count, 0)} round trips after ${num(s.warmup, 0)} ` +
      `warm-up (${s.notes.join('; ')})`,
    table(header, rows),
    '',
    'RTT = from the send call to the reply callback in the client; every reply checked byte for byte. CPU µs/RT =',
    'user+system time of each process per round trip (the server\'s includes the warm-up echoes, per echo).',
  ];
  const h = s.peers.find((p) => p.peer === 'hubless');
  const d = s.peers.find((p) => p.peer === 'dgram');
  if (h !== undefined && d !== undefined && h.p50Ratio !== null) {
    const r = ratio(h.rttUs.p50, d.rttUs.p50)!;
    lines.push(`goal: hubless p50 <= 1.0x plain node:dgram echo p50: ${times(r)}: ${r <= 1.0 ? 'met' : 'NOT met'}`);
  }
  if (s.peers.some((p) => p.otherCpuPercent >= QUIET_PERCENT)) {
    lines.push('(*) other processes took CPU during this run: its figures are high.');
  }
  if (s.rounds > 1) {
    const byPeer = new Map<string, number[]>();
    for (const r of s.allRuns) byPeer.set(r.peer, [...(byPeer.get(r.peer) ?? []), r.rttUs.p50]);
    lines.push(`p50 of every round: ${[...byPeer.entries()].map(([k, v]) => `${k} ${v.map((x) => num(x, 1)).join(' / ')}`).join('; ')}`);
  }
  return lines.join('\n');
}
