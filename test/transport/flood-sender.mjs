// Child process for random-flood.test.ts: throws random datagrams at a port on 127.0.0.1 in
// blocks the parent asks for over IPC, and reports how a model of the receive path
// (docs/PROTOCOL.md) classifies each one. Sending from another process keeps the sender's own
// allocations out of the receiver's memory figures.
//
// Messages in: { port, live, headerSize, tagSize, version, types, controlBodyBounds } once, then
// { send: n } per block. Out: { sent, expected } after each block's sends completed.
import dgram from 'node:dgram';
import { randomFillSync } from 'node:crypto';

const MAX_LEN = 1400;
let cfg;
let known;
const buf = Buffer.alloc(MAX_LEN * 256);
const expected = {};
let sent = 0;
let odd = 0;
const sock = dgram.createSocket('udp4');
await new Promise((r) => sock.bind(0, '127.0.0.1', r));

function classify(p, n) {
  if (n < cfg.headerSize) return 'dropShort';
  if ((p[0] & 0xc0) !== 0xc0) return (p[0] & 0xc0) === 0 ? 'stun?' : 'dropNotHubless';
  if (p[0] !== (0xc0 | cfg.version)) return 'dropVersion';
  const length = (p[2] << 8) | p[3];
  if (length !== n - cfg.headerSize) return 'dropLength';
  const type = p[1];
  if (!known.has(type)) return 'dropType';
  const sealed = type === cfg.types.datagram || type === cfg.types.stream;
  if (sealed && length < cfg.tagSize + (type === cfg.types.datagram ? 4 : 0)) return 'dropTruncated';
  if (!sealed) {
    // Handshake-class bodies have sizes their type allows, else they are dropped natively.
    const name = Object.keys(cfg.types).find((k) => cfg.types[k] === type);
    const [min, max] = cfg.controlBodyBounds[name];
    return length >= min && length <= max ? 'rxControl' : 'dropControlSize';
  }
  if (type === cfg.types.stream) return 'dropStream';
  const receiver = ((p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7]) >>> 0;
  // Nothing ever authenticates, so the window never moves: every counter is fresh, and the AEAD
  // is what rejects the packet.
  return receiver === cfg.live ? 'dropAuth' : 'dropUnknownSession';
}

process.on('message', async (m) => {
  if (m.port !== undefined) {
    cfg = m;
    known = new Set(Object.values(m.types));
    process.send({ ready: true });
    return;
  }
  const n = Math.min(m.send, 256);
  let done = 0;
  await new Promise((resolve, reject) => {
    for (let i = 0; i < n; i++) {
      const off = i * MAX_LEN;
      const len = Math.floor(Math.random() * MAX_LEN);
      const p = buf.subarray(off, off + len);
      randomFillSync(p);
      if (odd++ % 2 === 0 && len >= 16) {
        // Half look like sealed datagrams for the live session, so they reach the AEAD.
        p[0] = 0xc0 | cfg.version; p[1] = cfg.types.datagram; p.writeUInt16BE(len - 16, 2); p.writeUInt32BE(cfg.live, 4);
      } else if ((p[0] & 0xc0) === 0) {
        p[0] |= 0x40; // out of the STUN range: every packet must be dropped
      }
      const reason = classify(p, len);
      expected[reason] = (expected[reason] ?? 0) + 1;
      sock.send(p, cfg.port, '127.0.0.1', (e) => {
        if (e) reject(e);
        else if (++done === n) resolve();
      });
    }
  });
  sent += n;
  process.send({ sent, expected });
});
process.on('disconnect', () => sock.close());
