import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, native } from '../../src/native/binding.js';

const T = constants.packetTypes;

function expectCode(fn: () => unknown, code: string) {
  assert.throws(fn, (e: NodeJS.ErrnoException) => e.code === code, `expected ${code}`);
}

test('header round trips every field, including a 64-bit counter', () => {
  for (const [type, receiver, counter, len] of [
    [T.datagram, 0xdeadbeef, 0xfedcba9876543210n, 40],
    [T.handshakeInit, 0, 0n, 0],
    [T.handshakeResponse, 1, 1n, 100],
    [T.cookieReply, 0xffffffff, 2n ** 64n - 1n, 1216],
  ] as const) {
    const pkt = native.frameEncode(type, receiver, counter, Buffer.alloc(len, 7));
    assert.equal(pkt.length, constants.headerSize + len);
    assert.equal(pkt[0], 0xc0 | constants.version);
    const h = native.frameDecode(pkt);
    assert.deepEqual(h, { version: constants.version, type, length: len, receiver, counter });
  }
});

test('the header is big-endian on the wire as docs/PROTOCOL.md draws it', () => {
  const pkt = native.frameEncode(T.datagram, 0x01020304, 0x05060708090a0b0cn, Buffer.alloc(20));
  assert.equal(pkt.subarray(0, 16).toString('hex'), 'c1100014010203040506070809' + '0a0b0c');
});

test('rejects a header shorter than 16 bytes', () => {
  for (let n = 0; n < 16; n++) expectCode(() => native.frameDecode(Buffer.alloc(n, 0xc1)), 'ERR_HUBLESS_FRAME_SHORT');
});

test('rejects another version and non-hubless first bytes', () => {
  const pkt = native.frameEncode(T.handshakeInit, 0, 0n, Buffer.alloc(8));
  pkt[0] = 0xc2;
  expectCode(() => native.frameDecode(pkt), 'ERR_HUBLESS_FRAME_VERSION');
  for (const b of [0x00, 0x41, 0x81, 0xbf]) {
    pkt[0] = b;
    expectCode(() => native.frameDecode(pkt), 'ERR_HUBLESS_FRAME_NOT_HUBLESS');
  }
});

test('rejects a length field that disagrees with the datagram', () => {
  const pkt = native.frameEncode(T.datagram, 5, 9n, Buffer.alloc(40));
  expectCode(() => native.frameDecode(pkt.subarray(0, pkt.length - 1)), 'ERR_HUBLESS_FRAME_LENGTH');
  expectCode(() => native.frameDecode(Buffer.concat([pkt, Buffer.alloc(1)])), 'ERR_HUBLESS_FRAME_LENGTH');
  const bad = Buffer.from(pkt);
  bad.writeUInt16BE(0xffff, 2);
  expectCode(() => native.frameDecode(bad), 'ERR_HUBLESS_FRAME_LENGTH');
});

test('rejects unknown and reserved packet types', () => {
  for (const type of [0x00, 0x04, 0x12, 0x7f, 0xff]) {
    expectCode(() => native.frameDecode(native.frameEncode(type, 1, 1n, Buffer.alloc(40))), 'ERR_HUBLESS_FRAME_TYPE');
  }
});

test('rejects a sealed packet too short to hold its tag and ports', () => {
  for (let len = 0; len < constants.tagSize + 4; len++) {
    expectCode(() => native.frameDecode(native.frameEncode(T.datagram, 1, 1n, Buffer.alloc(len))), 'ERR_HUBLESS_FRAME_TRUNCATED');
  }
  assert.equal(native.frameDecode(native.frameEncode(T.datagram, 1, 1n, Buffer.alloc(20))).length, 20);
});

test('bad arguments to the codec are errors with codes, not crashes', () => {
  expectCode(() => native.frameDecode('nope' as unknown as Uint8Array), 'ERR_HUBLESS_INVALID_ARGUMENT');
  expectCode(() => native.frameEncode(T.datagram, 1, 1 as unknown as bigint, Buffer.alloc(1)), 'ERR_HUBLESS_INVALID_ARGUMENT');
  expectCode(() => native.frameEncode(T.datagram, 1, 1n, Buffer.alloc(0x10000)), 'ERR_HUBLESS_DATAGRAM_TOO_LARGE');
});
