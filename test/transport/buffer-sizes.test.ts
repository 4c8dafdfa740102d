// Socket buffer sizes: the receiveBufferSize / sendBufferSize options reach the kernel (read back
// through the native setBufferSizes, which returns what the kernel reports), and bad values are
// refused with codes. Linux reports twice the requested size (its bookkeeping overhead); root may
// exceed net.core.rmem_max/wmem_max (SO_*BUFFORCE), others are capped there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Transport, nativeSocketOf } from '../../src/transport/transport.js';
import { constants, native } from '../../src/native/binding.js';

const root = process.getuid?.() === 0;
const sysMax = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8'));
/** What the kernel should report for a request of `req` bytes. */
function expectApplied(actual: number, req: number, maxName: 'rmem_max' | 'wmem_max', what: string) {
  const granted = root ? req : Math.min(req, sysMax(maxName));
  assert.ok(actual >= granted && actual <= 2 * granted + 4096, `${what}: asked ${req}, kernel reports ${actual}`);
}

/** [receive, send] as the kernel reports them, without changing anything. */
const readBack = (t: Transport) => nativeSocketOf(t).setBufferSizes(undefined, undefined);

const code = (c: string) => (e: NodeJS.ErrnoException) => e.code === c;

test('the default socket buffers are 4 MiB each', async () => {
  const t = await Transport.open();
  try {
    const [rcv, snd] = readBack(t);
    expectApplied(rcv, 4 << 20, 'rmem_max', 'receive');
    expectApplied(snd, 4 << 20, 'wmem_max', 'send');
  } finally {
    t.close();
  }
});

test('receiveBufferSize and sendBufferSize options are applied, independently', async () => {
  for (const [r, s] of [[256 << 10, 64 << 10], [64 << 10, 1 << 20], [8 << 20, 16 << 20]]) {
    const t = await Transport.open({ host: '::1', receiveBufferSize: r, sendBufferSize: s });
    try {
      const [rcv, snd] = readBack(t);
      expectApplied(rcv, r, 'rmem_max', 'receive');
      expectApplied(snd, s, 'wmem_max', 'send');
    } finally {
      t.close();
    }
  }
  const t = await Transport.open({ receiveBufferSize: 128 << 10 });
  try {
    const [rcv, snd] = readBack(t);
    expectApplied(rcv, 128 << 10, 'rmem_max', 'receive');
    expectApplied(snd, 4 << 20, 'wmem_max', 'send (default kept)');
  } finally {
    t.close();
  }
});

test('setBufferSizes on an open socket changes the sizes and returns what the kernel reports', async () => {
  const t = await Transport.open();
  try {
    const s = nativeSocketOf(t);
    const got = s.setBufferSizes(512 << 10, undefined);
    expectApplied(got[0], 512 << 10, 'rmem_max', 'receive');
    expectApplied(got[1], 4 << 20, 'wmem_max', 'send unchanged');
    assert.deepEqual(readBack(t), got);
    // Below the floor: clamped to 4096 bytes, so the kernel's minimum, never 0.
    const tiny = s.setBufferSizes(1, 1);
    assert.ok(tiny[0] >= 4096 && tiny[0] <= 16384, `tiny receive buffer: ${tiny[0]}`);
    assert.ok(tiny[1] >= 4096 && tiny[1] <= 16384, `tiny send buffer: ${tiny[1]}`);
  } finally {
    t.close();
  }
});

test('setBufferSizes on a closed or unbound socket fails with a code', async () => {
  const t = await Transport.open();
  const s = nativeSocketOf(t);
  t.close();
  assert.throws(() => s.setBufferSizes(1 << 20, 1 << 20), code('ERR_HUBLESS_SOCKET_CLOSED'));
  const unbound = new native.UdpSocket({
    onBatch() {}, onDrain() {},
    slab: new Uint8Array(256 << 10), meta: new Uint32Array(constants.metaWords),
    stats: new Float64Array(constants.socketStatNames.length),
  });
  assert.throws(() => unbound.setBufferSizes(1 << 20, 1 << 20), code('ERR_HUBLESS_SOCKET_NOT_BOUND'));
  unbound.close();
});

test('bad buffer sizes are refused with ERR_HUBLESS_INVALID_ARGUMENT', async () => {
  for (const bad of [-1, 0, 1.5, NaN, Infinity, 2 ** 40, '1048576']) {
    for (const key of ['receiveBufferSize', 'sendBufferSize'] as const) {
      await assert.rejects(
        async () => (await Transport.open({ [key]: bad as number })).close(),
        code('ERR_HUBLESS_INVALID_ARGUMENT'),
        `${key}: ${String(bad)}`,
      );
    }
  }
});
