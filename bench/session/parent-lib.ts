/** Parent-side helpers of the session section: requests to children, machine load, CPU figures. */
import { fileURLToPath } from 'node:url';
import { cpuLoad, cpuTicks, type CpuLoad } from '../lib/machine.js';
import { Child, type ChildExtras, type Message } from '../lib/proc.js';
import { status } from '../lib/progress.js';
import type { CpuMs } from './child-lib.js';

export const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** Two (or more) children whose death ends whatever the parent is waiting for. */
export class Group {
  readonly children: Child[] = [];
  #dies: Promise<never> = new Promise<never>(() => {});

  spawn(name: string, config: Record<string, unknown>, cpu: number | null, extras: ChildExtras = {}): Child {
    const c = new Child(name, CHILD, [JSON.stringify(config)], cpu, extras);
    c.on('tick', (m) => status(String(m.text)));
    this.children.push(c);
    this.#dies = Promise.race([this.#dies, c.exited]);
    this.#dies.catch(() => {});
    return c;
  }

  /** `p`, unless a child of the group dies first. */
  guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.#dies]);
  }

  /** Sends a request and waits (bounded) for its reply. */
  call<T extends Message = Message>(c: Child, method: string, args: Record<string, unknown>, timeoutMs: number): Promise<T> {
    c.send({ type: method, ...args });
    return this.guard(c.next<T>(`${method}:ok`, timeoutMs));
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop()));
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
