// The admission rules of address-binding checks (src/node/verification-gate.ts), on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  budgetKeys, sourceKey, VerificationGate, type VerificationTicket,
} from '../../src/node/verification-gate.js';
import { LoadMeter } from '../../src/handshake/cookie.js';

type GateOptions = Partial<{
  loadThreshold: number; perSource: number; perSourceRate: number; maxSources: number; maxPending: number; globalRate: number;
}>;

function gate(now: { t: number }, o: GateOptions = {}) {
  return new VerificationGate({ loadThreshold: 4, perSource: 2, perSourceRate: 2, now: () => now.t, ...o });
}

const admitted = (t: VerificationTicket | string): t is VerificationTicket => typeof t !== 'string';

test('binding checks asked for, or in flight, above the threshold put the node under load', () => {
  const now = { t: 10_000 };
  const g = gate(now, { loadThreshold: 4 });
  assert.equal(g.underLoad, false);
  const tickets: VerificationTicket[] = [];
  for (let i = 0; i < 3; i++) tickets.push(g.admit(null) as VerificationTicket);
  assert.equal(g.underLoad, false);
  tickets.push(g.admit(null) as VerificationTicket);
  assert.equal(g.inFlight, 4);
  assert.equal(g.underLoad, true, '4 in flight');
  for (const t of tickets) g.done(t);
  assert.equal(g.inFlight, 0);
  // 4 asked for this second is not over the threshold; a 5th is, and the load lasts into the next window.
  assert.equal(g.underLoad, false);
  g.done(g.admit(null) as VerificationTicket);
  assert.equal(g.underLoad, true);
  now.t += 1500;
  assert.equal(g.underLoad, true, 'the previous window was over');
  now.t += 1000;
  assert.equal(g.underLoad, false);
  // Refused requests count too: a flood that is held to its budget keeps the node under load.
  for (let i = 0; i < 10; i++) g.admit('192.0.2.1');
  assert.equal(g.underLoad, true);
  assert.equal(new VerificationGate({ loadThreshold: 0, perSource: 1, perSourceRate: 1 }).underLoad, true, '0 = always');
});

test('under load a source gets at most perSource checks in flight and perSourceRate per second (burst 2x)', () => {
  const now = { t: 50_000 };
  const g = gate(now, { perSource: 2, perSourceRate: 2, loadThreshold: 1000 });
  const a1 = g.admit('192.0.2.1');
  const a2 = g.admit('192.0.2.1');
  assert.ok(admitted(a1));
  assert.ok(admitted(a2));
  assert.equal(g.admit('192.0.2.1'), 'sourceBusy', 'two in flight');
  const b1 = g.admit('198.51.100.7');
  assert.ok(admitted(b1), 'another source has its own budget');
  g.done(a1 as VerificationTicket);
  g.done(a2 as VerificationTicket);
  // Burst of 4 (2 × rate): two more, then the bucket is empty.
  g.done(g.admit('192.0.2.1') as VerificationTicket);
  g.done(g.admit('192.0.2.1') as VerificationTicket);
  assert.equal(g.admit('192.0.2.1'), 'sourceBusy', 'bucket empty');
  now.t += 500; // one token back at 2/s
  const again = g.admit('192.0.2.1');
  assert.ok(admitted(again));
  assert.equal(g.admit('192.0.2.1'), 'sourceBusy');
  g.done(again as VerificationTicket);
  g.done(b1 as VerificationTicket);
  assert.equal(g.inFlight, 0);
  assert.equal(g.sources, 4, 'two addresses and their two /24s');
  now.t += 60_000;
  g.prune();
  assert.equal(g.sources, 0, 'idle sources with full buckets are forgotten');
});

test('the source table is bounded: idle sources are forgotten first', () => {
  const now = { t: 0 };
  const g = gate(now, { maxSources: 3, loadThreshold: 1000 });
  const busy = g.admit('10.0.0.1');
  for (let i = 2; i <= 6; i++) g.done(g.admit(`10.0.0.${i}`) as VerificationTicket);
  assert.equal(g.sources, 3);
  // The one with a check in flight is kept.
  assert.ok(admitted(g.admit('10.0.0.1')));
  g.done(busy as VerificationTicket);
});

