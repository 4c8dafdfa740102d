// Child process for test/transport/backpressure.test.ts. It runs inside a private network
// namespace (unshare -n) whose loopback the parent shaped with `tc` or a small MTU, so the kernel
// really pushes back (a tbf qdisc holds our packets, a small SO_SNDBUF then answers EAGAIN) or
// really refuses GSO (an MTU below the segment size answers EINVAL). Loopback on the host never
// does either: it frees a packet's send-buffer charge as soon as it is handed over.
//
// Usage: node --expose-gc --import tsx netns-child.ts <scenario> [offload:on|off]
// Prints one line `RESULT <json>` with what it observed; the parent asserts on it. It must exit
// by itself once everything is closed (no handle left behind), which the parent checks too.
import { randomBytes } from 'node:crypto';
import { Transport, nativeSocketOf, type DatagramBatch } from '../../src/transport/transport.js';

const PAYLOAD = 1180; // wire size 16 + 4 + 1180 + 16 = 1216 bytes
const WIRE = PAYLOAD + 36;
const scenario = process.argv[2];
const offload = process.argv[3] !== 'off';
const result: Record<string, unknown> = { scenario, offload };
/** The sender of the running scenario: its counters go into the result if the scenario fails. */
let sender: Transport | null = null;

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A sender with a tiny send buffer and a receiver, with a session between them. */
async function pair(sendBufferSize?: number) {
  const a = await Transport.open({ host: '127.0.0.1', offload, sendBufferSize });
  sender ??= a;
  const b = await Transport.open({ host: '127.0.0.1', offload });
  const k1 = randomBytes(32), k2 = randomBytes(32);
  const ia = a.reserveSession(), ib = b.reserveSession();
  a.installSession(ia, { remoteIndex: ib, algorithm: 'aes-256-gcm', txKey: k1, rxKey: k2, peer: { address: '127.0.0.1', port: b.address.port } });
  b.installSession(ib, { remoteIndex: ia, algorithm: 'aes-256-gcm', txKey: k2, rxKey: k1, peer: { address: '127.0.0.1', port: a.address.port } });
  // Every payload carries its sequence number, so order and loss are visible.
  const seqs: number[] = [];
  let corrupt = 0;
  b.on('datagrams', (batch: DatagramBatch) => {
    for (let i = 0; i < batch.count; i++) {
      const p = batch.payload(i);
      const seq = p.readUInt32BE(0);
      if (p.length < 8 || p.readUInt32BE(p.length - 4) !== (seq ^ 0xa5a5a5a5) >>> 0) corrupt++;
      seqs.push(seq);
    }
  });
  let next = 0;
  const batch = (n: number, size = PAYLOAD) =>
    Array.from({ length: n }, () => {
      const p = Buffer.alloc(size, next & 0xff);
      p.writeUInt32BE(next, 0);
      p.writeUInt32BE((next ^ 0xa5a5a5a5) >>> 0, size - 4);
      next++;
      return p;
    });
  const inOrder = () => seqs.every((s, i) => s === i);
  return { a, b, ia, ib, seqs, batch, inOrder, corrupt: () => corrupt, sent: () => next };
}

async function drainScenario() {
  const p = await pair(4096);
  let drains = 0;
  p.a.on('drain', () => drains++);
  let accepted = true, batches = 0;
  while (accepted && batches < 200) {
    accepted = p.a.send(p.ia, 1, 1, p.batch(64));
    batches++;
  }
  const s = p.a.stats();
  Object.assign(result, {
    sendReturnedFalse: !accepted, batches, pendingAtFalse: s.pendingBytes, eagain: s.txEagain,
    drainsBeforeAwait: drains,
  });
  await until(() => drains > 0, 30000, "'drain'");
  const after = p.a.stats();
  Object.assign(result, { drains, pendingAfterDrain: after.pendingBytes, queueFull: after.dropQueueFull });
  // A send after 'drain' goes straight out again.
  Object.assign(result, { sendAfterDrain: p.a.send(p.ia, 1, 1, p.batch(2)) });
  await until(() => p.seqs.length >= p.sent(), 30000, 'every datagram at the receiver');
  await new Promise((r) => setTimeout(r, 50));
  Object.assign(result, {
    sent: p.sent(), received: p.seqs.length, inOrder: p.inOrder(), corrupt: p.corrupt(),
    txPackets: p.a.sessionStats(p.ia)?.txPackets, txDatagrams: p.a.stats().txDatagrams,
    rxDropAuth: p.b.stats().dropAuth, drainsTotal: drains,
  });
  p.a.close();
  p.b.close();
}

