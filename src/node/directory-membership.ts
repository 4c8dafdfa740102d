// A node's life in the directory (createNode({ directory, ... })): the client that looks things
// up, the registration agent that keeps this node's record and lease, and connecting by hostname
// or address through the directory. node.ts delegates here.
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { HublessError } from '../errors.js';
import { Address } from '../identity/address.js';
import type { Identity } from '../identity/identity.js';
import { validateCapability, type Capability } from '../directory/capability.js';
import { DirectoryClient, type DirectoryWatch, type FindResult } from '../directory/client.js';
import { resolveEntries } from '../directory/entry.js';
import { ProtocolCodes } from '../directory/protocol.js';
import type { DirectoryQuery } from '../directory/query.js';
import type { AgentRecord, Endpoint, SignedRecord } from '../directory/record-types.js';
import { Registration, type RecordFields } from '../directory/registration.js';
import type { Session } from '../session/session.js';
import type { DirectoryNodeOptions } from './directory-options.js';
import { NodeDirectoryTransport } from './directory-transport.js';
import type { Node } from './node.js';
import { publicKeyBytes, type ConnectOptions } from './options.js';

/** One page of a node.find(): verified records (each one's signature and address binding checked). */
export interface DirectoryFindResult {
  records: AgentRecord[];
  /** Pass back as `query.cursor` for the next page. */
  cursor?: string;
}

export function wantsDirectory(o: DirectoryNodeOptions): boolean {
  const none = o.directory === undefined || (Array.isArray(o.directory) && o.directory.length === 0) || o.directory === '';
  if (none) {
    if (o.capabilities !== undefined || o.hostname !== undefined || o.groups !== undefined) {
      throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'capabilities, hostname and groups are registered in a directory: give `directory` too');
    }
    return false;
  }
  return true;
}

/** The endpoints to register: the bound address, or every interface's for a wildcard bind. */
export function localEndpoints(bound: { address: string; port: number }): Endpoint[] {
  const { address, port } = bound;
  if (address !== '0.0.0.0' && address !== '::') return [{ host: address, port, kind: 'local' }];
  const external: Endpoint[] = [];
  const internal: Endpoint[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family === 'IPv6' && (address !== '::' || i.address.toLowerCase().startsWith('fe80'))) continue;
      if (isIP(i.address) === 0) continue;
      (i.internal ? internal : external).push({ host: i.address, port, kind: 'local' });
    }
  }
  return [...external, ...internal].slice(0, 15);
}

function recordFields(o: DirectoryNodeOptions): RecordFields {
  const capabilities: Capability[] = (o.capabilities ?? []).map((c) => validateCapability(typeof c === 'string' ? { name: c } : c));
  const f: RecordFields = {
    capabilities,
    groups: [...(o.groups ?? [])],
    visibility: o.visibility ?? 'public',
    trust: (o.trust ?? []).map((k) => new Uint8Array(publicKeyBytes(k, 'trust entry'))),
  };
  if (o.hostname !== undefined) f.hostname = o.hostname;
  return f;
}

const CACHE_ENTRIES = 1024;

/**
 * The record cache's node-id key of each verified record, parsed from its address once: the
 * directory client hands out the same SignedRecord for the same bytes (its verified cache), so a
 * lookup that finds records seen before parses no address.
 */
const nodeKeys = new WeakMap<SignedRecord, string>();

function nodeKeyOf(r: SignedRecord): string {
  let k = nodeKeys.get(r);
  if (k === undefined) {
    k = `#${Address.parse(r.record.address).node}`;
    nodeKeys.set(r, k);
  }
  return k;
}

export class DirectoryMembership {
  readonly client: DirectoryClient;
  readonly registration: Registration | null;
  readonly #node: Node;
  /** Records resolved lately, by hostname and by node id: used when the directory is down. */
  readonly #cache = new Map<string, SignedRecord>();

  constructor(node: Node, identity: Identity, options: DirectoryNodeOptions) {
    this.#node = node;
    const d = options.directoryOptions ?? {};
    const entries = resolveEntries(options.directory);
    this.client = new DirectoryClient({
      entries,
      transport: new NodeDirectoryTransport(node, { watchIdleMs: d.watchIdleMs }),
      viewer: new Uint8Array(node.publicKey),
      requestTimeoutMs: d.requestTimeoutMs,
      verifyBinding: d.verifyBinding,
    });
    if (options.register === false) {
      this.registration = null;
    } else {
      const fields = recordFields(options); // validated now: a bad capability fails createNode
      this.registration = new Registration({
        client: this.client,
        signer: { publicKey: new Uint8Array(identity.publicKey), sign: (m) => identity.sign(m) },
        address: node.address.toString(),
        nonce: identity.nonce,
        fields,
        endpoints: () => localEndpoints(node.endpoint),
        recordTtlMs: d.recordTtlMs,
      });
      this.registration.on('warning', () => {}); // counted in the agent's state; never an unhandled 'error'
    }
  }

