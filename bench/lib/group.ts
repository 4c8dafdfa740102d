/**
 * The child processes of one benchmark run: whichever dies ends whatever the parent is waiting
 * for, and all are stopped at the end. Each section binds it to its own child script.
 */
import { Child, type ChildExtras, type Message } from './proc.js';
import { status } from './progress.js';

export class Group {
  readonly children: Child[] = [];
  #dies: Promise<never> = new Promise<never>(() => {});

  /** `script`: the section's child entry point; `stopGraceMs`: how long stop() waits before a kill. */
  constructor(readonly script: string, readonly stopGraceMs?: number) {}

  spawn(name: string, config: Record<string, unknown>, cpu: number | null, extras: ChildExtras = {}): Child {
    const c = new Child(name, this.script, [JSON.stringify(config)], cpu, extras);
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

  sleep(seconds: number): Promise<void> {
    return this.guard(new Promise<void>((r) => setTimeout(r, seconds * 1000)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop(this.stopGraceMs)));
  }
}
