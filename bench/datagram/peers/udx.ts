/**
 * udx-native datagrams (unencrypted): `socket.trySend(buf, port, host)` per packet. trySend gives
 * no completion signal, so every MARK-th packet goes through `socket.send()` (a promise resolved
 * when libudx has handed it to the kernel, in order); with at most WINDOW packets between the
 * oldest unresolved marker and the newest send, the sender waits for that marker. Payloads come
 * from a ring of buffers larger than the window, since udx keeps a reference until it sends.
 */
import UDX from 'udx-native';
import { stampBuffer, template } from '../payload.js';
import {
  BUFFER_BYTES, HOST, type ChildConfig, type PeerModule, type ReceiverSide, type RxCounter,
  type SendResult, type SenderSide, type Setup,
} from '../types.js';
import { sleep, untilDeadline } from '../wait.js';

const PAYLOAD = 1200;
const MARK = 64;
const WINDOW = 1024;
const RING = 4096;          // > WINDOW + MARK + one burst
const BURST = 256;

interface UdxSocket {
  bind(port: number, host: string): void;
  address(): { host: string; port: number; family: number };
  setRecvBufferSize(n: number): void;
  setSendBufferSize(n: number): void;
  getRecvBufferSize(): number;
  getSendBufferSize(): number;
  trySend(b: Buffer, port: number, host: string): void;
  send(b: Buffer, port: number, host: string): Promise<boolean>;
  on(event: 'message', fn: (msg: Buffer) => void): void;
  close(): Promise<void>;
  packetsDroppedByKernel: number;
}

interface UdxInstance {
  createSocket(): UdxSocket;
}

async function open(): Promise<UdxSocket> {
  const udx = new (UDX as unknown as new () => UdxInstance)();
  const s = udx.createSocket();
  s.bind(0, HOST);
  s.setRecvBufferSize(BUFFER_BYTES);
  s.setSendBufferSize(BUFFER_BYTES);
  return s;
}

function bufferInfo(s: UdxSocket): Record<string, unknown> {
  return { recvBufferSize: s.getRecvBufferSize(), sendBufferSize: s.getSendBufferSize() };
}

async function openSender(_cfg: ChildConfig): Promise<SenderSide> {
  const s = await open();
  const ring = Array.from({ length: RING }, () => template(PAYLOAD));
  let peer: Setup | null = null;
  let failed = 0;
  const markers: { seq: number; done: boolean; p: Promise<void> }[] = [];
  return {
    port: s.address().port,
    index: 0,
    info: { ...bufferInfo(s), mark: MARK, window: WINDOW },
    setup(st: Setup): void {
      peer = st;
    },
    async run(deadline: number, tick: (sent: number) => void): Promise<SendResult> {
      const host = peer!.peerHost;
      const port = peer!.peerPort;
      const r: SendResult = { sent: 0, payloadBytes: 0, waits: 0, calls: 0, errors: 0 };
      let seq = 0;
      await untilDeadline(deadline, () => tick(r.sent), async () => {
        for (let k = 0; k < BURST; k++) {
          const b = ring[seq % RING];
          stampBuffer(b, seq);
          if (seq % MARK === MARK - 1) {
            const m = { seq, done: false, p: Promise.resolve() };
            m.p = s.send(b, port, host).then((ok) => {
              m.done = true;
              if (!ok) failed++;
            });
            markers.push(m);
          } else {
            s.trySend(b, port, host);
          }
          seq++;
          r.sent++;
          r.calls++;
          r.payloadBytes += PAYLOAD;
          while (markers.length > 0 && markers[0].done) markers.shift();
          if (markers.length > 0 && seq - markers[0].seq > WINDOW) {
            r.waits++;
            await markers[0].p;
            return;
          }
        }
      });
      r.errors = failed;
      return r;
    },
    async flush(timeoutMs: number): Promise<void> {
      // The newest marker covers all but the last MARK - 1 trySends, which follow it closely.
      const last = markers[markers.length - 1];
      if (last !== undefined) await Promise.race([last.p, sleep(timeoutMs)]);
      await sleep(20);
    },
    stats: () => ({ markerFailures: failed }),
    close: () => s.close(),
  };
}

async function openReceiver(_cfg: ChildConfig, rx: RxCounter): Promise<ReceiverSide> {
  const s = await open();
  s.on('message', (msg: Buffer) => {
    rx.check(msg, PAYLOAD);
    rx.lastRx = performance.now();
  });
  return {
    port: s.address().port,
    index: 0,
    info: bufferInfo(s),
    setup: () => {},
    stats: () => ({ packetsDroppedByKernel: s.packetsDroppedByKernel }),
    close: () => s.close(),
  };
}

export const udx: PeerModule = {
  label: 'udx-native (plain)',
  payload: PAYLOAD,
  encrypted: false,
  openSender,
  openReceiver,
};
