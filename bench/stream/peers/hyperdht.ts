/**
 * hyperdht: a Noise-encrypted stream (NoiseSecretStream over a udx stream) between two DHT nodes,
 * found through hyperdht's own offline testnet. The receiver process runs the testnet's bootstrap
 * nodes and the server; the sender joins with the testnet's bootstrap list and connects to the
 * server's public key. The server node is not firewalled (as a server with a public address):
 * the client connects straight to its address, no holepunching. One connection per stream
 * (hyperdht has no multiplexing of its own).
 */
import DHT from 'hyperdht';
import createTestnet from 'hyperdht/testnet.js';
import type { PeerConfig, PeerModule, ReceiverSide, RxCounter, SenderSide, Setup, Sink } from '../types.js';

const HELLO_MS = 2000;
const MAX_ATTEMPTS = 5;

interface Duplex {
  write(b: Buffer): boolean;
  once(event: string, fn: (...a: never[]) => void): void;
  on(event: string, fn: (...a: never[]) => void): void;
  destroy(): void;
}
interface DhtNode {
  connect(publicKey: Buffer): Duplex;
  createServer(fn: (s: Duplex) => void): { listen(kp: unknown): Promise<void> };
  destroy(): Promise<void>;
}

/**
 * Connects and waits for the server's one-byte hello. With a firewalled server (hyperdht's default)
 * about one connection in three opened on the client (Noise handshake done) without ever reaching
 * the server's connection handler, and writes then stalled for good; should that happen, the
 * connection is dropped and made again (counted in the sender's stats).
 */
async function connectConfirmed(node: DhtNode, publicKey: Buffer, onRetry: () => void): Promise<Duplex> {
  for (let attempt = 1; ; attempt++) {
    const c = node.connect(publicKey);
    const ok = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => resolve(false), HELLO_MS);
      c.once('data', () => {
        clearTimeout(timer);
        resolve(true);
      });
      c.once('error', (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    if (ok) {
      c.on('error', () => {});
      return c;
    }
    c.on('error', () => {});
    c.destroy();
    if (attempt >= MAX_ATTEMPTS) throw new Error(`hyperdht: no connection reached the server in ${MAX_ATTEMPTS} attempts`);
    onRetry();
  }
}

async function openSender(cfg: PeerConfig): Promise<SenderSide> {
  let node: DhtNode | null = null;
  let publicKey: Buffer | null = null;
  const conns: Duplex[] = [];
  let reconnects = 0;
  return {
    info: {},
    setup(s: Setup): void {
      const p = s.peerInfo as { bootstrap: { host: string; port: number }[]; publicKey: string };
      node = new (DHT as unknown as new (o: unknown) => DhtNode)({ bootstrap: p.bootstrap, host: cfg.host, ephemeral: true });
      publicKey = Buffer.from(p.publicKey, 'hex');
    },
    async open(n: number): Promise<Sink[]> {
      const out: Sink[] = [];
      for (let i = 0; i < n; i++) {
        const c = await connectConfirmed(node!, publicKey!, () => reconnects++);
        conns.push(c);
        out.push({ write: (b) => c.write(b), onceDrain: (fn) => c.once('drain', fn) });
      }
      return out;
    },
    stats: () => ({ reconnects }),
    async close(): Promise<void> {
      for (const c of conns) c.destroy();
      await node?.destroy();
    },
  };
}

async function openReceiver(cfg: PeerConfig, rx: RxCounter): Promise<ReceiverSide> {
  const testnet = await (createTestnet as (n: number, o: unknown) => Promise<{
    bootstrap: { host: string; port: number }[];
    createNode(o?: unknown): DhtNode;
    destroy(): Promise<void>;
  }>)(3, { host: cfg.host });
  // Not firewalled: the server answers with its address and the client connects to it directly.
  // (Firewalled, the default, the client must holepunch, which fails between the two namespaces
  // and, on loopback, left about one connection in three open on the client only.)
  const node = testnet.createNode({ host: cfg.host, firewalled: false });
  const server = node.createServer((c) => {
    c.write(Buffer.from([1])); // hello: the sender starts once it has this
    const check = rx.stream();
    c.on('data', (b: Buffer) => {
      check(b);
      rx.lastRx = performance.now();
    });
    c.on('error', () => {});
  });
  const keyPair = (DHT as unknown as { keyPair(): { publicKey: Buffer } }).keyPair();
  await server.listen(keyPair);
  return {
    info: { bootstrap: testnet.bootstrap, publicKey: keyPair.publicKey.toString('hex') },
    setup: () => {},
    stats: () => ({}),
    close: () => testnet.destroy(),
  };
}

export const hyperdht: PeerModule = {
  label: 'hyperdht (Noise, testnet)',
  encrypted: true,
  multiplexed: false,
  openSender,
  openReceiver,
};
