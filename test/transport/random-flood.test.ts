// 100,000 random datagrams thrown at an open socket, round after round: no crash, every datagram
// accounted for under the reason a model of the receive path predicts, nothing reaching JS, and no
// memory growth from one round to the next. The datagrams come from a child process
// (flood-sender.mjs), so that the sender's allocations do not blur this process's memory figures;
// the file runs in its own process for the same reason. Needs --expose-gc (scripts/run-tests.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { constants } from '../../src/native/binding.js';
import { collect, openPair } from './pair.js';

const N = 100_000;
const BLOCK = 256; // datagrams in flight at most: far below what the receiver's socket buffer holds
// Leak bounds per datagram of a measured round. A native allocation kept per packet (a malloc'd
// node is >= 32 bytes) or a JS object kept per packet (>= 16 bytes) exceeds them.
const HEAP_BYTES_PER_PACKET = 2; // heapUsed + external after full GCs: quiet, so every round
const RSS_BYTES_PER_PACKET = 8; // RSS moves by +-2 MiB from allocator and JIT warm-up: the quietest round

interface Progress { sent: number; expected: Record<string, number> }

function memory() {
  global.gc!();
  global.gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

test('100,000 random datagrams per round: all dropped and counted by reason, nothing reaches JS, no growth between rounds', async () => {
  assert.equal(typeof global.gc, 'function', 'run with --expose-gc (scripts/run-tests.mjs does)');
  const p = await openPair();
  const { b, ib } = p;
  const sender = fork(fileURLToPath(new URL('./flood-sender.mjs', import.meta.url)), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const killer = setTimeout(() => sender.kill('SIGKILL'), 120_000);
  try {
    const got = collect(b);
    let controls = 0;
    b.on('control', () => controls++);
    let last: Progress = { sent: 0, expected: {} };
    const reply = () => once(sender, 'message').then(([m]) => m as Progress);
    sender.send({
      port: b.address.port, live: ib, headerSize: constants.headerSize, tagSize: constants.tagSize,
      version: constants.version, types: constants.packetTypes, controlBodyBounds: constants.controlBodyBounds,
    });
    await reply();
    const wait = async (cond: () => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what} (sent ${last.sent}, ${JSON.stringify(b.stats())})`);
        await new Promise((r) => setImmediate(r));
      }
    };
    const round = async () => {
      const target = last.sent + N;
      while (last.sent < target) {
        const ask = reply();
        sender.send({ send: Math.min(BLOCK, target - last.sent) });
        last = await ask;
        await wait(() => b.stats().rxDatagrams === last.sent, 'the receiver');
      }
    };
    const check = (label: string) => {
      const s = b.stats();
      assert.equal(s.rxDatagrams, last.sent, `${label}: the receiver saw every datagram sent (none lost on loopback)`);
      const reasons = Object.keys(s).filter((k) => k.startsWith('drop') || k === 'rxControl' || k === 'rxStun');
      const actual = Object.fromEntries(reasons.map((k) => [k, s[k]]));
      const want = Object.fromEntries(reasons.map((k) => [k, last.expected[k] ?? 0]));
      assert.deepEqual(actual, want, `${label}: each datagram counted under the reason the model predicts`);
      assert.equal(reasons.reduce((t, k) => t + s[k], 0), last.sent, `${label}: every datagram accounted for`);
      assert.equal(last.expected['stun?'], undefined);
      assert.equal(got.length, 0, 'nothing random authenticates');
      assert.equal(controls, s.rxControl);
      assert.ok(s.dropAuth > last.sent / 3, 'sealed-looking packets reached the AEAD and failed there');
      assert.equal(b.sessionStats(ib)?.authFailures, s.dropAuth);
      assert.equal(b.sessionStats(ib)?.rxHighest, 0, 'forged counters never move the window');
    };

    // Warm-up: buffers, code paths, JIT, allocator arenas and the heap settle (RSS still moves by a
    // few MiB over the first two rounds, also with no datagram reaching the socket at all).
    await round();
    check('round 1');
    await round();
    check('round 2');
    const growth: { heap: number; rss: number }[] = [];
    let before = memory();
    for (const label of ['round 3', 'round 4', 'round 5']) {
      await round();
      check(label);
      const after = memory();
      growth.push({ heap: after.heap - before.heap, rss: after.rss - before.rss });
      before = after;
    }
    const fmt = (k: 'heap' | 'rss') => growth.map((g) => `${g[k]} B (${(g[k] / N).toFixed(2)} B/packet)`).join(', ');
    // A leak grows every round; allocator, JIT and GC noise does not, so the smallest growth must be small.
    assert.ok(Math.min(...growth.map((g) => g.heap)) < N * HEAP_BYTES_PER_PACKET, `heap + external grew by ${fmt('heap')}`);
    assert.ok(Math.min(...growth.map((g) => g.rss)) < N * RSS_BYTES_PER_PACKET, `RSS grew by ${fmt('rss')}`);
  } finally {
    clearTimeout(killer);
    if (sender.connected) sender.disconnect();
    p.close();
  }
});
