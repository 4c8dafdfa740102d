// Directory store on Redis, so several stateless directory replicas share one state.
//
//   {P}r:<id>        hash: a address, b signed bytes, l leaseUntil, x expiresAt, s seq,
//                    k key hex, h hostname, c/g capability/group names ("\n"-joined);
//                    PEXPIREAT leaseUntil + retention: presence by TTL even if nobody sweeps
//   {P}h:<hostname>  → id          {P}ic:<cap>, {P}ig:<group>, {P}all  → sorted sets of ids
//   {P}exp           sorted set id by leaseUntil (what sweep() walks)
//   {P}changes       pub/sub channel of change events (published by the scripts)
//   {P}sig:<name>    pub/sub channels of publishSignal/onSignal
// Index sets use score 0 and lexicographic order (ZRANGEBYLEX), which is node-id order, so
// paging is keyset paging straight from Redis. Writes go through the Lua scripts of
// redis-scripts.ts; watches are fed only from pub/sub (also for this replica's own writes),
// so every replica sees the same events. Durability is Redis's: a put resolves once Redis has
// applied it; configure appendonly/fsync on the Redis side for crash safety.
// Clocks: `now` comes from the caller (injectable), so replicas need synchronized clocks.
import { Redis, type RedisOptions } from 'ioredis';
import { DirectoryCodes, directoryError, type DirectoryCode } from './codes.js';
import { collectPage, planQuery, singleSource, unionSource, type KeySource, type StoredRecord } from './paging.js';
import { conflictMessage } from './put-rules.js';
import { validateQuery, visibleTo, type DirectoryQuery, type ViewOptions } from './query.js';
import { RecordCache } from './record-cache.js';
import { decodeRecord } from './record.js';
import type { SignedRecord } from './record-types.js';
import { SCRIPTS, type LuaScript } from './redis-scripts.js';
import {
  checkLeaseTime, checkSignalChannel, effectiveLease, recordKey, type ChangeListener, type DirectoryStore, type PutOptions,
  type PutResult, type QueryPage, type SignalBus, type StoreOptions, type Watch,
} from './store.js';
import { WatchHub, type Change } from './watch-hub.js';
import { HublessError } from '../errors.js';

export interface RedisStoreOptions extends StoreOptions {
  /** `redis://host:port/db`; ignored when `client` is given. Default redis://127.0.0.1:6379. */
  url?: string;
  /** Extra ioredis options for connections this store creates. */
  redisOptions?: RedisOptions;
  /** Use this connection (the store duplicates it for pub/sub and does not quit it on close). */
  client?: Redis;
  /** Key prefix; keep a hash tag so Redis Cluster puts every key in one slot. */
  prefix?: string;
  /** How long a record key outlives its lease in Redis if no replica sweeps. Default 10 min. */
  retentionMs?: number;
  cacheSize?: number;
}

const SWEEP_BATCH = 500;
const CAUSES: Record<string, Change['cause']> = { P: 'put', R: 'removed', E: 'expired' };
const CONFLICTS: Record<string, DirectoryCode> = {
  STALE: DirectoryCodes.STALE_RECORD,
  ADDRESS: DirectoryCodes.ADDRESS_TAKEN,
  HOSTNAME: DirectoryCodes.HOSTNAME_TAKEN,
  EXPIRED: DirectoryCodes.RECORD_EXPIRED,
};

const hex = (k: Uint8Array) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');

export class RedisDirectoryStore implements DirectoryStore, SignalBus {
  readonly #client: Redis;
  readonly #sub: Redis;
  readonly #ownsClient: boolean;
  readonly #p: string;
  readonly #now: () => number;
  readonly #retention: number;
  readonly #hub = new WatchHub();
  readonly #cache: RecordCache;
  readonly #signals = new Map<string, Set<(payload: Buffer) => void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Use openRedisStore(): it waits until the change subscription is active. */
  constructor(options: RedisStoreOptions = {}) {
    this.#ownsClient = !options.client;
    this.#client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3, ...options.redisOptions });
    this.#sub = this.#client.duplicate();
    // Connection errors surface through the failing commands; keep ioredis from logging them.
    this.#client.on('error', () => {});
    this.#sub.on('error', () => {});
    this.#p = options.prefix ?? '{hubless:dir}:';
    this.#now = options.now ?? Date.now;
    this.#retention = options.retentionMs ?? 600_000;
    this.#cache = new RecordCache(options.cacheSize);
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#onMessage(channel.toString(), message));
    const every = options.sweepIntervalMs ?? 1000;
    if (every > 0) {
      this.#timer = setInterval(() => void this.sweep().catch(() => {}), every);
      this.#timer.unref();
    }
  }

