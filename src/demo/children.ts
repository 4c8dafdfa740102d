/**
 * The demo's child processes: started with IPC, read as JSON report lines, awaited report by
 * report, stopped on purpose (stop) or all at once (stopAll). A child that dies on its own, or
 * reports `fatal`, fails every wait at once, so the demo never hangs on a dead agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HublessError, isHublessErrorCode } from '../errors.js';
import type { Command, Report } from './protocol.js';

// The agent module sits next to this one, as .ts under tsx and .js when compiled.
const AGENT = fileURLToPath(new URL(`./agent${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

interface Waiter {
  pred: (r: Report) => boolean;
  resolve: (r: Report) => void;
  reject: (e: Error) => void;
}

export class Child {
  readonly label: string;
  readonly process: ChildProcess;
  readonly #owner: Children;
  readonly #buffer: Report[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #listeners: ((r: Report) => void)[] = [];
  #ipc: Promise<void>;
  /** Set when its exit is expected (stopped on purpose, or a final child that finished). */
  expectExit = false;
  readonly exited: Promise<void>;

  constructor(owner: Children, label: string, args: string[], final: boolean) {
    this.#owner = owner;
    this.label = label;
    this.process = spawn(process.execPath, [...process.execArgv, AGENT, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    this.#ipc = new Promise((resolve) => this.process.once('message', () => resolve()));
    createInterface({ input: this.process.stdout! }).on('line', (line) => this.#line(line));
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        if (!this.expectExit && !(final && code === 0)) {
          owner.fail(new HublessError('ERR_HUBLESS_DEMO_AGENT', `${label} exited unexpectedly (${signal ?? `code ${code}`})`));
        }
        resolve();
      });
    });
  }

  #line(line: string): void {
    let r: Report;
    try {
      r = JSON.parse(line) as Report;
    } catch {
      this.#owner.log(`  [${this.label}] ${line}`);
      return;
    }
    if (r.event === 'fatal') {
      const code = isHublessErrorCode(r.code) ? r.code : 'ERR_HUBLESS_DEMO_AGENT';
      this.#owner.fail(new HublessError(code, `${this.label}: ${r.error}`));
      return;
    }
    for (const l of this.#listeners) l(r);
    for (const w of this.#waiters) {
      if (w.pred(r)) {
        this.#waiters.delete(w);
        w.resolve(r);
        return;
      }
    }
    this.#buffer.push(r);
  }

  on(listener: (r: Report) => void): void {
    this.#listeners.push(listener);
  }

  /** The next report (buffered or future) that matches. */
  next<T extends Report>(pred: (r: Report) => r is T): Promise<T>;
  next(pred: (r: Report) => boolean): Promise<Report>;
  next(pred: (r: Report) => boolean): Promise<Report> {
    const i = this.#buffer.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.#buffer.splice(i, 1)[0]);
    if (this.#owner.failure !== null) return Promise.reject(this.#owner.failure);
    return new Promise((resolve, reject) => this.#waiters.add({ pred, resolve, reject }));
  }

  /** Resolves once the agent listens for commands. */
  ipcReady(): Promise<void> {
    return Promise.race([this.#ipc, this.#owner.failed]);
  }

  /** Sends a command and waits for the report that ends it. */
  command(c: Command, until: (r: Report) => boolean): Promise<Report> {
    this.process.send(c);
    return this.next(until);
  }

  /** @internal */
  failWaiters(err: Error): void {
    for (const w of this.#waiters) w.reject(err);
    this.#waiters.clear();
  }

  /** Stops this child on purpose (SIGTERM; SIGKILL after 2 s) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.expectExit = true;
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill(signal);
      const t = setTimeout(() => this.process.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(t);
    }
  }
}

export class Children {
  readonly log: (line: string) => void;
  readonly #all = new Set<Child>();
  failure: Error | null = null;
  #rejectFailed!: (e: Error) => void;
  /** Rejects with the first failure. */
  readonly failed: Promise<never> = new Promise((_, reject) => { this.#rejectFailed = reject; });

  constructor(log: (line: string) => void) {
    this.log = log;
    this.failed.catch(() => {});
  }

  start(args: string[], label: string, options: { final?: boolean } = {}): Child {
    const c = new Child(this, label, args, options.final ?? false);
    this.#all.add(c);
    void c.exited.then(() => this.#all.delete(c));
    return c;
  }

  fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.#rejectFailed(err);
    for (const c of this.#all) c.failWaiters(err);
  }

  /** Stops every child still running and waits until all have exited. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#all].map((c) => c.stop()));
  }
}
