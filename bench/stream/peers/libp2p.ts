/**
 * js-libp2p over TCP with Noise and yamux: a minimal node on each side (no discovery, no
 * services), the receiver handling one protocol, the sender dialling it; every stream after the
 * first reuses the connection (yamux streams). Stream settings are libp2p's defaults.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp } from '@libp2p/tcp';
import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import type { PeerConfig, PeerModule, ReceiverSide, RxCounter, SenderSide, Setup, Sink } from '../types.js';

const PROTOCOL = '/hubless-bench/stream/1.0.0';

// libp2p 3 uses Promise.withResolvers (Node 22+); this machine runs Node 20. Equivalent shim,
// installed before any libp2p code runs (it is only called at run time, not at import).
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= function withResolvers<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
};

function create(cfg: PeerConfig, listen: boolean): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: listen ? [`/ip4/${cfg.host}/tcp/0`] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
}

async function openSender(cfg: PeerConfig): Promise<SenderSide> {
  const node = await create(cfg, false);
  let target = '';
  return {
    info: {},
    setup(s: Setup): void {
      target = (s.peerInfo as { addr: string }).addr;
    },
    async open(n: number): Promise<Sink[]> {
      const out: Sink[] = [];
      for (let i = 0; i < n; i++) {
        const s: Stream = await node.dialProtocol(multiaddr(target), PROTOCOL);
        out.push({
          write: (c) => s.send(c),
          onceDrain: (fn) => s.addEventListener('drain', fn, { once: true }),
        });
      }
      return out;
    },
    stats: () => ({}),
    close: () => node.stop(),
  };
}

async function openReceiver(cfg: PeerConfig, rx: RxCounter): Promise<ReceiverSide> {
  const node = await create(cfg, true);
  await node.handle(PROTOCOL, (stream: Stream) => {
    const check = rx.stream();
    stream.addEventListener('message', (e) => {
      const d = e.data;
      if (d instanceof Uint8Array) check(d);
      else for (const b of d) check(b);
      rx.lastRx = performance.now();
    });
  }, { maxInboundStreams: 1024 });
  const addr = node.getMultiaddrs().find((a) => a.toString().includes(`/ip4/${cfg.host}/`));
  if (addr === undefined) throw new Error('libp2p receiver has no listen address');
  return {
    info: { addr: addr.toString() },
    setup: () => {},
    stats: () => ({}),
    close: () => node.stop(),
  };
}

export const libp2p: PeerModule = {
  label: 'libp2p TCP+Noise+yamux',
  encrypted: true,
  multiplexed: true,
  openSender,
  openReceiver,
};
