/**
 * node:net TCP: the kernel's reliable stream, plain, as the reference. One connection per stream
 * (TCP has no multiplexing); default socket options, as users get them.
 */
import net from 'node:net';
import type { PeerConfig, PeerModule, ReceiverSide, RxCounter, SenderSide, Setup, Sink } from '../types.js';

async function openSender(cfg: PeerConfig): Promise<SenderSide> {
  const sockets: net.Socket[] = [];
  let peerPort = 0;
  return {
    info: {},
    setup(s: Setup): void {
      peerPort = (s.peerInfo as { port: number }).port;
    },
    async open(n: number): Promise<Sink[]> {
      const opened: net.Socket[] = [];
      // In batches: thousands of SYNs at once overflow the listen queue and wait for retries.
      while (opened.length < n) {
        const k = Math.min(256, n - opened.length);
        opened.push(...await Promise.all(Array.from({ length: k }, () => new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: cfg.peerHost, port: peerPort }, () => resolve(s));
          s.once('error', reject);
        }))));
      }
      for (const s of opened) s.on('error', () => {});
      sockets.push(...opened);
      return opened.map((s) => ({ write: (c) => s.write(c), onceDrain: (fn) => s.once('drain', fn) }));
    },
    stats: () => ({}),
    close(): void {
      for (const s of sockets) s.destroy();
    },
  };
}

async function openReceiver(cfg: PeerConfig, rx: RxCounter): Promise<ReceiverSide> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    const check = rx.stream();
    s.on('data', (c: Buffer) => {
      check(c);
      rx.lastRx = performance.now();
    });
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  server.maxConnections = 1 << 20;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: cfg.host, port: 0, backlog: 16_384 }, resolve);
  });
  return {
    info: { port: (server.address() as net.AddressInfo).port },
    setup: () => {},
    stats: () => ({}),
    close(): void {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

export const tcp: PeerModule = {
  label: 'node:net TCP (plain)',
  encrypted: false,
  multiplexed: false,
  openSender,
  openReceiver,
};
