import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Address,
  ADDRESS_BYTES,
  NODE_BROADCAST,
  NODE_UNSPECIFIED,
  SocketAddress,
  assertPort,
  isReservedNodeId,
  isReservedPort,
  isValidAddress,
  parseAddress,
  parsePort,
  parseSocketAddress,
  formatSocketAddress,
  toAddress,
} from '../../src/identity/address.js';
import { hasCode } from '../../src/errors.js';

const badAddress = (err: unknown) => hasCode(err, 'ERR_HUBLESS_BAD_ADDRESS');
const badPort = (err: unknown) => hasCode(err, 'ERR_HUBLESS_BAD_PORT');

test('formats the documented examples', () => {
  assert.equal(Address.of(0, 0x1a2b3c4d).toString(), '0:0000.1a2b.3c4d');
  assert.equal(Address.of(7, 0x00ff0001).toString(), '7:0007.00ff.0001');
  assert.equal(Address.of(0xffff, 0xffffffff).toString(), '65535:ffff.ffff.ffff');
  assert.equal(Address.of(0, 0).toString(), '0:0000.0000.0000');
});

test('parse/format round trips, including max values', () => {
  for (const [net, node] of [[0, 1], [0, 0x1a2b3c4d], [7, 0x00ff0001], [0xffff, 0xfffffffe], [0xffff, 0xffffffff], [1, 0x80000000], [256, 0x10000]]) {
    const a = Address.of(net, node);
    const b = Address.parse(a.toString());
    assert.ok(a.equals(b));
    assert.equal(b.network, net);
    assert.equal(b.node, node);
    assert.equal(b.toString(), a.toString());
    assert.ok(Address.fromBytes(a.toBytes()).equals(a));
    assert.ok(Address.fromNumber(a.toNumber()).equals(a));
    assert.ok(Address.fromBigInt(a.toBigInt()).equals(a));
  }
});

test('hex input is case-insensitive, output is lowercase', () => {
  const a = Address.parse('10:000A.BcDe.F012');
  assert.equal(a.network, 10);
  assert.equal(a.node, 0xbcdef012);
  assert.equal(a.toString(), '10:000a.bcde.f012');
});

test('binary form is network u16 BE then node u32 BE', () => {
  const a = Address.of(0x0102, 0x03040506);
  assert.deepEqual([...a.toBytes()], [1, 2, 3, 4, 5, 6]);
  assert.equal(a.toBytes().length, ADDRESS_BYTES);
  const buf = Buffer.alloc(10);
  assert.equal(a.writeTo(buf, 2), 8);
  assert.ok(Address.fromBytes(buf, 2).equals(a));
  assert.throws(() => Address.fromBytes(Buffer.alloc(5)), badAddress);
  assert.throws(() => Address.fromBytes(buf, 5), badAddress);
  assert.throws(() => a.writeTo(Buffer.alloc(5)), badAddress);
  assert.equal(a.toNumber(), 0x0102 * 2 ** 32 + 0x03040506);
});

test('rejects a network that disagrees with NNNN', () => {
  assert.throws(() => Address.parse('1:0000.1a2b.3c4d'), (e: Error) => badAddress(e) && /does not match/.test(e.message));
  assert.throws(() => Address.parse('10:0010.0000.0001'), badAddress); // 0x10 = 16, not 10
  assert.ok(Address.parse('16:0010.0000.0001'));
});

test('rejects wrong shapes with a clear error', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /missing ":"/],
    ['0000.1a2b.3c4d', /missing ":"/],
    ['0:000.1a2b.3c4d', /exactly 4 digits/],
    ['0:00000.1a2b.3c4d', /exactly 4 digits/],
    ['0:0000.1a2b3.c4d', /exactly 4 digits/],
    ['0:0000.1a2b', /3 dot-separated/],
    ['0:0000.1a2b.3c4d.0000', /3 dot-separated/],
    ['0:0000:1a2b:3c4d', /3 dot-separated/],
    ['0:0000.1a2g.3c4d', /non-hex/],
    ['0:0000.1a2b.3c4-', /non-hex/],
    ['0:0x00.1a2b.3c4d', /non-hex/],
    ['-1:ffff.1a2b.3c4d', /decimal/],
    ['+0:0000.1a2b.3c4d', /decimal/],
    ['65536:0000.1a2b.3c4d', /larger than 65535/],
    ['99999999999999999999:0000.0000.0001', /larger than 65535/],
    ['00:0000.1a2b.3c4d', /leading zeros/],
    ['07:0007.00ff.0001', /leading zeros/],
    [' 0:0000.1a2b.3c4d', /whitespace/],
    ['0:0000.1a2b.3c4d ', /whitespace/],
    ['0:0000.1a2b.3c4d\n', /whitespace/],
    ['0: 0000.1a2b.3c4d', /exactly 4 digits|non-hex/],
    ['0:0000.1a2b.3c4d:80', /3 dot-separated|exactly 4|non-hex/],
    ['0:*', /wildcard/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => Address.parse(text), (e: Error) => badAddress(e) && why.test(e.message), text);
    assert.equal(isValidAddress(text), false, text);
  }
  assert.throws(() => Address.parse(42 as unknown as string), badAddress);
  assert.throws(() => Address.parse('x'.repeat(10_000)), (e: Error) => badAddress(e) && e.message.length < 300);
});

