/**
 * hubless: encrypted datagrams on an installed AES-256-GCM session. The sender hands the addon a
 * batch of payloads per call (sealed and sent natively, GSO where the kernel has it) and waits for
 * 'drain' when send() returns false; the receiver gets one 'datagrams' event per native batch.
 */
import { Transport } from '../../../src/transport/transport.js';
import { stampBuffer, template } from '../payload.js';
import {
  HOST, type ChildConfig, type PeerModule, type ReceiverSide, type RxCounter, type SendResult,
  type SenderSide, type Setup,
} from '../types.js';
import { onceWithin, sleep, yieldLoop } from '../wait.js';

const DST_PORT = 7;
const SRC_PORT = 9;

async function open(): Promise<{ t: Transport; index: number }> {
  // Transport's default socket buffers are 4 MiB each, as the other peers get.
  const t = await Transport.open({ host: HOST, port: 0 });
  return { t, index: t.reserveSession() };
}

function install(t: Transport, index: number, s: Setup): void {
  t.installSession(index, {
    remoteIndex: s.peerIndex,
    algorithm: 'aes-256-gcm',
    txKey: Buffer.from(s.txKey, 'hex'),
    rxKey: Buffer.from(s.rxKey, 'hex'),
    peer: { address: s.peerHost, port: s.peerPort },
  });
}

async function openSender(cfg: ChildConfig): Promise<SenderSide> {
  const { t, index } = await open();
  const size = t.maxPayload;
  const batch = Array.from({ length: cfg.batch }, () => template(size));
  let drainTimeouts = 0;
  return {
    port: t.address.port,
    index,
    info: { batch: cfg.batch, payload: size, features: t.features },
    setup: (s) => install(t, index, s),
    async run(deadline: number, tick: (sent: number) => void): Promise<SendResult> {
      const r: SendResult = { sent: 0, payloadBytes: 0, waits: 0, calls: 0, errors: 0 };
      let seq = 0;
      let lastYield = performance.now();
      let lastTick = lastYield;
      for (;;) {
        const now = performance.now();
        if (now >= deadline) break;
        if (now - lastYield > 2) {
          if (now - lastTick > 500) {
            tick(r.sent);
            lastTick = now;
          }
          await yieldLoop();
          lastYield = performance.now();
        }
        for (let i = 0; i < batch.length; i++) stampBuffer(batch[i], seq++);
        const ok = t.send(index, DST_PORT, SRC_PORT, batch);
        r.calls++;
        r.sent += batch.length;
        r.payloadBytes += batch.length * size;
        if (!ok) {
          r.waits++;
          if (!(await onceWithin(t, 'drain', 2000))) drainTimeouts++;
          lastYield = performance.now();
        }
      }
      r.errors = drainTimeouts;
      return r;
    },
    async flush(timeoutMs: number): Promise<void> {
      const end = Date.now() + timeoutMs;
      while (t.stats().pendingBytes > 0 && Date.now() < end) await sleep(5);
    },
    stats: () => ({ socket: t.stats(), session: t.sessionStats(index), drainTimeouts }),
    close: () => t.close(),
  };
}

async function openReceiver(_cfg: ChildConfig, rx: RxCounter): Promise<ReceiverSide> {
  const { t, index } = await open();
  const size = t.maxPayload;
  // Datagrams per 'datagrams' event: how well the native side batches.
  const hist = { '1': 0, '2-15': 0, '16-63': 0, '64-255': 0, '256-1023': 0, '1024+': 0 };
  let events = 0;
  let delivered = 0;
  let maxBatch = 0;
  let wrongPort = 0;
  t.on('datagrams', (b) => {
    const n = b.count;
    events++;
    delivered += n;
    if (n > maxBatch) maxBatch = n;
    if (n === 1) hist['1']++;
    else if (n < 16) hist['2-15']++;
    else if (n < 64) hist['16-63']++;
    else if (n < 256) hist['64-255']++;
    else if (n < 1024) hist['256-1023']++;
    else hist['1024+']++;
    for (let i = 0; i < n; i++) {
      if (b.dstPort(i) !== DST_PORT) {
        wrongPort++;
        continue;
      }
      rx.check(b.payload(i), size);
    }
    rx.lastRx = performance.now();
  });
  return {
    port: t.address.port,
    index,
    info: { payload: size, features: t.features },
    setup: (s) => install(t, index, s),
    stats: () => ({
      socket: t.stats(),
      session: t.sessionStats(index),
      events,
      maxBatch,
      meanBatch: events > 0 ? delivered / events : 0,
      batchHistogram: hist,
      wrongPort,
    }),
    close: () => t.close(),
  };
}

export const hubless: PeerModule = {
  label: 'hubless (AES-256-GCM)',
  payload: 1196,
  encrypted: true,
  openSender,
  openReceiver,
};
