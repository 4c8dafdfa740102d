/** The stream section's tables, with hubless/peer ratios from the same run and the goals. */
import { QUIET_PERCENT } from '../lib/quiet.js';
import { num, ratio, table, times } from '../lib/table.js';
import type { StreamSection } from './index.js';
import type { RunResult } from './throughput.js';

/** Goals from issue 4 (printed, never asserted). */
export const GOAL_MBPS = 500;
export const GOAL_OVER_HYPERDHT = 3;
export const GOAL_RETAINED = 0.5;

const mark = (r: RunResult): string => (r.otherCpuPercent >= QUIET_PERCENT ? ' (*)' : '');
const met = (ok: boolean | null): string => (ok === null ? 'not measured' : ok ? 'met' : 'NOT met');
const pct = (v: number | null): string => (v === null ? '-' : `${num(v * 100, 0)}%`);

function bulkTable(s: StreamSection): string[] {
  const ref = s.bulk.find((r) => r.peer === 'hubless');
  const rows = s.bulk.map((r) => [
    r.label + mark(r), r.encrypted ? 'yes' : 'no', num(r.goodputMBps, 1), num(r.senderCpuPercent, 0),
    num(r.receiverCpuPercent, 0), num(r.otherCpuPercent, 0), times(ratio(ref?.goodputMBps, r.goodputMBps)),
  ]);
  const hyper = s.bulk.find((r) => r.peer === 'hyperdht');
  const over = ratio(ref?.goodputMBps, hyper?.goodputMBps);
  return [
    `One stream over loopback, ${s.warmupSeconds} s warm-up then ${s.seconds} s measured (${s.notes.join('; ')})`,
    table(['peer', 'encrypted', 'MB/s', 'CPU send %', 'CPU recv %', 'other CPU %', 'hubless/peer'], rows),
    `goal: hubless >= ${GOAL_MBPS} MB/s on one encrypted stream: ${ref ? num(ref.goodputMBps, 0) : '-'} MB/s, ${met(ref ? ref.goodputMBps >= GOAL_MBPS : null)}`,
    `goal: hubless >= ${GOAL_OVER_HYPERDHT}x the hyperdht stream: ${times(over)}, ${met(over === null ? null : over >= GOAL_OVER_HYPERDHT)}`,
    ...hublessPath(ref),
  ];
}

type Counters = Record<string, number>;

/** Per-packet facts of a hubless run, from both nodes' counters (whole run, warm-up included). */
function hublessPath(r: RunResult | undefined): string[] {
  const node = (x: { stats: unknown }): { transport: Counters; streams: Counters } | undefined =>
    (x.stats as { node?: { transport: Counters; streams: Counters } } | null)?.node;
  const tx = r ? node(r.sender) : undefined;
  const rx = r ? node(r.receiver) : undefined;
  if (tx === undefined || rx === undefined) return [];
  const per = (a: number, b: number, d = 1): string => (b > 0 ? num(a / b, d) : '-');
  return [
    `hubless data path (${r!.streams} stream${r!.streams > 1 ? 's' : ''}, whole run): sender ${num(tx.transport.txDatagrams, 0)} datagrams, ` +
      `${per(tx.transport.txDatagrams, tx.transport.txSyscalls)} per send syscall; receiver ` +
      `${per(rx.transport.rxDatagrams, rx.transport.rxSyscalls)} per receive syscall, ` +
      `${per(rx.streams.packetsIn, rx.streams.packetsOut)} data packets per packet back (ACKs, window updates)`,
  ];
}

function lossTable(s: StreamSection): string[] {
  const l = s.loss!;
  const lossPct = `${num(l.loss * 100, 1)}%`;
  const hub = l.pairs.find((p) => p.peer === 'hubless');
  const refLossy = hub?.lossy?.goodputMBps;
  const knob = l.method === 'hubless-fault-knob';
  const rows = l.pairs.map((p) => [
    // Either run disturbed makes the pair's ratio doubtful.
    (p.clean?.label ?? p.lossy?.label ?? p.peer) + ([p.clean, p.lossy].some((r) => r && mark(r)) ? ' (*)' : ''),
    num(p.clean?.goodputMBps, 1), num(p.lossy?.goodputMBps, 1), pct(p.retained),
    p.lossy?.linkDrops === null || p.lossy === null ? '-' : num(p.lossy.linkDrops, 0),
    num(p.lossy?.senderCpuPercent, 0), num(p.lossy?.receiverCpuPercent, 0),
    times(ratio(refLossy, p.lossy?.goodputMBps)),
  ]);
  const title = knob
    ? `One stream at ${lossPct} loss: hubless ONLY, with its test-only fault knob (setFaults) on loopback; ${l.note}`
    : `One stream between two network namespaces over veth (198.18.0.1 -> .2, MTU 1500, segments of wire size), ` +
      `clean, then with ${lossPct} of packets into the receiver dropped at random (iptables statistic)`;
  const lines = [
    title,
    table(['peer', knob ? 'clean MB/s' : 'veth MB/s', `${lossPct} loss MB/s`, 'kept', 'dropped', 'CPU send %', 'CPU recv %', 'hubless/peer'], rows),
    `goal: hubless at ${lossPct} loss >= ${num(GOAL_RETAINED * 100, 0)}% of its loss-free throughput: ${pct(hub?.retained ?? null)}, ` +
      met(hub?.retained === null || hub?.retained === undefined ? null : hub.retained >= GOAL_RETAINED),
  ];
  if (!knob) {
    lines.push('kept = loss MB/s / veth MB/s. A peer bound by CPU on the clean link (per-packet kernel work: veth here',
      'has no TSO/GRO) has window to spare and keeps more at loss than one bound by its congestion window.');
  }
  if (!knob && l.note !== null) lines.push(`loss part stopped: ${l.note}`);
  return lines;
}

