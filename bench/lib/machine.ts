/** What the figures were measured on: recorded with every result file. */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/native/binding.js';
import { Transport } from '../../src/transport/transport.js';

export interface Machine {
  cpuModel: string;
  cores: number;
  totalMemoryBytes: number;
  os: string;
  kernel: string;
  node: string;
  sodiumVersion: string;
  aesGcmAvailable: boolean;
  hublessFeatures: { gso: boolean; gro: boolean };
  rmemMax: number | null;
  wmemMax: number | null;
  taskset: boolean;
  git: { commit: string | null; dirty: boolean | null };
  /** The addon file node-gyp-build loads (a local build wins over the prebuild), and its mtime. */
  addon: { file: string | null; modified: string | null };
}

function addonFile(): { file: string | null; modified: string | null } {
  try {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const file = createRequire(import.meta.url)('node-gyp-build').resolve(root) as string;
    return { file: path.relative(root, file), modified: statSync(file).mtime.toISOString() };
  } catch {
    return { file: null, modified: null };
  }
}

function readNumber(path: string): number | null {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return null;
  }
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return null;
  }
}

export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export async function describeMachine(): Promise<Machine> {
  const t = await Transport.open({ host: '127.0.0.1', port: 0, ref: false });
  const features = { ...t.features };
  t.close();
  const status = git(['status', '--porcelain', '--', 'native', 'src', 'bench', 'binding.gyp']);
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    totalMemoryBytes: os.totalmem(),
    os: `${os.type()} ${os.arch()}`,
    kernel: os.release(),
    node: process.version,
    sodiumVersion: native.constants.sodiumVersion,
    aesGcmAvailable: native.constants.aesGcmAvailable,
    hublessFeatures: features,
    rmemMax: readNumber('/proc/sys/net/core/rmem_max'),
    wmemMax: readNumber('/proc/sys/net/core/wmem_max'),
    taskset: hasTaskset(),
    git: { commit: git(['rev-parse', 'HEAD']), dirty: status === null ? null : status.length > 0 },
    addon: addonFile(),
  };
}

/** Kernel UDP counters (all sockets on the host): where the kernel dropped datagrams. */
export function udpSnmp(): Record<string, number> {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0].split(/\s+/).slice(1);
    const values = lines[1].split(/\s+/).slice(1).map(Number);
    const out: Record<string, number> = {};
    names.forEach((n, i) => (out[n] = values[i]));
    return out;
  } catch {
    return {};
  }
}

export function snmpDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after)) if (k in before) out[k] = after[k] - before[k];
  return out;
}

/** Per-CPU jiffies from /proc/stat: [user, nice, system, idle, iowait, irq, softirq, steal]. */
export function cpuTicks(): number[][] {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n')
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => l.trim().split(/\s+/).slice(1, 9).map(Number));
  } catch {
    return [];
  }
}

export interface CpuLoad {
  seconds: number;
  /** Per CPU, % of wall time: user+nice+system, softirq+irq, steal, idle+iowait. */
  perCpu: { task: number; irq: number; steal: number; idle: number }[];
  /** All CPUs' task time (user+nice+system) in % of one core. */
  taskTotal: number;
}

const HZ = 100; // USER_HZ: /proc/stat counts in 1/100 s on Linux

export function cpuLoad(before: number[][], after: number[][], seconds: number): CpuLoad {
  const perCpu = after.map((a, i) => {
    const b = before[i] ?? a;
    const d = a.map((v, k) => v - b[k]);
    const pct = (ticks: number): number => (seconds > 0 ? (ticks / HZ / seconds) * 100 : 0);
    return { task: pct(d[0] + d[1] + d[2]), irq: pct(d[5] + d[6]), steal: pct(d[7]), idle: pct(d[3] + d[4]) };
  });
  return { seconds, perCpu, taskTotal: perCpu.reduce((s, c) => s + c.task, 0) };
}

/** Task CPU load of the whole machine over `ms`, in % of one core. */
export async function sampleLoad(ms: number): Promise<number> {
  const b = cpuTicks();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return cpuLoad(b, cpuTicks(), (performance.now() - t0) / 1000).taskTotal;
}