test('rejects out-of-range parts', () => {
  for (const [net, node] of [[-1, 1], [0x10000, 1], [0, -1], [0, 2 ** 32], [1.5, 1], [0, 0.5], [NaN, 1], [0, Infinity]]) {
    assert.throws(() => Address.of(net, node), badAddress, `${net} ${node}`);
  }
  assert.throws(() => Address.fromNumber(2 ** 48), badAddress);
  assert.throws(() => Address.fromNumber(-1), badAddress);
  assert.throws(() => Address.fromBigInt(1n << 48n), badAddress);
  assert.throws(() => Address.fromBigInt(-1n), badAddress);
});

test('broadcast and unspecified (wildcard) addresses', () => {
  const any = Address.parse('3:0003.0000.0000');
  assert.equal(any.node, NODE_UNSPECIFIED);
  assert.ok(any.isUnspecified && !any.isUnicast && !any.isBroadcast);
  const all = Address.parse('3:0003.ffff.ffff');
  assert.equal(all.node, NODE_BROADCAST);
  assert.ok(all.isBroadcast && !all.isUnicast);
  assert.ok(isReservedNodeId(0) && isReservedNodeId(0xffffffff) && !isReservedNodeId(1));

  const wild = Address.parse('3:*', { wildcard: true });
  assert.ok(wild.equals(any));
  assert.equal(wild.toString(), '3:0003.0000.0000');
  assert.throws(() => Address.parse('70000:*', { wildcard: true }), badAddress);
  assert.throws(() => Address.parse('*', { wildcard: true }), badAddress);

  const peer = Address.of(3, 0x1234);
  assert.ok(any.matches(peer));
  assert.ok(!any.matches(Address.of(4, 0x1234)));
  assert.ok(peer.matches(peer) && !peer.matches(Address.of(3, 0x1235)));
});

test('immutability, equality and conversions', () => {
  const a = Address.of(1, 2);
  assert.throws(() => {
    (a as unknown as { network: number }).network = 5;
  }, TypeError);
  assert.equal(a.network, 1);
  assert.ok(a.equals(Address.of(1, 2)));
  assert.ok(!a.equals(Address.of(1, 3)));
  assert.ok(!a.equals('1:0001.0000.0002'));
  assert.ok(a.withNetwork(9).equals(Address.of(9, 2)));
  assert.equal(JSON.stringify({ a }), '{"a":"1:0001.0000.0002"}');
  assert.ok(toAddress('1:0001.0000.0002').equals(a));
  assert.ok(toAddress(a.toBytes()).equals(a));
  assert.equal(toAddress(a), a);
  assert.throws(() => toAddress(Buffer.alloc(7)), badAddress);
  assert.ok(parseAddress('1:0001.0000.0002').equals(a));
  const sorted = [Address.of(1, 0), Address.of(0, 0xffffffff), Address.of(0, 5)].sort(Address.compare);
  assert.deepEqual(sorted.map(String), ['0:0000.0000.0005', '0:0000.ffff.ffff', '1:0001.0000.0000']);
});

test('ports: 0..65535, 0 reserved, strict text', () => {
  assert.equal(parsePort('0'), 0);
  assert.ok(isReservedPort(0) && !isReservedPort(1));
  assert.equal(parsePort('65535'), 65535);
  for (const bad of ['65536', '-1', '+1', '080', ' 80', '80 ', '', '1e3', '0x10', '123456']) {
    assert.throws(() => parsePort(bad), badPort, bad);
  }
  assert.equal(assertPort(65535), 65535);
  for (const bad of [65536, -1, 1.5, NaN]) assert.throws(() => assertPort(bad), badPort);
});

test('socket addresses: parse, format, binary', () => {
  const s = parseSocketAddress('0:0000.1a2b.3c4d:443');
  assert.equal(s.port, 443);
  assert.equal(s.address.toString(), '0:0000.1a2b.3c4d');
  assert.equal(s.toString(), '0:0000.1a2b.3c4d:443');
  assert.equal(formatSocketAddress(Address.of(7, 1), 65535), '7:0007.0000.0001:65535');
  assert.ok(parseSocketAddress('7:0007.0000.0001:0').isReservedPort);
  assert.ok(SocketAddress.fromBytes(s.toBytes()).equals(s));
  assert.equal(s.toBytes().length, 8);
  assert.ok(parseSocketAddress('5:*:80', { wildcard: true }).address.isUnspecified);
  assert.throws(() => parseSocketAddress('0:0000.1a2b.3c4d:65536'), badPort);
  assert.throws(() => parseSocketAddress('0:0000.1a2b.3c4d:'), badPort);
  assert.throws(() => parseSocketAddress('0:0000.1a2b.3c4d'), badAddress);
  assert.throws(() => parseSocketAddress('0:0000.1a2b.3c4d: 80'), badPort);
  assert.throws(() => parseSocketAddress('1:0000.1a2b.3c4d:80'), badAddress);
  assert.throws(() => new SocketAddress(Address.of(0, 1), 70000), badPort);
  assert.throws(() => SocketAddress.fromBytes(Buffer.alloc(7)), badAddress);
});
