/**
 * Child processes for the benchmarks: spawned with an IPC channel, optionally pinned to one CPU
 * with taskset, every wait bounded by a timeout, and every child killed when the parent leaves
 * (normal exit, error, Ctrl-C) so that no benchmark process outlives `npm run bench`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      process.stderr.write(`\nbench: ${sig}, children killed\n`);
      process.exit(130);
    });
  }
}

export interface ChildExtras {
  /** Extra environment variables (e.g. UV_THREADPOOL_SIZE). */
  env?: Record<string, string>;
  /** Extra node flags before the script (e.g. --expose-gc). */
  nodeArgs?: string[];
  /** Command words run before taskset/node, e.g. ['ip', 'netns', 'exec', name] (both exec in place). */
  prefix?: string[];
}

export interface Message {
  type: string;
  [key: string]: unknown;
}

/** A child with a message inbox: `next(type)` waits for the next message of that type. */
export class Child {
  readonly proc: ChildProcess;
  readonly name: string;
  readonly #inbox: Message[] = [];
  #waiter: (() => void) | null = null;
  #exited: string | null = null;
  #onExit: ((e: Error) => void) | null = null;
  /** Rejects when the child exits (or fails to start); never resolves. For races with next(). */
  readonly exited: Promise<never>;
  readonly #listeners = new Map<string, (m: Message) => void>();

  constructor(name: string, script: string, args: string[], cpu: number | null, extras: ChildExtras = {}) {
    hookExit();
    this.name = name;
    this.exited = new Promise<never>((_, reject) => {
      this.#onExit = reject;
    });
    this.exited.catch(() => {}); // a normal exit is no error unless someone is racing it
    const nodeArgs = [...(extras.nodeArgs ?? []), '--import', 'tsx', script, ...args];
    const inner = cpu === null
      ? [process.execPath, ...nodeArgs]
      : ['taskset', '-c', String(cpu), process.execPath, ...nodeArgs];
    const [cmd, ...argv] = [...(extras.prefix ?? []), ...inner];
    // The child's stdout goes to our stderr: stdout is reserved for the tables or the JSON.
    const env = extras.env === undefined ? process.env : { ...process.env, ...extras.env };
    this.proc = spawn(cmd, argv, { cwd: repoRoot, env, stdio: ['ignore', 2, 'inherit', 'ipc'] });
    live.add(this.proc);
    this.proc.on('message', (m: Message) => {
      const l = this.#listeners.get(m.type);
      if (l) return l(m);
      this.#inbox.push(m);
      this.#waiter?.();
    });
    this.proc.on('exit', (code, signal) => {
      live.delete(this.proc);
      this.#exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.#onExit?.(new Error(`${this.name} ${this.#exited}`));
      this.#waiter?.();
    });
    this.proc.on('error', (e) => {
      live.delete(this.proc);
      this.#exited = `failed to start: ${e.message}`;
      this.#onExit?.(new Error(`${this.name} ${this.#exited}`));
      this.#waiter?.();
    });
  }

  /** Messages of this type go to `fn` instead of the inbox (e.g. progress ticks). */
  on(type: string, fn: (m: Message) => void): void {
    this.#listeners.set(type, fn);
  }

  send(m: Message): void {
    if (this.proc.connected) this.proc.send(m);
  }

  /** The next message of `type`; an 'error' message from the child, its exit or the timeout rejects. */
  async next<T extends Message = Message>(type: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#inbox.findIndex((m) => m.type === type || m.type === 'error');
      if (i >= 0) {
        const m = this.#inbox.splice(i, 1)[0];
        if (m.type === 'error') throw new Error(`${this.name}: ${String(m.message)}`);
        return m as T;
      }
      if (this.#exited !== null) throw new Error(`${this.name} ${this.#exited} while waiting for '${type}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = null;
    }
  }

  /** Asks the child to exit, then kills it if it has not within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.#exited !== null) return;
    this.send({ type: 'exit' });
    const deadline = Date.now() + graceMs;
    while (this.#exited === null && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = null;
    }
    if (this.#exited === null) this.kill();
  }

  /**
   * Pins every thread of the running child (V8's, libuv's pool) to one CPU with `taskset -a -p`;
   * threads it starts later inherit that. Lets a child do its setup on every core first.
   */
  pin(cpu: number): void {
    if (this.proc.pid === undefined) throw new Error(`${this.name} has no pid`);
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(this.proc.pid)], { stdio: 'ignore', timeout: 5000 });
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null && this.proc.pid !== undefined) {
      try {
        process.kill(this.proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
