// Keeping an agent's record in the directory: register, heartbeat, re-sign.
//
// - The first registration signs a record (seq = a millisecond clock, strictly increasing in this
//   process, so it also increases across restarts) and registers it.
// - Heartbeats renew the lease every third of the lease the directory grants; renewals need no
//   new signature (the directory authenticates them on the session).
// - The record is re-signed with a higher seq when anything in it changes: the node's endpoints
//   (a move to a new IP or port: same key, same nonce, so the same address), the endpoint the
//   directory sees us at (the reflexive endpoint), the fields given to update(), or when it
//   nears its signed expiry (a quarter of its lifetime left).
// - A renewal refused with ERR_HUBLESS_NOT_REGISTERED (the lease lapsed, or a directory lost its
//   state) registers again; ERR_HUBLESS_STALE_RECORD (a retried registration that had reached a
//   replica) re-signs with a higher seq. Unreachable directories are retried with backoff, and
//   the agent goes on trying forever: presence returns when a directory does.
import { EventEmitter } from 'node:events';
import { HublessError } from '../errors.js';
import type { DirectoryClient } from './client.js';
import { ProtocolCodes, type LeaseAnswer, type ObservedEndpoint } from './protocol.js';
import { signRecord } from './record.js';
import type { Endpoint, RecordInput, RecordSigner, SignedRecord } from './record-types.js';

/** The fields of a record an agent chooses (the rest is filled in here). */
export type RecordFields = Omit<RecordInput, 'address' | 'nonce' | 'seq' | 'issuedAt' | 'expiresAt' | 'endpoints'>;

export interface RegistrationOptions {
  client: Pick<DirectoryClient, 'register' | 'renew' | 'deregister'>;
  signer: RecordSigner;
  address: string;
  nonce: number;
  fields: RecordFields;
  /** The node's current local endpoints (re-read at every heartbeat). */
  endpoints: () => Endpoint[];
  /** Signed lifetime of a record (ms; default 1 h). */
  recordTtlMs?: number;
  /** Delay before retrying when no directory answers (ms; default 1,000, doubling up to 4×). */
  retryMs?: number;
  now?: () => number;
}

export interface RegistrationEvents {
  /** A registration or renewal succeeded. */
  lease: [lease: LeaseAnswer & { record: SignedRecord }];
  /** A registration or heartbeat failed (the agent keeps trying unless the error is definitive). */
  warning: [error: Error];
}

const DEFINITIVE = new Set<string>([
  'ERR_HUBLESS_HOSTNAME_TAKEN', 'ERR_HUBLESS_ADDRESS_TAKEN', 'ERR_HUBLESS_BAD_RECORD', 'ERR_HUBLESS_RECORD_TOO_LARGE',
  'ERR_HUBLESS_BAD_BINDING', 'ERR_HUBLESS_NOT_OWNER', 'ERR_HUBLESS_BAD_CAPABILITY', 'ERR_HUBLESS_BAD_SIGNATURE',
]);

const keyOf = (eps: Endpoint[]) => eps.map((e) => `${e.host}|${e.port}`).join(',');

const sameEndpoints = (a: Endpoint[], b: Endpoint[]) =>
  a.length === b.length && a.every((e, i) => e.host === b[i].host && e.port === b[i].port && e.kind === b[i].kind);

export class Registration extends EventEmitter<RegistrationEvents> {
  readonly #o: Required<Omit<RegistrationOptions, 'now'>> & { now: () => number };
  #fields: RecordFields;
  #record: SignedRecord | null = null;
  #lease: LeaseAnswer | null = null;
  #observed: ObservedEndpoint | null = null;
  /** The local endpoints (as keyOf) of the record the observation answered. */
  #observedFor = '';
  #seq = 0;
  #timer: NodeJS.Timeout | null = null;
  #failures = 0;
  #running: Promise<void> | null = null;
  #dirty = true;
  #stopped = false;
  /** The error that stopped the agent (hostname taken, ...), if any. */
  fatal: HublessError | null = null;

