// Stream rings: a bulk stream keeps its grown rings between batches (growing them back from a few
// hundred bytes each batch cost allocations and copies), and gives them back once it stays drained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { native } from '../../src/native/binding.js';
import { nextStream, withStreamPair, writeAll } from './helpers.js';

const ringBytes = (): number => (native.StreamEngine as unknown as { ringBytes(): number }).ringBytes();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a drained bulk stream keeps its rings briefly, then frees them; a closed one holds none', async () => {
  const base = ringBytes();
  await withStreamPair(async ({ ha, hb, ia }) => {
    const a = ha.openStream(ia, 7);
    const accepted = nextStream(hb);
    const held: number[] = [];
    const total = (16 << 20) + 1;
    let received = 0;
    a.write(Buffer.alloc(1));
    const b = await accepted;
    const all = new Promise<void>((resolve) => {
      b.on('data', (c: Buffer) => {
        received += c.length;
        held.push(ringBytes() - base);
        if (received === total) resolve();
      });
    });
    // 16 MiB in 256 KiB writes; the reader keeps up, so both rings drain again and again.
    await writeAll(a, total - 1, 256 << 10, false);
    await all;
    const grown = Math.max(...held);
    assert.ok(grown > 64 << 10, `rings grew past 64 KiB while busy (max ${grown} B above the start)`);
    // Still held right after draining (kept for more data), released after ~100 ms of staying drained.
    const deadline = Date.now() + 5000;
    while (ringBytes() - base > 1024 && Date.now() < deadline) await sleep(20);
    assert.ok(ringBytes() - base <= 1024, `rings freed once drained: ${ringBytes() - base} B left`);
    a.resume();
    a.end();
    b.end();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
  });
  assert.equal(ringBytes(), base, 'no ring outlives its streams');
});
