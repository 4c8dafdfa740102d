import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertValidHostname, hostnameProblem, isValidHostname, normalizeHostname } from '../../src/identity/hostname.js';
import { hasCode } from '../../src/errors.js';

const bad = (e: unknown) => hasCode(e, 'ERR_HUBLESS_BAD_HOSTNAME');
const label63 = 'a'.repeat(63);

test('accepts DNS-label-like lowercase names', () => {
  for (const name of ['a', '0', 'summarizer', 'build-1', 'eu.build-1', 'a-b-c.d1.e2', '123', label63, `${label63}.${label63}.${label63}.${'b'.repeat(61)}`]) {
    assert.equal(assertValidHostname(name), name);
    assert.ok(isValidHostname(name), name);
  }
  assert.equal(`${label63}.${label63}.${label63}.${'b'.repeat(61)}`.length, 253);
});

test('rejects malformed names with a reason', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['', /empty/],
    ['-a', /hyphen/],
    ['a-', /hyphen/],
    ['a.-b', /hyphen/],
    ['A', /uppercase/],
    ['Build', /uppercase/],
    ['a_b', /may only contain/],
    ['a b', /may only contain/],
    [' a', /may only contain/],
    ['a\n', /may only contain/],
    ['é', /may only contain/],
    ['a..b', /empty label/],
    ['.a', /empty label/],
    ['a.', /ends with a dot/],
    ['a'.repeat(64), /longer than 63/],
    [`${label63}.${label63}.${label63}.${'b'.repeat(62)}`, /longer than 253/],
    [42, /not a string/],
    [null, /not a string/],
  ];
  for (const [name, why] of cases) {
    assert.throws(() => assertValidHostname(name), (e: Error) => bad(e) && why.test(e.message), String(name));
    assert.equal(isValidHostname(name), false);
    assert.ok(hostnameProblem(name));
  }
});

test('normalizeHostname lowercases ASCII, then validates strictly', () => {
  assert.equal(normalizeHostname('EU.Build-1'), 'eu.build-1');
  assert.throws(() => normalizeHostname(' eu '), bad);
  assert.throws(() => normalizeHostname('Ünicode'), bad);
});
