/**
 * hubless: encrypted streams (AES-256-GCM) on one session between two transports. The session
 * keys come from the parent (no handshake: that is the session section's business); streams
 * go through the transport's stream hub, as Node Duplexes.
 */
import { streamsOf } from '../../../src/stream/hub.js';
import type { Stream } from '../../../src/stream/stream.js';
import { Transport } from '../../../src/transport/transport.js';
import type { PeerConfig, PeerModule, ReceiverSide, RxCounter, SenderSide, Setup, Sink } from '../types.js';

const PORT = 7;

async function open(cfg: PeerConfig): Promise<{ t: Transport; index: number; install(s: Setup): void }> {
  const t = await Transport.open({ host: cfg.host, port: 0 });
  const index = t.reserveSession();
  // Before any traffic: the hub must exist when the first stream packet arrives.
  const hub = streamsOf(t, { maxStreams: cfg.maxStreams });
  // The fallback when no lossy link can be made: hubless's own TEST-ONLY loss on the sending side.
  if (cfg.role === 'sender' && cfg.faultLoss !== undefined && cfg.faultLoss > 0) hub.setFaults({ loss: cfg.faultLoss });
  return {
    t,
    index,
    install(s: Setup): void {
      const peer = s.peerInfo as { port: number; index: number };
      t.installSession(index, {
        remoteIndex: peer.index,
        algorithm: 'aes-256-gcm',
        txKey: Buffer.from(s.txKey, 'hex'),
        rxKey: Buffer.from(s.rxKey, 'hex'),
        peer: { address: cfg.peerHost, port: peer.port },
      });
    },
  };
}

function stats(t: Transport, index: number): Record<string, unknown> {
  const hub = streamsOf(t);
  return { socket: t.stats(), session: t.sessionStats(index), engine: hub.stats(), congestion: hub.sessionStats(index) };
}

async function openSender(cfg: PeerConfig): Promise<SenderSide> {
  const { t, index, install } = await open(cfg);
  const streams: Stream[] = [];
  return {
    info: { port: t.address.port, index, features: t.features },
    setup: install,
    async open(n: number): Promise<Sink[]> {
      const hub = streamsOf(t);
      const out: Sink[] = [];
      for (let i = 0; i < n; i++) {
        const s = hub.openStream(index, PORT);
        s.on('error', () => {}); // a reset at teardown is expected
        streams.push(s);
        out.push({ write: (c) => s.write(c), onceDrain: (fn) => s.once('drain', fn) });
      }
      return out;
    },
    stats: () => stats(t, index),
    close: () => t.close(),
  };
}

async function openReceiver(cfg: PeerConfig, rx: RxCounter): Promise<ReceiverSide> {
  const { t, index, install } = await open(cfg);
  streamsOf(t).on('stream', (s) => {
    const check = rx.stream();
    s.on('data', (c: Buffer) => {
      check(c);
      rx.lastRx = performance.now();
    });
    s.on('error', () => {});
  });
  return {
    info: { port: t.address.port, index, features: t.features },
    setup: install,
    stats: () => stats(t, index),
    close: () => t.close(),
  };
}

export const hubless: PeerModule = {
  label: 'hubless (AES-256-GCM)',
  encrypted: true,
  multiplexed: true,
  openSender,
  openReceiver,
};
