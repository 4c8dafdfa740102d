/**
 * node:dgram, plain and with node:crypto AES-256-GCM per packet.
 *
 * Senders connect() their socket to the receiver (the fastest way node:dgram sends to one peer:
 * no address lookup per send) and bound their queue with getSendQueueCount(): when it reaches
 * QUEUE_LIMIT, the next send carries a callback and the sender waits for it, i.e. until the queue
 * is empty. Plain payloads come from a ring of buffers larger than the queue can ever hold, so a
 * buffer is never rewritten while libuv still points at it.
 *
 * The encrypted variant: plaintext 1200 bytes, wire = 8-byte clear counter ‖ ciphertext ‖ 16-byte
 * tag; nonce = 4 zero bytes ‖ the counter (big-endian); the counter is the AAD; a fresh
 * Cipher/Decipher object per packet (node:crypto has no other way to change the nonce). The
 * receiver decrypts and authenticates every packet before checking its payload.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import dgram from 'node:dgram';
import { stampBuffer, template } from '../payload.js';
import {
  BUFFER_BYTES, HOST, type ChildConfig, type PeerModule, type ReceiverSide, type RxCounter,
  type SendResult, type SenderSide, type Setup,
} from '../types.js';
import { sleep, untilDeadline } from '../wait.js';

const PAYLOAD = 1200;
const HEADER = 8;
const TAG = 16;
const QUEUE_LIMIT = 1024;
const RING = 4096;          // > QUEUE_LIMIT + one burst
const BURST = 256;          // sends between time checks and yields

function socket(): dgram.Socket {
  return dgram.createSocket({ type: 'udp4', recvBufferSize: BUFFER_BYTES, sendBufferSize: BUFFER_BYTES });
}

async function bind(s: dgram.Socket): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, HOST, () => {
      s.off('error', reject);
      resolve();
    });
  });
}

function bufferInfo(s: dgram.Socket): Record<string, unknown> {
  return { recvBufferSize: s.getRecvBufferSize(), sendBufferSize: s.getSendBufferSize() };
}

async function openSender(encrypted: boolean): Promise<SenderSide> {
  const s = socket();
  await bind(s);
  let errors = 0;
  s.on('error', () => errors++);
  let key: KeyObject | null = null;
  let connected = false;
  const ring = encrypted ? [] : Array.from({ length: RING }, () => template(PAYLOAD));
  const plain = template(PAYLOAD);
  const nonce = Buffer.alloc(12);

  const packet = (seq: number): Buffer | Buffer[] => {
    if (!encrypted) {
      const b = ring[seq % RING];
      stampBuffer(b, seq);
      return b;
    }
    stampBuffer(plain, seq);
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32BE(0, 0);
    header.writeUInt32BE(seq, 4);
    nonce.writeUInt32BE(seq, 8);
    const c = createCipheriv('aes-256-gcm', key!, nonce);
    c.setAAD(header);
    const ct = c.update(plain);
    c.final();
    return [header, ct, c.getAuthTag()];
  };

  return {
    port: s.address().port,
    index: 0,
    info: { ...bufferInfo(s), connected: true, queueLimit: QUEUE_LIMIT },
    setup(st: Setup): void {
      key = createSecretKey(Buffer.from(st.txKey, 'hex'));
      s.connect(st.peerPort, st.peerHost, () => (connected = true));
    },
    async run(deadline: number, tick: (sent: number) => void): Promise<SendResult> {
      const end = Date.now() + 2000;
      while (!connected && Date.now() < end) await sleep(1);
      if (!connected) throw new Error('connect() did not complete');
      const r: SendResult = { sent: 0, payloadBytes: 0, waits: 0, calls: 0, errors: 0 };
      let seq = 0;
      await untilDeadline(deadline, () => tick(r.sent), async () => {
        for (let k = 0; k < BURST; k++) {
          const p = packet(seq++);
          r.sent++;
          r.calls++;
          r.payloadBytes += PAYLOAD;
          if (s.getSendQueueCount() >= QUEUE_LIMIT) {
            r.waits++;
            await new Promise<void>((resolve) => s.send(p, () => resolve()));
            return;
          }
          s.send(p);
        }
      });
      r.errors = errors;
      return r;
    },
    async flush(timeoutMs: number): Promise<void> {
      const end = Date.now() + timeoutMs;
      while (s.getSendQueueCount() > 0 && Date.now() < end) await sleep(5);
    },
    stats: () => ({ errors, queueCount: s.getSendQueueCount(), queueBytes: s.getSendQueueSize() }),
    close: () => new Promise<void>((resolve) => s.close(() => resolve())),
  };
}

async function openReceiver(encrypted: boolean, rx: RxCounter): Promise<ReceiverSide> {
  const s = socket();
  await bind(s);
  let key: KeyObject | null = null;
  let authFailures = 0;
  let counterMismatch = 0;
  const nonce = Buffer.alloc(12);
  const wire = HEADER + PAYLOAD + TAG;

  if (!encrypted) {
    s.on('message', (msg: Buffer) => {
      rx.check(msg, PAYLOAD);
      rx.lastRx = performance.now();
    });
  } else {
    s.on('message', (msg: Buffer) => {
      rx.lastRx = performance.now();
      if (msg.length !== wire || key === null) {
        rx.invalid++;
        return;
      }
      const header = msg.subarray(0, HEADER);
      const counter = msg.readUInt32BE(4);
      nonce.writeUInt32BE(msg.readUInt32BE(0), 4);
      nonce.writeUInt32BE(counter, 8);
      const d = createDecipheriv('aes-256-gcm', key, nonce);
      d.setAAD(header);
      d.setAuthTag(msg.subarray(HEADER + PAYLOAD));
      const pt = d.update(msg.subarray(HEADER, HEADER + PAYLOAD));
      try {
        d.final();
      } catch {
        authFailures++;
        rx.invalid++;
        return;
      }
      // The counter is authenticated (AAD) and must be the payload's own sequence number.
      if (pt.readUInt32LE(0) !== counter) {
        counterMismatch++;
        rx.invalid++;
        return;
      }
      rx.check(pt, PAYLOAD);
    });
  }
  return {
    port: s.address().port,
    index: 0,
    info: bufferInfo(s),
    setup(st: Setup): void {
      key = createSecretKey(Buffer.from(st.rxKey, 'hex'));
    },
    stats: () => (encrypted ? { authFailures, counterMismatch } : {}),
    close: () => new Promise<void>((resolve) => s.close(() => resolve())),
  };
}

export const dgramPlain: PeerModule = {
  label: 'node:dgram (plain)',
  payload: PAYLOAD,
  encrypted: false,
  openSender: (_cfg: ChildConfig) => openSender(false),
  openReceiver: (_cfg: ChildConfig, rx: RxCounter) => openReceiver(false, rx),
};

export const dgramCrypto: PeerModule = {
  label: 'node:dgram + node:crypto AES-256-GCM',
  payload: PAYLOAD,
  encrypted: true,
  openSender: (_cfg: ChildConfig) => openSender(true),
  openReceiver: (_cfg: ChildConfig, rx: RxCounter) => openReceiver(true, rx),
};
