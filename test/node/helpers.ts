// Test helpers for nodes on loopback: identities made in parallel, nodes that are always closed,
// a raw UDP socket to throw hand-made packets, and bounded waits.
import dgram from 'node:dgram';
import { Identity } from '../../src/identity/identity.js';
import { createNode, type Node } from '../../src/node/node.js';
import type { NodeOptions } from '../../src/node/options.js';
import type { HublessErrorCode } from '../../src/errors.js';
import { native } from '../../src/native/binding.js';

/** n fresh identities; the address hashes run in parallel on libuv's thread pool. */
export function identities(n: number, network = 0): Promise<Identity[]> {
  return Promise.all(Array.from({ length: n }, () => Identity.generate({ network })));
}

/** Opens nodes on 127.0.0.1 and closes every one of them at the end, whatever happens. */
export class NodeSet {
  readonly nodes: Node[] = [];

  async open(options: NodeOptions): Promise<Node> {
    const node = await createNode(options.transport === undefined ? { listen: { host: '127.0.0.1' }, ...options } : options);
    this.nodes.push(node);
    return node;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}

export async function withNodes(fn: (set: NodeSet) => Promise<void>): Promise<void> {
  const set = new NodeSet();
  try {
    await fn(set);
  } finally {
    await set.close();
  }
}

export function endpointOf(node: Node): { address: string; port: number } {
  return { address: '127.0.0.1', port: node.endpoint.port };
}

/** Resolves once `cond()` holds, or rejects after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function rejectsWith(p: Promise<unknown>, code: HublessErrorCode): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { code?: unknown }).code === code) return;
    throw new Error(`expected ${code}, got ${String((err as Error)?.stack ?? err)}`);
  }
  throw new Error(`expected ${code}, but it resolved`);
}

/** A plain UDP socket that records what it receives. */
export class RawSocket {
  // A large receive buffer: floods in these tests are answered faster than this socket is read.
  readonly socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  readonly received: Buffer[] = [];

  static async open(): Promise<RawSocket> {
    const r = new RawSocket();
    r.socket.on('message', (m) => r.received.push(m));
    await new Promise<void>((res) => r.socket.bind(0, '127.0.0.1', res));
    return r;
  }

  get endpoint(): { address: string; port: number } {
    return { address: '127.0.0.1', port: this.socket.address().port };
  }

  send(packet: Uint8Array, to: { port: number }): Promise<void> {
    return new Promise((res, rej) => this.socket.send(packet, to.port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  }

  close(): void {
    this.socket.close();
  }
}

/** A whole hubless packet: header (written by the native codec) ‖ body. */
export function packet(type: number, receiver: number, body: Uint8Array, counter = 0n): Buffer {
  return native.frameEncode(type, receiver, counter, body);
}
