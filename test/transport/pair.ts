// Test helpers: two transports with a session between them, and hand-made packets for the
// receive path (sealed exactly as the wire spec says, so malformed variants can be derived).
import { randomBytes } from 'node:crypto';
import { Transport, type AeadAlgorithm, type DatagramBatch } from '../../src/transport/transport.js';
import { constants, native } from '../../src/native/binding.js';

export interface Pair {
  a: Transport;
  b: Transport;
  ia: number;
  ib: number;
  keyAB: Buffer;
  keyBA: Buffer;
  algorithm: AeadAlgorithm;
  close(): void;
}

export async function openPair(
  algorithm: AeadAlgorithm = 'aes-256-gcm',
  hostA = '127.0.0.1',
  hostB = hostA,
  offload = true,
): Promise<Pair> {
  const a = await Transport.open({ host: hostA, offload });
  const b = await Transport.open({ host: hostB, offload });
  const keyAB = randomBytes(32), keyBA = randomBytes(32);
  const ia = a.reserveSession(), ib = b.reserveSession();
  const peerOf = (t: Transport, host: string) => ({ address: host === '::' ? '::1' : host, port: t.address.port });
  a.installSession(ia, { remoteIndex: ib, algorithm, txKey: keyAB, rxKey: keyBA, peer: peerOf(b, hostB) });
  b.installSession(ib, { remoteIndex: ia, algorithm, txKey: keyBA, rxKey: keyAB, peer: peerOf(a, hostA) });
  return { a, b, ia, ib, keyAB, keyBA, algorithm, close: () => { a.close(); b.close(); } };
}

export interface Received {
  session: number;
  dst: number;
  src: number;
  data: Buffer;
}

/** Collects copies of everything `t` delivers. */
export function collect(t: Transport): Received[] {
  const got: Received[] = [];
  t.on('datagrams', (batch: DatagramBatch) => {
    for (let i = 0; i < batch.count; i++) {
      got.push({ session: batch.session(i), dst: batch.dstPort(i), src: batch.srcPort(i), data: batch.copy(i) });
    }
  });
  return got;
}

/** Resolves once `cond()` holds, or rejects after `ms` (tests stay bounded in time). */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const ALGORITHM_ID: Record<AeadAlgorithm, number> = { 'aes-256-gcm': 1, 'chacha20-poly1305': 2 };

/** A sealed datagram packet as a peer would send it: header ‖ AEAD(ports ‖ payload). */
export function sealDatagram(
  algorithm: AeadAlgorithm, key: Uint8Array, receiver: number, counter: number,
  dst: number, src: number, payload: Uint8Array,
): Buffer {
  const plain = Buffer.alloc(4 + payload.length);
  plain.writeUInt16BE(dst, 0);
  plain.writeUInt16BE(src, 2);
  plain.set(payload, 4);
  const header = native.frameEncode(constants.packetTypes.datagram, receiver, BigInt(counter),
    Buffer.alloc(plain.length + constants.tagSize)).subarray(0, constants.headerSize);
  const sealed = native.aeadSeal(ALGORITHM_ID[algorithm], key, counter, header, plain);
  return Buffer.concat([header, sealed]);
}
