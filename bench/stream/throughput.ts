/**
 * One throughput run of one peer: a receiver and a sender process (pinned to CPUs 1 and 0 when
 * asked, inside the lossy link's namespaces when given), `streams` streams from sender to
 * receiver, written as fast as backpressure allows. The figures come from a measured window
 * after a warm-up (connection setup, slow start and buffer filling stay outside it): the
 * receiver's bytes and both sides' CPU between two marks, so bytes still buffered in the sender
 * when it stops never count.
 */
import { randomBytes } from 'node:crypto';
import { cpuLoad, cpuTicks, type CpuLoad } from '../lib/machine.js';
import type { Message } from '../lib/proc.js';
import { status } from '../lib/progress.js';
import { otherCpu } from '../session/parent-lib.js';
import { Pair } from './group.js';
import type { LossyLink } from './netns.js';
import { PEERS } from './peers/index.js';

export interface RunSpec {
  peer: string;
  streams: number;
  warmupSeconds: number;
  seconds: number;
  pin: boolean;
  /** Run inside these namespaces, over the veth pair, instead of loopback. */
  link: { link: LossyLink; senderHost: string; receiverHost: string } | null;
  /** Progress label. */
  label: string;
  /** hubless only: its test-only loss on the sending side (the fallback without namespaces). */
  faultLoss?: number;
}

interface Mark extends Message {
  at: number;
  bytes: number;
  written: number;
  streams: number;
  mismatches: number;
  cpu: { userMs: number; systemMs: number };
}

export interface RunResult {
  peer: string;
  label: string;
  encrypted: boolean;
  streams: number;
  /** Goodput at the receiver over the measured window, MB = 10^6 bytes. */
  goodputMBps: number;
  seconds: number;
  bytes: number;
  senderCpuPercent: number;
  receiverCpuPercent: number;
  /** Everything else's task time during the window, % of one core. */
  otherCpuPercent: number;
  /** Chunks whose spot-checked bytes did not match the pattern (should be 0). */
  mismatches: number;
  openMs: number;
  /** Packets the lossy link dropped during the window (null on loopback). */
  linkDrops: number | null;
  machineLoad: CpuLoad;
  sender: { info: unknown; stats: unknown };
  receiver: { info: unknown; stats: unknown };
}

const cpuMs = (m: Mark): number => m.cpu.userMs + m.cpu.systemMs;

export async function runThroughput(spec: RunSpec): Promise<RunResult> {
  const mod = PEERS[spec.peer];
  const g = new Pair();
  const local = spec.link === null;
  const base = {
    peer: spec.peer, maxStreams: Math.max(1024, spec.streams), label: spec.label, faultLoss: spec.faultLoss,
    watchdogSeconds: spec.warmupSeconds + spec.seconds + 90,
  };
  const rxCfg = { ...base, role: 'receiver', host: local ? '127.0.0.1' : spec.link!.receiverHost, peerHost: local ? '127.0.0.1' : spec.link!.senderHost };
  const txCfg = { ...base, role: 'sender', host: rxCfg.peerHost, peerHost: rxCfg.host };
  const prefix = (ns: 'sender' | 'receiver'): string[] | undefined => (local ? undefined : spec.link!.link.exec(spec.link!.link[ns]));
  try {
    status(`${spec.label}: starting`);
    const rx = g.spawn(`${spec.peer} receiver`, rxCfg, spec.pin ? 1 : null, { prefix: prefix('receiver') });
    const tx = g.spawn(`${spec.peer} sender`, txCfg, spec.pin ? 0 : null, { prefix: prefix('sender') });
    const [rr, tr] = await g.guard(Promise.all([rx.next('ready', 60_000), tx.next('ready', 60_000)]));
    const k1 = randomBytes(32).toString('hex');
    const k2 = randomBytes(32).toString('hex');
    await g.call(rx, 'setup', { peerInfo: tr.info, txKey: k2, rxKey: k1 }, 30_000);
    await g.call(tx, 'setup', { peerInfo: rr.info, txKey: k1, rxKey: k2 }, 30_000);
    await g.call(rx, 'accept', { n: spec.streams }, 30_000);
    status(`${spec.label}: opening ${spec.streams} stream${spec.streams > 1 ? 's' : ''}`);
    const opened = await g.call<Message & { openMs: number }>(tx, 'open', { n: spec.streams }, 60_000);
    await g.call(tx, 'start', {}, 10_000);
    await g.sleep(spec.warmupSeconds);
    const drops0 = spec.link?.link.dropped() ?? null;
    const ticks0 = cpuTicks();
    const w0 = performance.now();
    const [r0, s0] = await Promise.all([g.call<Mark>(rx, 'mark', {}, 10_000), g.call<Mark>(tx, 'mark', {}, 10_000)]);
    await g.sleep(spec.seconds);
    const [r1, s1] = await Promise.all([g.call<Mark>(rx, 'mark', {}, 10_000), g.call<Mark>(tx, 'mark', {}, 10_000)]);
    const load = cpuLoad(ticks0, cpuTicks(), (performance.now() - w0) / 1000);
    const drops1 = spec.link?.link.dropped() ?? null;
    await g.call(tx, 'stop', {}, 10_000);
    const [rs, ts] = await Promise.all([g.call(rx, 'stats', {}, 10_000), g.call(tx, 'stats', {}, 10_000)]);

    const seconds = (r1.at - r0.at) / 1000;
    const txSeconds = (s1.at - s0.at) / 1000;
    const bytes = r1.bytes - r0.bytes;
    return {
      peer: spec.peer,
      label: mod.label,
      encrypted: mod.encrypted,
      streams: spec.streams,
      goodputMBps: bytes / seconds / 1e6,
      seconds,
      bytes,
      senderCpuPercent: ((cpuMs(s1) - cpuMs(s0)) / (txSeconds * 1000)) * 100,
      receiverCpuPercent: ((cpuMs(r1) - cpuMs(r0)) / (seconds * 1000)) * 100,
      otherCpuPercent: otherCpu(load, cpuMs(s1) - cpuMs(s0) + cpuMs(r1) - cpuMs(r0)),
      mismatches: r1.mismatches,
      openMs: opened.openMs,
      linkDrops: drops0 === null || drops1 === null ? null : drops1 - drops0,
      machineLoad: load,
      sender: { info: tr.info, stats: ts.stats },
      receiver: { info: rr.info, stats: rs.stats },
    };
  } finally {
    await g.stop();
  }
}
