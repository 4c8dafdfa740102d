/**
 * The two processes of one stream run (bench/stream/child.ts): whichever dies ends whatever the
 * parent is waiting for, and both are stopped at the end. Like session/parent-lib.ts's Group,
 * for this section's child script.
 */
import { fileURLToPath } from 'node:url';
import { Child, type ChildExtras, type Message } from '../lib/proc.js';
import { status } from '../lib/progress.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export class Pair {
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

  /** `p`, unless a child dies first. */
  guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.#dies]);
  }

  /** Sends a request and waits (bounded) for its reply. */
  call<T extends Message = Message>(c: Child, method: string, args: Record<string, unknown>, timeoutMs: number): Promise<T> {
    c.send({ type: method, ...args });
    return this.guard(c.next<T>(`${method}:ok`, timeoutMs));
  }

  sleep(seconds: number): Promise<void> {
    return this.guard(new Promise<void>((r) => setTimeout(r, seconds * 1000)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop()));
  }
}
