// The admission rules of address-binding checks (src/node/verification-gate.ts), on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceKey, VerificationGate, type VerificationTicket } from '../../src/node/verification-gate.js';

function gate(now: { t: number }, o: Partial<{ loadThreshold: number; perSource: number; perSourceRate: number; maxSources: number }> = {}) {
  return new VerificationGate({ loadThreshold: 4, perSource: 2, perSourceRate: 2, now: () => now.t, ...o });
}

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
  assert.notEqual(a1, false);
  assert.notEqual(a2, false);
  assert.equal(g.admit('192.0.2.1'), false, 'two in flight');
  const b1 = g.admit('198.51.100.7');
  assert.notEqual(b1, false, 'another source has its own budget');
  g.done(a1 as VerificationTicket);
  g.done(a2 as VerificationTicket);
  // Burst of 4 (2 × rate): two more, then the bucket is empty.
  g.done(g.admit('192.0.2.1') as VerificationTicket);
  g.done(g.admit('192.0.2.1') as VerificationTicket);
  assert.equal(g.admit('192.0.2.1'), false, 'bucket empty');
  now.t += 500; // one token back at 2/s
  const again = g.admit('192.0.2.1');
  assert.notEqual(again, false);
  assert.equal(g.admit('192.0.2.1'), false);
  g.done(again as VerificationTicket);
  g.done(b1 as VerificationTicket);
  assert.equal(g.inFlight, 0);
  assert.equal(g.sources, 2);
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
  assert.equal(g.admit('10.0.0.1') === false ? 'limited' : 'ok', 'ok');
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
