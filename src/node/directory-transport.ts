// The directory client's transport over a hubless Node: a session per directory (connected by
// its pinned key, so only the holder of that key can answer), one stream per request on
// DIRECTORY_PORT, a long-lived stream per watch on DIRECTORY_WATCH_PORT.
import { HublessError } from '../errors.js';
import type { DirectoryTransport, WatchChannel } from '../directory/client.js';
import type { ResolvedEntry } from '../directory/entry.js';
import { DIRECTORY_LIMITS, DIRECTORY_PORT, DIRECTORY_WATCH_PORT } from '../directory/protocol.js';
import type { Session } from '../session/session.js';
import type { Node } from './node.js';

export interface NodeDirectoryTransportOptions {
  /** A watch that receives nothing (not even the directory's pings) for this long is re-opened (ms; default 3,000). */
  watchIdleMs?: number;
}

export class NodeDirectoryTransport implements DirectoryTransport {
  readonly #node: Node;
  readonly #watchIdleMs: number;
  /** The session each entry's requests went over last: reused while it is open (no key lookup). */
  readonly #sessions = new Map<ResolvedEntry, Session>();
  #requestOptions: { readonly timeoutMs: number; readonly maxResponseSize: number } = { timeoutMs: 0, maxResponseSize: DIRECTORY_LIMITS.maxResponseBytes };

  constructor(node: Node, options: NodeDirectoryTransportOptions = {}) {
    this.#node = node;
    this.#watchIdleMs = options.watchIdleMs ?? 3000;
  }

  async #session(entry: ResolvedEntry, timeoutMs: number): Promise<Session> {
    // The session used last, then the node's open session: node.connect() converts the key to
    // X25519 (~60 µs) before it looks for one, which cost more than the rest of a lookup, and
    // node.session() hashes the key to find it (a few µs per request).
    const last = this.#sessions.get(entry);
    if (last !== undefined && !last.closed) return last;
    const open = this.#node.session(entry.publicKey);
    if (open !== undefined && !open.closed) {
      this.#sessions.set(entry, open);
      return open;
    }
    try {
      const session = await this.#node.connect(entry.publicKey, { endpoint: entry.endpoint, timeoutMs });
      this.#sessions.set(entry, session);
      return session;
    } catch (err) {
      const code = (err as HublessError).code;
      if (code === 'ERR_HUBLESS_HANDSHAKE_TIMEOUT') {
        throw new HublessError('ERR_HUBLESS_REQUEST_TIMEOUT', `directory ${entry.endpoint.address}:${entry.endpoint.port} did not answer the handshake within ${timeoutMs} ms`, { cause: err });
      }
      throw err;
    }
  }

  request(entry: ResolvedEntry, payload: unknown, timeoutMs: number): Promise<unknown> {
    // The hot path: the session used last is open, the request goes straight onto it, with the
    // request options of the last timeout (only read, so one object serves every request).
    const last = this.#sessions.get(entry);
    if (last !== undefined && !last.closed) {
      let options = this.#requestOptions;
      if (options.timeoutMs !== timeoutMs) this.#requestOptions = options = { timeoutMs, maxResponseSize: DIRECTORY_LIMITS.maxResponseBytes };
      return last.request(DIRECTORY_PORT, payload, options);
    }
    return this.#requestConnecting(entry, payload, timeoutMs);
  }

  async #requestConnecting(entry: ResolvedEntry, payload: unknown, timeoutMs: number): Promise<unknown> {
    // One attempt within timeoutMs. A stale session (the directory restarted with the same key)
    // is handled by the client: a timeout resets this entry's session (reset() below) and the
    // request goes to the next replica, or once more to a lone directory, on a fresh handshake.
    // Retrying here as well would make a dead replica cost two timeouts before failover.
    const started = Date.now();
    const session = await this.#session(entry, timeoutMs);
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    return session.request(DIRECTORY_PORT, payload, { timeoutMs: left, maxResponseSize: DIRECTORY_LIMITS.maxResponseBytes });
  }

  async openWatch(entry: ResolvedEntry, request: unknown, timeoutMs: number): Promise<WatchChannel> {
    const session = await this.#session(entry, timeoutMs);
    const stream = session.openStream(DIRECTORY_WATCH_PORT);
    stream.on('error', () => {}); // surfaces through the messages iterator
    const idle = setTimeout(() => {
      stream.destroy(new HublessError('ERR_HUBLESS_REQUEST_TIMEOUT', `the watch on ${entry.label} went silent`));
    }, Math.max(timeoutMs, this.#watchIdleMs));
    idle.unref();
    stream.once('close', () => clearTimeout(idle));
    await stream.sendMessage(request);
    const inner = stream.messages({ maxMessageSize: DIRECTORY_LIMITS.maxWatchMessageBytes });
    async function* messages(): AsyncGenerator<unknown> {
      for await (const m of inner) {
        idle.refresh();
        yield m;
      }
    }
    return { messages: messages(), close: () => stream.destroy() };
  }

  reset(entry: ResolvedEntry): void {
    this.#sessions.get(entry)?.close();
    this.#sessions.delete(entry);
    this.#node.session(entry.publicKey)?.close();
  }
}