function parallelTable(s: StreamSection): string[] {
  const ref = s.parallel.find((r) => r.peer === 'hubless');
  const one = (peer: string): number | undefined => s.bulk.find((r) => r.peer === peer)?.goodputMBps;
  const rows = s.parallel.map((r) => [
    r.label + mark(r), r.peer === 'tcp' ? `${r.streams} connections` : `${r.streams} on one`, num(r.goodputMBps, 1),
    num(one(r.peer), 1), num(r.senderCpuPercent, 0), num(r.receiverCpuPercent, 0), num(r.otherCpuPercent, 0),
    times(ratio(ref?.goodputMBps, r.goodputMBps)),
  ]);
  return [
    `${s.parallel[0]?.streams ?? ''} parallel streams, aggregate over loopback`,
    table(['peer', 'streams', 'MB/s', '1 stream MB/s', 'CPU send %', 'CPU recv %', 'other CPU %', 'hubless/peer'], rows),
    ...hublessPath(ref),
  ];
}

function idleTable(s: StreamSection): string[] {
  const rows = s.idle.flatMap((r) => (['sender', 'receiver'] as const).map((side) => {
    const p = r[side].perStream;
    return [
      `${r.label} ${side === 'sender' ? 'opener' : 'acceptor'}`, `${r.received}/${r.streams}`, num(p.heapUsed, 0),
      num(p.external, 0), num(p.native, 0), num(p.heapUsed + p.external + p.native, 0), num(p.rss, 0),
    ];
  }));
  return [
    `Memory per open idle stream, ${s.idle[0]?.streams ?? ''} on one session (node:net: one connection each), bytes`,
    table(['peer / side', 'open', 'JS heap', 'external', 'native', 'total', 'RSS'], rows),
    'native = RSS - V8 heap resident - external, after full GCs (allocator slack counts: an upper bound);',
    'external is the Buffers\' allocated size, resident or not (a negative native means allocated, untouched',
    'Buffer memory); node:net\'s kernel socket buffers are not in RSS.',
  ];
}

export function formatStream(s: StreamSection): string {
  const parts: string[][] = [];
  if (s.bulk.length > 0) parts.push(bulkTable(s));
  if (s.loss !== null) parts.push(lossTable(s));
  if (s.parallel.length > 0) parts.push(parallelTable(s));
  if (s.idle.length > 0) parts.push(idleTable(s));
  const foot = [
    'MB = 10^6 bytes of goodput counted by the receiver in the measured window; CPU = user+system of each',
    'process over it (100% = one core); other CPU = everything else on the machine meanwhile (kernel threads',
    'such as ksoftirqd included). Writes are 64 KiB, honouring backpressure (write() false -> drain); every',
    'receiver spot-checks each chunk against the sender\'s byte pattern.',
  ];
  if ([...s.bulk, ...s.parallel, ...(s.loss?.pairs.flatMap((p) => [p.clean, p.lossy]) ?? [])].some((r) => r && r.mismatches > 0)) {
    foot.push('WARNING: some receivers saw bytes that did not match the pattern (see mismatches in the JSON).');
  }
  const lossRuns = s.loss?.pairs.flatMap((p) => [p.clean, p.lossy]).filter((r): r is RunResult => r !== null) ?? [];
  if ([...s.bulk, ...s.parallel, ...lossRuns].some((r) => r.otherCpuPercent >= QUIET_PERCENT)) {
    foot.push('(*) other processes took CPU during this run even after retries: its figures are low.');
  }
  for (const e of s.errors) foot.push(`FAILED ${e.part} ${e.peer}: ${e.message}`);
  return [...parts.map((p) => p.join('\n')), foot.join('\n')].join('\n\n');
}
