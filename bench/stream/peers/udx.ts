/**
 * udx-native streams (reliable, congestion-controlled, unencrypted): each side creates its end
 * of every stream with an id the other side knows and connects it to the other's socket, all on
 * one UDP socket per process (udx's way of multiplexing). The receiver creates its ends first
 * (`accept`), since udx drops packets for stream ids it does not know.
 */
import UDX from 'udx-native';
import type { PeerConfig, PeerModule, ReceiverSide, RxCounter, SenderSide, Setup, Sink } from '../types.js';

const SENDER_IDS = 1;
const RECEIVER_IDS = 1_000_000;

interface UdxStream {
  connect(socket: UdxSocket, remoteId: number, port: number, host: string): void;
  write(b: Buffer): boolean;
  once(event: 'drain', fn: () => void): void;
  on(event: string, fn: (...a: never[]) => void): void;
  destroy(): void;
}
interface UdxSocket {
  bind(port: number, host: string): void;
  address(): { port: number };
  setRecvBufferSize(n: number): void;
  setSendBufferSize(n: number): void;
  close(): Promise<void>;
}
interface UdxInstance {
  createSocket(): UdxSocket;
  createStream(id: number): UdxStream;
}

/**
 * One side's socket and streams (both sides are alike): `stream()` creates the next stream of
 * this side, `localIds` + n, and connects it to the other side's `remoteIds` + n.
 */
function side(cfg: PeerConfig, localIds: number, remoteIds: number): Pick<SenderSide, 'info' | 'setup' | 'stats' | 'close'> & { stream(): UdxStream } {
  const udx = new (UDX as unknown as new () => UdxInstance)();
  const socket = udx.createSocket();
  socket.bind(0, cfg.host);
  // The same 4 MiB kernel buffers hubless's transport asks for.
  socket.setRecvBufferSize(4 << 20);
  socket.setSendBufferSize(4 << 20);
  const streams: UdxStream[] = [];
  let peerPort = 0;
  return {
    info: { port: socket.address().port },
    setup(s: Setup): void {
      peerPort = (s.peerInfo as { port: number }).port;
    },
    stream(): UdxStream {
      const s = udx.createStream(localIds + streams.length);
      s.on('error', () => {});
      s.connect(socket, remoteIds + streams.length, peerPort, cfg.peerHost);
      streams.push(s);
      return s;
    },
    stats: () => ({}),
    close: async () => {
      for (const s of streams) s.destroy();
      await socket.close().catch(() => {});
    },
  };
}

async function openSender(cfg: PeerConfig): Promise<SenderSide> {
  const { stream, ...rest } = side(cfg, SENDER_IDS, RECEIVER_IDS);
  return {
    ...rest,
    async open(n: number): Promise<Sink[]> {
      const out: Sink[] = [];
      for (let i = 0; i < n; i++) {
        const s = stream();
        out.push({ write: (c) => s.write(c), onceDrain: (fn) => s.once('drain', fn) });
      }
      return out;
    },
  };
}

async function openReceiver(cfg: PeerConfig, rx: RxCounter): Promise<ReceiverSide> {
  const { stream, ...rest } = side(cfg, RECEIVER_IDS, SENDER_IDS);
  return {
    ...rest,
    accept(n: number): void {
      for (let i = 0; i < n; i++) {
        const s = stream();
        const check = rx.stream();
        s.on('data', (c: Buffer) => {
          check(c);
          rx.lastRx = performance.now();
        });
      }
    },
  };
}

export const udx: PeerModule = {
  label: 'udx-native (plain)',
  encrypted: false,
  multiplexed: true,
  openSender,
  openReceiver,
};