  /**
   * Registers (when asked to). A refusal (hostname or address taken, bad record) rejects; an
   * unreachable directory does not: the agent keeps trying in the background.
   */
  async start(): Promise<void> {
    if (this.registration === null) return;
    try {
      await this.registration.start();
    } catch (err) {
      if ((err as HublessError).code === ProtocolCodes.DIRECTORY_UNAVAILABLE) return;
      throw err;
    }
  }

  #remember(r: SignedRecord): SignedRecord {
    this.#touch(nodeKeyOf(r), r);
    if (r.record.hostname !== undefined) this.#touch(r.record.hostname, r);
    return r;
  }

  /** Sets `k` as the most recent entry, evicting the least recent one past CACHE_ENTRIES. */
  #touch(k: string, r: SignedRecord): void {
    this.#cache.delete(k);
    this.#cache.set(k, r);
    if (this.#cache.size > CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
  }

  async find(query: DirectoryQuery): Promise<DirectoryFindResult> {
    const page: FindResult = await this.client.find(query);
    const list = page.records;
    const records: AgentRecord[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) records[i] = this.#remember(list[i]).record;
    const out: DirectoryFindResult = { records };
    if (page.cursor !== undefined) out.cursor = page.cursor;
    return out;
  }

  async resolve(target: string | Address): Promise<AgentRecord> {
    return this.#remember(await this.client.resolve(target)).record;
  }

  watch(query: DirectoryQuery, options?: { initial?: boolean }): DirectoryWatch {
    return this.client.watch(query, options);
  }

  /**
   * Connects to a hostname or an address through the directory: an open session with that
   * address is reused (no directory needed); else the verified record gives the key (its binding
   * to the address checked) and the endpoints, tried in order. When no directory answers, a
   * record resolved before is used.
   */
  async connect(target: Address | string, options: ConnectOptions, timeoutMs: number): Promise<Session> {
    let dialled: Address | null = null;
    if (target instanceof Address) dialled = target;
    else {
      try {
        dialled = Address.parse(target);
      } catch {
        dialled = null; // a hostname (resolve() validates it)
      }
    }
    const cacheKey = dialled !== null ? `#${dialled.node}` : String(target);
    const cached = this.#cache.get(cacheKey);
    const existing = dialled !== null
      ? this.#node.sessionTo(dialled)
      : cached && this.#node.sessionTo(cached.record.address);
    if (existing) return existing;
    let signed: SignedRecord;
    try {
      signed = this.#remember(await this.client.resolve(dialled ?? String(target)));
    } catch (err) {
      if ((err as HublessError).code !== ProtocolCodes.DIRECTORY_UNAVAILABLE || cached === undefined) throw err;
      signed = cached;
    }
    const record = signed.record;
    const address = dialled ?? Address.parse(record.address);
    if (address.node !== Address.parse(record.address).node) {
      throw new HublessError('ERR_HUBLESS_ADDRESS_MISMATCH', `dialled ${address.toString()} but the directory's record is for ${record.address}`);
    }
    const endpoints = options.endpoint !== undefined
      ? [options.endpoint]
      : [...record.endpoints, ...(record.relay?.endpoint ? [record.relay.endpoint] : [])].map((e) => ({ address: e.host, port: e.port }));
    if (endpoints.length === 0) {
      throw new HublessError('ERR_HUBLESS_NO_ROUTE', `the directory's record of ${record.address} has no endpoint`);
    }
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (let i = 0; i < endpoints.length; i++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      // Each endpoint but the last gets one handshake retransmission's worth (≤ 1.5 s); the last, what is left.
      const share = i === endpoints.length - 1 ? left : Math.max(500, Math.min(1500, Math.floor(left / (endpoints.length - i))));
      try {
        return await this.#node.connect(address, { ...options, publicKey: record.publicKey, endpoint: endpoints[i], timeoutMs: Math.min(share, left) });
      } catch (err) {
        lastError = err;
        const code = (err as HublessError).code;
        if (code !== 'ERR_HUBLESS_HANDSHAKE_TIMEOUT' && code !== 'ERR_HUBLESS_NO_ROUTE') throw err;
      }
    }
    throw lastError ?? new HublessError('ERR_HUBLESS_HANDSHAKE_TIMEOUT', `no endpoint of ${record.address} answered in time`);
  }

  /** Stops the lease; with `deregister` (the default) removes the record first, bounded by the client's timeouts. */
  async close(options: { deregister?: boolean } = {}): Promise<void> {
    await this.registration?.stop({ deregister: options.deregister ?? true });
    this.client.close();
  }
}
