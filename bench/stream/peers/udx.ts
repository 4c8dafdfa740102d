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

function open(cfg: PeerConfig): { udx: UdxInstance; socket: UdxSocket } {
  const udx = new (UDX as unknown as new () => UdxInstance)();
  const socket = udx.createSocket();
  socket.bind(0, cfg.host);
  // The same 4 MiB kernel buffers hubless's transport asks for.
  socket.setRecvBufferSize(4 << 20);
  socket.setSendBufferSize(4 << 20);
  return { udx, socket };
}

async function closeAll(streams: UdxStream[], socket: UdxSocket): Promise<void> {
  for (const s of streams) s.destroy();
  await socket.close().catch(() => {});
}

async function openSender(cfg: PeerConfig): Promise<SenderSide> {
  const { udx, socket } = open(cfg);
  const streams: UdxStream[] = [];
  let peerPort = 0;
  return {
    info: { port: socket.address().port },
    setup(s: Setup): void {
      peerPort = (s.peerInfo as { port: number }).port;
    },
    async open(n: number): Promise<Sink[]> {
      const out: Sink[] = [];
      for (let i = 0; i < n; i++) {
        const s = udx.createStream(SENDER_IDS + streams.length);
        s.on('error', () => {});
        s.connect(socket, RECEIVER_IDS + streams.length, peerPort, cfg.peerHost);
        streams.push(s);
        out.push({ write: (c) => s.write(c), onceDrain: (fn) => s.once('drain', fn) });
      }
      return out;
    },
    stats: () => ({}),
    close: () => closeAll(streams, socket),
  };
}

async function openReceiver(cfg: PeerConfig, rx: RxCounter): Promise<ReceiverSide> {
  const { udx, socket } = open(cfg);
  const streams: UdxStream[] = [];
  let peerPort = 0;
  return {
    info: { port: socket.address().port },
    setup(s: Setup): void {
      peerPort = (s.peerInfo as { port: number }).port;
    },
    accept(n: number): void {
      for (let i = 0; i < n; i++) {
        const s = udx.createStream(RECEIVER_IDS + streams.length);
        s.on('error', () => {});
        s.connect(socket, SENDER_IDS + streams.length, peerPort, cfg.peerHost);
        const check = rx.stream();
        s.on('data', (c: Buffer) => {
          check(c);
          rx.lastRx = performance.now();
        });
        streams.push(s);
      }
    },
    stats: () => ({}),
    close: () => closeAll(streams, socket),
  };
}

export const udx: PeerModule = {
  label: 'udx-native (plain)',
  encrypted: false,
  multiplexed: true,
  openSender,
  openReceiver,
};
