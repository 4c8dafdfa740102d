import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Transport } from '../../src/transport/transport.js';
import { constants } from '../../src/native/binding.js';
import {
  COOKIE_REPLY_BYTES, INITIATION_BYTES, INITIATION_MAX, RESPONSE_BYTES, RESPONSE_MAX, HEADER_FIRST_BYTE,
} from '../../src/handshake/wire.js';

test('the native size bounds of handshake-class bodies are the handshake code\'s', () => {
  assert.deepEqual(constants.controlBodyBounds, {
    handshakeInit: [INITIATION_BYTES, INITIATION_MAX],
    handshakeResponse: [RESPONSE_BYTES, RESPONSE_MAX],
    cookieReply: [COOKIE_REPLY_BYTES, COOKIE_REPLY_BYTES],
  });
});

function packet(type: number, body: number): Buffer {
  const b = Buffer.alloc(16 + body, 0x5a);
  b[0] = HEADER_FIRST_BYTE;
  b[1] = type;
  b.writeUInt16BE(body, 2);
  b.writeUInt32BE(0, 4);
  b.writeBigUInt64BE(0n, 8);
  return b;
}

test('handshake-class packets of a size their type never has are dropped natively and counted', async () => {
  const t = await Transport.open({ host: '127.0.0.1', port: 0 });
  const sock = dgram.createSocket('udp4');
  try {
    const reached: number[] = [];
    t.on('control', (c: { type: number; body: Uint8Array }) => reached.push(c.body.length));
    const types = constants.packetTypes;
    const bounds = constants.controlBodyBounds;
    const cases: Array<[number, [number, number]]> = [
      [types.handshakeInit, bounds.handshakeInit],
      [types.handshakeResponse, bounds.handshakeResponse],
      [types.cookieReply, bounds.cookieReply],
    ];
    let bad = 0;
    let good = 0;
    for (const [type, [min, max]] of cases) {
      for (const size of [0, min - 1, max + 1, 1200]) {
        await new Promise<void>((r) => sock.send(packet(type, size), t.address.port, '127.0.0.1', () => r()));
        bad++;
      }
      for (const size of new Set([min, max])) {
        await new Promise<void>((r) => sock.send(packet(type, size), t.address.port, '127.0.0.1', () => r()));
        good++;
      }
    }
    const deadline = Date.now() + 5000;
    while (t.stats().rxDatagrams < bad + good && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setImmediate(r));
    assert.equal(t.stats().rxDatagrams, bad + good);
    assert.equal(t.stats().dropControlSize, bad);
    assert.equal(reached.length, good);
  } finally {
    sock.close();
    await t.close();
  }
});