test('source keys: IPv4 as is, v4-mapped as IPv4, IPv6 by /64', () => {
  assert.equal(sourceKey('127.0.0.2'), '127.0.0.2');
  assert.equal(sourceKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(sourceKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:DB8:0001:0002::abcd'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
});

test('source keys: dotted IPv4 tails parse as two groups; NAT64 (64:ff9b::/96) is keyed by the embedded IPv4', () => {
  assert.equal(sourceKey('2001:db8::3:4:5:1.2.3.4'), '2001:db8:0:3::/64', 'the dotted tail is two groups');
  assert.equal(sourceKey('2001:db8:1:2:3:4:1.2.3.4'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('::ffff:c000:201'), '192.0.2.1', 'v4-mapped in hex');
  assert.equal(sourceKey('64:ff9b::192.0.2.1'), '192.0.2.1');
  assert.equal(sourceKey('64:FF9B::c000:201'), '192.0.2.1');
  assert.equal(sourceKey('64:ff9b:1::192.0.2.1'), '64:ff9b:1:0::/64', 'only the well-known /96 embeds an IPv4');
  assert.equal(sourceKey('not an address'), 'not an address');
  assert.deepEqual(budgetKeys('192.0.2.77'), [{ key: '192.0.2.77', scale: 1 }, { key: '192.0.2.0/24', scale: 2 }]);
  assert.deepEqual(budgetKeys('64:ff9b::198.51.100.9').map((b) => b.key), ['198.51.100.9', '198.51.100.0/24']);
  assert.deepEqual(budgetKeys('2001:db8:aa:12ab:1::1'), [
    { key: '2001:db8:aa:12ab::/64', scale: 1 },
    { key: '2001:db8:aa:1200::/56', scale: 2 },
    { key: '2001:db8:aa::/48', scale: 4 },
  ]);
});

test('the per-source budget is checked before the global bound: an over-budget source is sourceBusy, not busy', () => {
  const now = { t: 1_000 };
  const g = gate(now, { perSource: 2, perSourceRate: 100, loadThreshold: 1000, maxPending: 8, globalRate: 1000 });
  const a = [g.admit('192.0.2.1', 0), g.admit('192.0.2.1', 1)];
  assert.ok(a.every(admitted));
  // The pool is full (8 hashes running): the source over its own budget is told so...
  assert.equal(g.admit('192.0.2.1', 8), 'sourceBusy');
  // ...and a newcomer under every budget is refused only for want of room.
  assert.equal(g.admit('198.51.100.1', 8), 'busy');
  assert.ok(admitted(g.admit('198.51.100.1', 7)));
  // Off load nothing is charged to a source, only the slots count.
  assert.equal(g.admit(null, 8), 'busy');
  assert.equal(g.admit(null, 7), null);
});

test('refusals for want of room count toward the load, like every other check asked for', () => {
  const now = { t: 1_000 };
  const g = gate(now, { loadThreshold: 4, maxPending: 1 });
  for (let i = 0; i < 5; i++) assert.equal(g.admit(null, 1), 'busy');
  assert.equal(g.inFlight, 0);
  assert.equal(g.underLoad, true);
});

test('prefixes share budgets: an IPv4 /24 twice a source, an IPv6 /56 twice and a /48 four times', () => {
  const now = { t: 1_000 };
  const g = gate(now, { perSource: 4, perSourceRate: 1000, loadThreshold: 1e6, maxPending: 1000, globalRate: 1e5 });
  const count = (addresses: string[]): number => addresses.filter((a) => admitted(g.admit(a))).length;
  const range = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));
  // 20 addresses of one /24: 8 checks in flight (2 × 4), not 20 × 4.
  assert.equal(count(range(20, (i) => `203.0.113.${i + 1}`).flatMap((a) => [a, a])), 8);
  assert.equal(g.admit('203.0.113.200'), 'sourceBusy');
  assert.ok(admitted(g.admit('203.0.114.1')), 'the next /24 has its own budget');
  // 40 /64s of one /56: 8 in flight; then the other /56s of that /48 add up to 16.
  assert.equal(count(range(40, (i) => `2001:db8:7:${(0x100 + i).toString(16)}::1`)), 8);
  assert.equal(count(range(40, (i) => `2001:db8:7:${(0x200 + i).toString(16)}::1`)), 8);
  assert.equal(count(range(40, (i) => `2001:db8:7:${(0x300 + i).toString(16)}::1`)), 0, 'the /48 holds 16');
  assert.ok(admitted(g.admit('2001:db8:8::1')), 'the next /48 has its own budget');
});

// A model of the thread pool on a fake clock: admitted checks finish one at a time, `perSecond` of
// them per second. Eight proven sources (different /24s) each ask for a new check every 2 ms, far
// over what the pool can hash; a newcomer from elsewhere asks once a second.
test('eight flooding sources neither fill the slots nor take every hash: a newcomer is admitted on its first try', () => {
  const now = { t: 100_000 };
  const g = new VerificationGate({
    loadThreshold: 16, perSource: 8, perSourceRate: 16, maxPending: 64, globalRate: 32, now: () => now.t,
  });
  const perSecond = 65;
  const queue: VerificationTicket[] = [];
  let nextDone = now.t;
  let floodAdmitted = 0;
  const newcomers: (VerificationTicket | string)[] = [];
  const refusals = { busy: 0, sourceBusy: 0 };
  const end = now.t + 10_000;
  for (; now.t < end; now.t += 1) {
    while (queue.length > 0 && now.t >= nextDone) {
      g.done(queue.shift()!);
      nextDone += 1000 / perSecond;
    }
    if (queue.length === 0) nextDone = now.t + 1000 / perSecond;
    if (now.t % 2 === 0) {
      for (let s = 1; s <= 8; s++) {
        const t = g.admit(`10.${s}.0.1`, g.inFlight);
        if (typeof t === 'string') refusals[t as 'busy' | 'sourceBusy']++;
        else {
          queue.push(t);
          floodAdmitted++;
        }
      }
    }
    if (now.t % 1000 === 500 && now.t > 102_000) {
      const t = g.admit(`192.0.2.${newcomers.length + 1}`, g.inFlight);
      newcomers.push(t);
      if (admitted(t)) queue.push(t);
    }
  }
  assert.equal(newcomers.length, 8);
  assert.deepEqual(newcomers.map((t) => (admitted(t) ? 'admitted' : t)), new Array(8).fill('admitted'));
  // The flood gets no more than the global rate (32/s, + one burst), which is below what the
  // pool hashes, so the slots drain; and its refusals are its own (sourceBusy), not busy.
  assert.ok(floodAdmitted <= 32 * 10 + 32, `${floodAdmitted} flood checks in 10 s`);
  assert.ok(queue.length < 64 - 16, `${queue.length} checks queued at the end`);
  assert.ok(refusals.sourceBusy > 0 && refusals.busy === 0, JSON.stringify(refusals));
});

test('a flood that fills every non-reserved slot leaves the reserved quarter to prefixes with nothing running', () => {
  const now = { t: 1_000 };
  const g = gate(now, { perSource: 8, perSourceRate: 1000, loadThreshold: 1e6, maxPending: 64, globalRate: 1e5 });
  // Slow hashes: nothing finishes. Eight sources fill what they may.
  let held = 0;
  for (let round = 0; round < 20; round++) {
    for (let s = 1; s <= 8; s++) if (admitted(g.admit(`10.${s}.0.1`, g.inFlight))) held++;
  }
  assert.ok(held <= 48 + 8, `${held} slots held by 8 sources`);
  // Another 16 newcomers each get one.
  let newcomers = 0;
  for (let i = 1; i <= 16; i++) if (admitted(g.admit(`192.0.${i}.1`, g.inFlight))) newcomers++;
  assert.ok(newcomers >= 64 - held - 1, `${newcomers} newcomers admitted with ${held} held`);
  assert.ok(newcomers >= 8);
});

test('budgets and the load window follow the monotonic clock, not the wall clock', (t) => {
  let mono = 1_000_000;
  let wall = 1_700_000_000_000;
  t.mock.method(performance, 'now', () => mono);
  t.mock.method(Date, 'now', () => wall);
  const g = new VerificationGate({ loadThreshold: 1000, perSource: 1, perSourceRate: 1, globalRate: 1000 });
  const m = new LoadMeter(2);
  for (let i = 0; i < 2; i++) g.done(g.admit('192.0.2.1') as VerificationTicket);
  assert.equal(g.admit('192.0.2.1'), 'sourceBusy', 'bucket empty (burst 2)');
  for (let i = 0; i < 3; i++) m.hit();
  assert.equal(m.underLoad, true);
  // The wall clock steps back an hour while 3 s pass.
  wall -= 3_600_000;
  mono += 3_000;
  const again = g.admit('192.0.2.1');
  assert.ok(admitted(again), 'the bucket refilled');
  g.done(again);
  assert.equal(m.underLoad, false, 'the load window moved on');
});