  constructor(options: RegistrationOptions) {
    super();
    this.#o = {
      ...options, recordTtlMs: options.recordTtlMs ?? 3600_000, retryMs: options.retryMs ?? 1000, now: options.now ?? Date.now,
    };
    this.#fields = options.fields;
  }

  /** The record last accepted by a directory. */
  get record(): SignedRecord | null {
    return this.#record;
  }

  get lease(): LeaseAnswer | null {
    return this.#lease;
  }

  /** True while the last registration or heartbeat was accepted and its lease has not ended. */
  get registered(): boolean {
    return this.#lease !== null && this.#lease.leaseUntil > this.#o.now();
  }

  /**
   * Registers now. Resolves with the lease; rejects with the directory's refusal or with
   * ERR_HUBLESS_DIRECTORY_UNAVAILABLE. Either way the agent keeps the registration alive from
   * here on (retrying when unavailable; stopping on a definitive refusal).
   */
  start(): Promise<LeaseAnswer> {
    return this.#step(true);
  }

  /** Changes the record's fields (capabilities, hostname, ...) and re-registers at once. */
  update(fields: Partial<RecordFields>): Promise<LeaseAnswer> {
    this.#fields = { ...this.#fields, ...fields };
    this.#dirty = true;
    return this.#step(true);
  }

  /** Stops heartbeats; with `deregister`, removes the record (waiting at most `timeoutMs`, default 1,000). */
  async stop(options: { deregister?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => {});
    if (options.deregister && this.#lease !== null) {
      this.#lease = null;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#o.client.deregister(this.#o.address).catch(() => {}),
        new Promise((r) => (timer = setTimeout(r, options.timeoutMs ?? 1000))),
      ]);
      clearTimeout(timer);
    }
  }

  #endpoints(): Endpoint[] {
    const local = this.#o.endpoints().slice(0, 15);
    // An endpoint observed for other local endpoints (before a move) says nothing about the new ones.
    const o = this.#observedFor === keyOf(local) ? this.#observed : null;
    if (o !== null && !local.some((e) => e.host === o.host && e.port === o.port)) {
      // What the directory saw comes first: it is the address others outside reach us at.
      return [{ host: o.host, port: o.port, kind: 'reflexive' }, ...local];
    }
    return local;
  }

  #sign(): SignedRecord {
    const now = this.#o.now();
    this.#seq = Math.max(this.#seq + 1, now);
    return signRecord({
      ...this.#fields,
      address: this.#o.address,
      nonce: this.#o.nonce,
      endpoints: this.#endpoints(),
      seq: this.#seq,
      issuedAt: now,
      expiresAt: now + this.#o.recordTtlMs,
    }, this.#o.signer);
  }

  #needsNewRecord(): boolean {
    const r = this.#record;
    if (this.#dirty || r === null || this.#lease === null) return true;
    if (!sameEndpoints(r.record.endpoints, this.#endpoints())) return true;
    const life = r.record.expiresAt - r.record.issuedAt;
    return r.record.expiresAt - this.#o.now() < life / 4;
  }

  #step(explicit: boolean): Promise<LeaseAnswer> {
    const run = (this.#running ?? Promise.resolve()).catch(() => {}).then(() => this.#once(explicit));
    this.#running = run.then(() => {}, () => {});
    return run;
  }

  async #once(explicit: boolean): Promise<LeaseAnswer> {
    if (this.#stopped) throw new HublessError(ProtocolCodes.CLOSED, 'the registration was stopped');
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    try {
      const lease = await this.#attempt();
      this.#failures = 0;
      this.fatal = null;
      this.#schedule(Math.max(20, Math.floor(lease.leaseMs / 3)));
      return lease;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (this.listenerCount('warning') > 0) this.emit('warning', e);
      if (DEFINITIVE.has((e as HublessError).code)) {
        this.fatal = e as HublessError;
        this.#lease = null;
        if (!explicit) this.#schedule(30_000); // someone may free the name: try again, rarely
      } else {
        this.#failures++;
        this.#schedule(this.#o.retryMs * 2 ** Math.min(this.#failures - 1, 2));
      }
      throw e;
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#step(false).catch(() => {}), ms);
    this.#timer.unref();
  }

  async #attempt(): Promise<LeaseAnswer> {
    if (!this.#needsNewRecord()) {
      try {
        const lease = await this.#o.client.renew(this.#o.address);
        return this.#accepted(lease, this.#record!);
      } catch (err) {
        if ((err as HublessError).code !== ProtocolCodes.NOT_REGISTERED) throw err;
        // The lease lapsed (or the directory lost it): register the record again, re-signed.
      }
    }
    for (let i = 0; ; i++) {
      const record = this.#sign();
      try {
        const lease = await this.#o.client.register(record);
        this.#dirty = false;
        return this.#accepted(lease, record);
      } catch (err) {
        if ((err as HublessError).code !== 'ERR_HUBLESS_STALE_RECORD' || i >= 2) throw err;
        this.#seq += 1000 * 2 ** i; // a replica already has this seq (a retried registration)
      }
    }
  }

  #accepted(lease: LeaseAnswer, record: SignedRecord): LeaseAnswer {
    this.#record = record;
    this.#lease = lease;
    this.#observed = lease.observed;
    this.#observedFor = keyOf(record.record.endpoints.filter((e) => e.kind === 'local'));
    this.emit('lease', { ...lease, record });
    // A changed view of our endpoint is picked up by the next heartbeat (#needsNewRecord).
    return lease;
  }
}
