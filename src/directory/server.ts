// The directory server: a hubless node that answers the directory protocol (protocol.ts) on top
// of a DirectoryStore. Agents reach it over the same encrypted sessions as anyone else and pin its
// public key, so its identity (a key file) is what clients configure: `<key>@<ip>:<port>`.
//
// Requests go to DIRECTORY_PORT (one stream each, answered by DirectoryService.handle); a watch
// is a stream to DIRECTORY_WATCH_PORT: the client sends one watch request, the server sends
// events (and a ping on an idle watch) until either side ends it. Oversized and undecodable
// messages are refused by the stream layer before any decoding; they are counted here too.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { HublessError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { createNode, type Node } from '../node/node.js';
import type { NodeOptions } from '../node/options.js';
import type { PortListener } from '../node/port-listener.js';
import type { Session } from '../session/session.js';
import type { Stream } from '../stream/stream.js';
import { formatEntry } from './entry.js';
import { DIRECTORY_LIMITS, DIRECTORY_PORT, DIRECTORY_WATCH_PORT, type WatchMessage } from './protocol.js';
import { DirectoryService, type DirectoryRateLimits, type DirectoryServerStats, type DirectoryPeer } from './service.js';
import { openLmdbStore } from './store-lmdb.js';
import { openRedisStore } from './store-redis.js';
import type { DirectoryStore } from './store.js';

export interface DirectoryServerOptions {
  /** Key file of the directory's identity (created on first start). Default ~/.hubless/directory.key. */
  keyFile?: string;
  /** An identity instead of a key file. */
  identity?: Identity;
  /** UDP socket to bind. Default 0.0.0.0:4900. */
  listen?: { host?: string; port?: number };
  /** A store, or a spec: `lmdb:<path>` (default lmdb:~/.hubless/directory-db) or `redis://host:port/db`. */
  store?: DirectoryStore | string;
  /** Lease per registration or heartbeat (ms; default 30,000). */
  leaseMs?: number;
  rateLimits?: DirectoryRateLimits;
  maxWatchesPerKey?: number;
  maxWatches?: number;
  /** A ping on an idle watch this often, so clients notice a dead directory (ms; default 1,000). */
  watchPingMs?: number;
  /** Bytes a watch may have queued for a slow reader before it is dropped (default 1 MiB). */
  maxWatchBacklog?: number;
  /** More options for the directory's node (handshake timers, cookie threshold, ...). */
  node?: Omit<NodeOptions, 'keyFile' | 'identity' | 'listen' | 'directory'>;
}

export const DEFAULT_DIRECTORY_PORT = 4900;

export function defaultDirectoryKeyPath(): string {
  return join(homedir(), '.hubless', 'directory.key');
}

/** Opens a store from `lmdb:<path>` or `redis://...`. */
export async function openStore(spec: string): Promise<DirectoryStore> {
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) return openRedisStore({ url: spec });
  if (spec.startsWith('lmdb:') && spec.length > 5) return openLmdbStore({ path: resolve(spec.slice(5)) });
  throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', `store must be lmdb:<path> or redis://host:port, got "${spec.slice(0, 100)}"`);
}

const peerOf = (session: Session): DirectoryPeer => {
  const ep = session.endpoint;
  return { publicKey: session.remotePublicKey, host: ep.address, port: ep.port };
};

/** Answers may come pre-encoded (a cached query page's frame). */
const ENCODED = { encoded: true };

/** Refusals the stream layer makes before the service sees a request. */
const STREAM_REFUSALS = new Set(['ERR_HUBLESS_MESSAGE_TOO_LARGE', 'ERR_HUBLESS_MESSAGE_INVALID']);

export class DirectoryServer {
  readonly node: Node;
  readonly service: DirectoryService;
  readonly store: DirectoryStore;
  readonly #ownsStore: boolean;
  readonly #requests: PortListener;
  readonly #watchPort: PortListener;
  readonly #pingMs: number;
  readonly #maxBacklog: number;
  readonly #watchStreams = new Set<Stream>();
  #closing: Promise<void> | null = null;

