/** Parent-side helpers of the session section: requests to children, machine load, CPU figures. */
import { fileURLToPath } from 'node:url';
import { Group as ChildGroup } from '../lib/group.js';
import { cpuLoad, cpuTicks, type CpuLoad } from '../lib/machine.js';
import type { CpuMs } from './child-lib.js';

export const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** The session section's children (bench/lib/group.ts on this section's child script). */
export class Group extends ChildGroup {
  constructor() {
    super(CHILD);
  }
}

export function cpuMs(c: CpuMs): number {
  return c.userMs + c.systemMs;
}

export function cpuPercent(c: CpuMs, seconds: number): number {
  return seconds > 0 ? (cpuMs(c) / (seconds * 1000)) * 100 : 0;
}

/** Measures the machine's CPU while `fn` runs. */
export async function withLoad<T>(fn: () => Promise<T>): Promise<{ value: T; load: CpuLoad }> {
  const t0 = cpuTicks();
  const w0 = performance.now();
  const value = await fn();
  return { value, load: cpuLoad(t0, cpuTicks(), (performance.now() - w0) / 1000) };
}

/** Task time of everything but our children, in % of one core, over the load's window. */
export function otherCpu(load: CpuLoad, oursMs: number): number {
  return Math.max(0, load.taskTotal - (oursMs / 1000 / Math.max(load.seconds, 1e-9)) * 100);
}