  /** Subscribes to the change channel; resolves once events will be received. */
  async start(): Promise<this> {
    await this.#guard(() => this.#sub.subscribe(`${this.#p}changes`));
    return this;
  }

  #check(): void {
    if (this.#closed) throw directoryError(DirectoryCodes.STORE_CLOSED, 'directory store is closed');
  }

  async #guard<T>(op: () => Promise<T>): Promise<T> {
    this.#check();
    try {
      return await op();
    } catch (err) {
      if (err instanceof HublessError) throw err;
      throw directoryError(DirectoryCodes.STORE_FAILED, `redis: ${(err as Error).message}`, err);
    }
  }

  async #run(s: LuaScript, args: (string | Buffer | number)[]): Promise<unknown> {
    return this.#guard(async () => {
      try {
        return await this.#client.callBuffer('EVALSHA', s.sha, 0, this.#p, ...args);
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
        return this.#client.callBuffer('EVAL', s.lua, 0, this.#p, ...args);
      }
    });
  }

  async put(signed: SignedRecord, options?: PutOptions): Promise<PutResult> {
    const r = signed.record;
    const id = recordKey(r.address);
    const now = this.#now();
    const lease = effectiveLease(signed, options, now);
    const reply = (await this.#run(SCRIPTS.put, [
      id, r.address, Buffer.from(signed.bytes), lease, r.expiresAt, r.seq, hex(r.publicKey), r.hostname ?? '',
      r.capabilities.map((c) => c.name).join('\n'), r.groups.join('\n'), now, lease + this.#retention,
    ])) as Buffer[];
    const status = reply[0].toString();
    if (status !== 'OK') {
      const code = CONFLICTS[status] ?? DirectoryCodes.STORE_FAILED;
      throw directoryError(code, conflictMessage(code, r, reply[1] ? Number(reply[1].toString()) : undefined));
    }
    if (reply[1].length === 0) return { leaseUntil: lease };
    return { leaseUntil: lease, previous: decodeRecord(new Uint8Array(reply[1])) };
  }

  async #load(ids: string[], now: number): Promise<(StoredRecord | undefined)[]> {
    if (ids.length === 0) return [];
    const pipe = this.#client.pipeline();
    for (const id of ids) pipe.hmgetBuffer(`${this.#p}r:${id}`, 'b', 'l');
    const results = (await pipe.exec()) ?? [];
    return results.map(([err, v], i) => {
      if (err) throw err;
      const [b, l] = v as (Buffer | null)[];
      if (!b || !l) return undefined;
      const lease = Number(l.toString());
      return lease > now ? { signed: this.#cache.decode(ids[i], b), leaseUntil: lease } : undefined;
    });
  }

  async #live(id: string | null | undefined, view: ViewOptions | undefined): Promise<SignedRecord | undefined> {
    if (!id) return undefined;
    const [s] = await this.#load([id], this.#now());
    return s && visibleTo(s.signed.record, view) ? s.signed : undefined;
  }

  async get(address: string, view?: ViewOptions): Promise<SignedRecord | undefined> {
    const id = recordKey(address);
    const s = await this.#guard(() => this.#live(id, view));
    return s && s.record.address === address ? s : undefined;
  }

  async getByHostname(hostname: string, view?: ViewOptions): Promise<SignedRecord | undefined> {
    if (typeof hostname !== 'string') return undefined;
    const s = await this.#guard(async () => this.#live(await this.#client.get(`${this.#p}h:${hostname}`), view));
    return s && s.record.hostname === hostname ? s : undefined;
  }

  #lexSource(key: string): KeySource {
    return (after, n) => this.#client.zrangebylex(key, after === undefined ? '-' : `(${after}`, '+', 'LIMIT', 0, n);
  }

  async query(query: DirectoryQuery, view: ViewOptions = {}): Promise<QueryPage> {
    this.#check();
    const q = validateQuery(query);
    return this.#guard(async () => {
      const plan = planQuery(q);
      let source: KeySource;
      if (plan.kind === 'address') source = singleSource(recordKey(plan.address));
      else if (plan.kind === 'hostname') source = singleSource((await this.#client.get(`${this.#p}h:${plan.hostname}`)) ?? undefined);
      else if (plan.kind === 'index') {
        source = unionSource(plan.union.map((ref) => this.#lexSource(`${this.#p}${ref.kind === 'capability' ? 'ic' : 'ig'}:${ref.name}`)));
      } else source = this.#lexSource(`${this.#p}all`);
      const now = this.#now();
      return collectPage(q, view, now, source, (ids) => this.#load(ids, now));
    });
  }

  async renew(address: string, leaseUntil: number): Promise<boolean> {
    const id = recordKey(address);
    checkLeaseTime(leaseUntil);
    const r = await this.#run(SCRIPTS.renew, [id, address, leaseUntil, this.#now(), this.#retention]);
    return r === 1;
  }

  async remove(address: string): Promise<boolean> {
    const id = recordKey(address);
    return (await this.#run(SCRIPTS.remove, [id, address])) === 1;
  }

  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const [n, seen] = (await this.#run(SCRIPTS.sweep, [this.#now(), SWEEP_BATCH])) as number[];
      total += n;
      if (seen < SWEEP_BATCH) return total;
    }
  }

  #onMessage(channel: string, message: Buffer): void {
    if (channel === `${this.#p}changes`) {
      if (this.#hub.size > 0) this.#onChange(message);
      return;
    }
    const name = channel.slice(`${this.#p}sig:`.length);
    for (const h of this.#signals.get(name) ?? []) h(message);
  }

  #onChange(message: Buffer): void {
    const nl = message.indexOf(10);
    if (nl < 0) return;
    const [kind, id, newLease, newLen, oldLease, oldLen] = message.subarray(0, nl).toString('latin1').split(' ');
    const cause = CAUSES[kind];
    const nLen = Number(newLen);
    const oLen = Number(oldLen);
    if (!cause || nl + 1 + nLen + oLen !== message.length) return; // not ours: ignore
    try {
      const change: Change = { key: id, cause };
      if (nLen > 0) change.after = { signed: this.#cache.decode(id, message.subarray(nl + 1, nl + 1 + nLen)), leaseUntil: Number(newLease) };
      if (oLen > 0) change.before = { signed: decodeRecord(new Uint8Array(message.subarray(nl + 1 + nLen))), leaseUntil: Number(oldLease) };
      this.#hub.dispatch(change, this.#now());
    } catch {
      // A record we cannot decode came from a foreign writer on our prefix; nothing to tell watchers.
    }
  }

  watch(query: DirectoryQuery, listener: ChangeListener, view?: ViewOptions): Watch {
    this.#check();
    return this.#hub.add(query, listener, view);
  }

  async publishSignal(channel: string, payload: Uint8Array): Promise<void> {
    checkSignalChannel(channel);
    await this.#guard(() => this.#client.publish(`${this.#p}sig:${channel}`, Buffer.from(payload)));
  }

  async onSignal(channel: string, handler: (payload: Buffer) => void): Promise<() => Promise<void>> {
    checkSignalChannel(channel);
    let set = this.#signals.get(channel);
    if (!set) {
      this.#signals.set(channel, (set = new Set()));
      await this.#guard(() => this.#sub.subscribe(`${this.#p}sig:${channel}`));
    }
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0 && this.#signals.get(channel) === set) {
        this.#signals.delete(channel);
        if (!this.#closed) await this.#guard(() => this.#sub.unsubscribe(`${this.#p}sig:${channel}`));
      }
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#hub.clear();
    this.#signals.clear();
    this.#sub.disconnect();
    if (this.#ownsClient) {
      await this.#client.quit().catch(() => this.#client.disconnect());
    }
  }
}

/** Connects, subscribes to change events and returns a ready store. */
export async function openRedisStore(options: RedisStoreOptions = {}): Promise<RedisDirectoryStore> {
  const store = new RedisDirectoryStore(options);
  try {
    return await store.start();
  } catch (err) {
    await store.close();
    throw err;
  }
}