  /** @internal Use startDirectoryServer(). */
  constructor(node: Node, store: DirectoryStore, ownsStore: boolean, options: DirectoryServerOptions) {
    this.node = node;
    this.store = store;
    this.#ownsStore = ownsStore;
    this.#pingMs = options.watchPingMs ?? 1000;
    this.#maxBacklog = options.maxWatchBacklog ?? 1 << 20;
    this.service = new DirectoryService({
      store, leaseMs: options.leaseMs, rateLimits: options.rateLimits,
      maxWatchesPerKey: options.maxWatchesPerKey, maxWatches: options.maxWatches,
    });
    // Refusals by the stream layer (oversized, undecodable) are counted through onRefused: no
    // listener per request stream.
    this.#requests = node.handle(DIRECTORY_PORT, (request, ctx) => this.service.handle(request, peerOf(ctx.session), ENCODED), {
      maxRequestSize: DIRECTORY_LIMITS.maxRequestBytes,
      onRefused: (err) => this.service.countRefusal(err.code),
    });
    this.#watchPort = node.listen(DIRECTORY_WATCH_PORT);
    this.#watchPort.on('stream', (stream, session) => void this.#serveWatch(stream, session));
  }

  /** The directory's Ed25519 public key: what clients pin. */
  get publicKey(): Buffer {
    return this.node.publicKey;
  }

  get endpoint(): { address: string; port: number } {
    const ep = this.node.endpoint;
    return { address: ep.address, port: ep.port };
  }

  /** The entry clients configure, `<key>@<ip>:<port>` (a wildcard bind is shown as 127.0.0.1). */
  get entry(): string {
    const ep = this.endpoint;
    const host = ep.address === '0.0.0.0' ? '127.0.0.1' : ep.address === '::' ? '::1' : ep.address;
    return formatEntry(this.publicKey, { address: host, port: ep.port });
  }

  stats(): DirectoryServerStats & { sessions: number } {
    return { ...this.service.stats(), sessions: this.node.stats().sessions };
  }

  #countStreamRefusals(stream: Stream): void {
    stream.on('error', (err: Error) => {
      const code = (err as HublessError).code;
      if (STREAM_REFUSALS.has(code)) this.service.countRefusal(code);
    });
  }

  async #serveWatch(stream: Stream, session: Session): Promise<void> {
    this.#countStreamRefusals(stream);
    this.#watchStreams.add(stream);
    let handle: { close(): void } | null = null;
    let ping: NodeJS.Timeout | null = null;
    let lastSent = Date.now();
    const send = (m: WatchMessage) => {
      if (stream.destroyed || stream.writableEnded) return;
      if (stream.writableLength > this.#maxBacklog) {
        this.service.countOverflow();
        stream.destroy(new HublessError('ERR_HUBLESS_WATCH_OVERFLOW', 'the watch reader fell behind'));
        return;
      }
      lastSent = Date.now();
      stream.sendMessage(m).catch(() => {});
    };
    stream.once('close', () => {
      this.#watchStreams.delete(stream);
      if (ping !== null) clearInterval(ping);
      handle?.close();
    });
    try {
      const messages = stream.messages({ maxMessageSize: DIRECTORY_LIMITS.maxRequestBytes });
      const first = await messages.next();
      if (first.done) {
        stream.destroy();
        return;
      }
      const h = await this.service.watch(first.value, peerOf(session), { send, close: (err) => stream.destroy(err) });
      if (stream.destroyed) {
        h.close();
        return;
      }
      handle = h;
      ping = setInterval(() => {
        if (Date.now() - lastSent >= this.#pingMs) send({ v: 1, type: 'ping' });
      }, this.#pingMs);
      ping.unref();
      // The client sends nothing more; anything else (or its end) ends the watch.
      await messages.next();
      stream.end();
    } catch (err) {
      if (stream.destroyed) return;
      const e = err as HublessError;
      if (typeof e.code === 'string' && e.code.startsWith('ERR_HUBLESS_') && !STREAM_REFUSALS.has(e.code)) {
        // A refusal by the service (already counted): tell the client why, then end.
        await stream.sendMessage({ v: 1, type: 'error', code: e.code, message: e.message.slice(0, 1024) }).catch(() => {});
        stream.end();
      } else {
        stream.destroy();
      }
    }
  }

  /** Stops answering, ends every watch, closes the node and (if it opened it) the store. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#requests.close();
      this.#watchPort.close();
      this.service.close();
      for (const s of [...this.#watchStreams]) s.destroy();
      await this.node.close();
      if (this.#ownsStore) await this.store.close();
    })();
    return this.#closing;
  }
}

/** Starts a directory: opens (or takes) the store, creates the node, serves the protocol. */
export async function startDirectoryServer(options: DirectoryServerOptions = {}): Promise<DirectoryServer> {
  const ownsStore = typeof options.store !== 'object';
  const store = typeof options.store === 'object'
    ? options.store
    : await openStore(options.store ?? `lmdb:${join(homedir(), '.hubless', 'directory-db')}`);
  let node: Node;
  try {
    node = await createNode({
      ...options.node,
      ...(options.identity ? { identity: options.identity } : { keyFile: options.keyFile ?? defaultDirectoryKeyPath() }),
      listen: { host: options.listen?.host ?? '0.0.0.0', port: options.listen?.port ?? DEFAULT_DIRECTORY_PORT },
    });
  } catch (err) {
    if (ownsStore) await store.close();
    throw err;
  }
  try {
    return new DirectoryServer(node, store, ownsStore, options);
  } catch (err) {
    await node.close();
    if (ownsStore) await store.close();
    throw err;
  }
}