async function closeScenario() {
  const p = await pair(4096);
  let drains = 0, closes = 0;
  p.a.on('drain', () => drains++);
  p.a.on('close', () => closes++);
  let batches = 0;
  // Fill the native queue past its 8 MiB bound: every send returns false from the first refusal on.
  while (p.a.stats().dropQueueFull === 0 && batches < 64) {
    p.a.send(p.ia, 1, 1, p.batch(1024));
    batches++;
  }
  const s = p.a.stats();
  const txPackets = p.a.sessionStats(p.ia)?.txPackets ?? -1;
  Object.assign(result, {
    batches, pendingAtClose: s.pendingBytes, queueFull: s.dropQueueFull, eagain: s.txEagain,
    txPackets, txDatagrams: s.txDatagrams, wire: WIRE,
    lastSendReturned: p.a.send(p.ia, 1, 1, p.batch(1)),
  });
  p.a.close();
  p.a.close();
  const afterClose = p.a.stats();
  Object.assign(result, { pendingGaugeAfterClose: afterClose.pendingBytes, closedFlag: p.a.closed });
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
      return 'no error';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  };
  Object.assign(result, {
    sendAfterClose: codeOf(() => p.a.send(p.ia, 1, 1, p.batch(1))),
    sendControlAfterClose: codeOf(() => p.a.sendControl(1, 0, Buffer.alloc(4), p.b.address)),
    reserveAfterClose: codeOf(() => p.a.reserveSession()),
  });
  // Let the event loop turn a while (the qdisc still releases what the kernel accepted): no
  // 'drain' may follow a close, and the closed socket may be collected.
  await new Promise((r) => setTimeout(r, 300));
  global.gc?.();
  await new Promise((r) => setTimeout(r, 50));
  Object.assign(result, { drains, closes, receivedBeforeReceiverClose: p.seqs.length });
  p.b.close();
  // The process is still healthy: a fresh pair exchanges datagrams.
  const q = await pair();
  q.a.send(q.ia, 1, 1, q.batch(3));
  await until(() => q.seqs.length === 3, 10000, 'the fresh pair');
  Object.assign(result, { freshPairOk: q.inOrder() && q.corrupt() === 0 });
  q.a.close();
  q.b.close();
}

// lo's MTU (1200) is below the 1260-byte IP packet of a full datagram: UDP GSO with that segment
// size fails at send time (EMSGSIZE on this kernel) although the socket option probe succeeded
// at bind; single datagrams are fragmented and delivered.
async function gsoFallbackScenario() {
  const p = await pair();
  const nat = nativeSocketOf(p.a);
  Object.assign(result, { gsoAtBind: p.a.features.gso });
  // Small datagrams fit the MTU: GSO works for them.
  p.a.send(p.ia, 1, 1, p.batch(64, 200));
  await until(() => p.seqs.length === 64, 10000, 'small datagrams');
  Object.assign(result, { gsoSendsSmall: p.a.stats().txGsoSends, gsoAfterSmall: nat.features().gso });
  // Full-size ones do not: those trains go out one datagram at a time, losing nothing.
  const ok1 = p.a.send(p.ia, 1, 1, p.batch(64));
  const ok2 = p.a.send(p.ia, 1, 1, [...p.batch(100, 300), ...p.batch(200)]);
  const s = p.a.stats();
  Object.assign(result, { statsBeforeWait: s, received: p.seqs.length });
  await until(() => p.seqs.length === p.sent(), 10000, 'full-size datagrams after the fallback');
  Object.assign(result, {
    sendReturned: [ok1, ok2], gsoAfterLarge: nat.features().gso, gsoSendsAfter: s.txGsoSends,
    txErrors: s.txErrors, sent: p.sent(), received: p.seqs.length, inOrder: p.inOrder(), corrupt: p.corrupt(),
  });
  // The path's MTU is this destination's problem only: GSO stays on, and small trains still use it.
  p.a.send(p.ia, 1, 1, p.batch(64, 200));
  await until(() => p.seqs.length === p.sent(), 10000, 'small datagrams after the fallback');
  Object.assign(result, { gsoSendsFinal: p.a.stats().txGsoSends, receivedFinal: p.seqs.length, inOrderFinal: p.inOrder() });
  p.a.close();
  p.b.close();
}

// The same MTU, plus a tbf qdisc and a tiny send buffer: small GSO trains fill the send buffer, so
// the full-size group behind them waits in the native queue, and only the drain finds that GSO
// fails for it (the queued-group fallback path).
async function gsoFallbackQueuedScenario() {
  const p = await pair(4096);
  const nat = nativeSocketOf(p.a);
  let drains = 0;
  p.a.on('drain', () => drains++);
  const ok = p.a.send(p.ia, 1, 1, [...p.batch(64, 120), ...p.batch(64, 120), ...p.batch(64, 120), ...p.batch(64)]);
  const s = p.a.stats();
  Object.assign(result, { sendReturned: ok, pendingAfterSend: s.pendingBytes, gsoBeforeDrain: nat.features().gso });
  await until(() => drains > 0, 30000, "'drain'");
  await until(() => p.seqs.length === p.sent(), 10000, 'every datagram');
  const e = p.a.stats();
  Object.assign(result, {
    drains, gsoAfterDrain: nat.features().gso, pendingAfterDrain: e.pendingBytes, txErrors: e.txErrors,
    sent: p.sent(), received: p.seqs.length, inOrder: p.inOrder(), corrupt: p.corrupt(),
  });
  p.a.close();
  p.b.close();
}

const scenarios: Record<string, () => Promise<void>> = {
  drain: drainScenario,
  close: closeScenario,
  'gso-fallback': gsoFallbackScenario,
  'gso-fallback-queued': gsoFallbackQueuedScenario,
};

try {
  const run = scenarios[scenario];
  if (run === undefined) throw new Error(`unknown scenario ${scenario}`);
  await run();
} catch (e) {
  result.error = (e as Error).stack ?? String(e);
  const s = sender as Transport | null; // assigned inside the scenario
  if (s !== null && !s.closed) result.senderStats = s.stats();
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(1); // sockets may still be open: do not wait for them
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
