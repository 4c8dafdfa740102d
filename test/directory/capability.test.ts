import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode } from '../../src/errors.js';
import {
  CAPABILITY_LIMITS, capabilityFromTuple, capabilityToTuple, fromA2ASkill, toA2ASkill, validateCapability, type Capability,
} from '../../src/directory/capability.js';

const BAD = 'ERR_HUBLESS_BAD_CAPABILITY';
const rejects = (input: unknown) => assert.throws(() => validateCapability(input), (e) => hasCode(e, BAD));

describe('capability validation', () => {
  it('accepts the documented shapes and normalizes', () => {
    for (const name of ['summarize', 'math.eval', 'translate', 'code.run_python', 'a-b.c2']) {
      assert.deepEqual(validateCapability({ name }), { name });
    }
    const c = validateCapability({ name: 'translate', tags: [], examples: [], attributes: { to: 'fr', from: 'en' } });
    assert.deepEqual(c, { name: 'translate', attributes: { from: 'en', to: 'fr' } });
    assert.deepEqual(Object.keys(c.attributes!), ['from', 'to'], 'attributes sorted by key');
  });

  it('refuses bad names, unknown fields, wrong types and oversize', () => {
    for (const name of ['', 'Summarize', '1abc', 'math..eval', '.x', 'x.', 'a b', 'ünï', 'x'.repeat(65), 42, undefined]) rejects({ name });
    rejects(null);
    rejects([]);
    rejects('summarize');
    rejects({ name: 'x', extra: 1 });
    rejects({ name: 'x', version: '' });
    rejects({ name: 'x', version: 'v 1' });
    rejects({ name: 'x', description: 'x'.repeat(CAPABILITY_LIMITS.descriptionLength + 1) });
    rejects({ name: 'x', description: 'bell\u0007' });
    rejects({ name: 'x', tags: 'a' });
    rejects({ name: 'x', tags: Array(CAPABILITY_LIMITS.tags + 1).fill('t') });
    rejects({ name: 'x', tags: ['a=b'] });
    rejects({ name: 'x', tags: ['@version=1'] });
    rejects({ name: 'x', tags: [1] });
    rejects({ name: 'x', examples: ['e'.repeat(CAPABILITY_LIMITS.exampleLength + 1)] });
    rejects({ name: 'x', attributes: [] });
    rejects({ name: 'x', attributes: { nested: { a: 1 } } });
    rejects({ name: 'x', attributes: { n: NaN } });
    rejects({ name: 'x', attributes: { n: Infinity } });
    rejects({ name: 'x', attributes: { Bad: 1 } });
    rejects({ name: 'x', attributes: { s: 's'.repeat(CAPABILITY_LIMITS.attributeStringLength + 1) } });
    rejects({ name: 'x', attributes: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])) });
    rejects({ name: 'x', attributes: JSON.parse('{"__proto__": {"polluted": true}}') });
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  it('tuple form round-trips and refuses hostile tuples', () => {
    const c: Capability = { name: 'math.eval', version: '2.1.0', description: 'Evaluates', tags: ['math'], examples: ['1+1'], attributes: { exact: true, maxDigits: 100 } };
    assert.deepEqual(capabilityFromTuple(capabilityToTuple(c)), c);
    for (const t of [null, [], ['x'], ['x', null, null, [], [], [['__proto__', 1]]], ['x', null, null, [], [], [['a', 1], ['a', 2]]], ['x', null, null, [], [], [[1, 1]]]]) {
      assert.throws(() => capabilityFromTuple(t), (e) => hasCode(e, BAD));
    }
  });
});

describe('A2A export', () => {
  it('exports an A2A AgentSkill with id, name, description, tags, examples', () => {
    const skill = toA2ASkill({ name: 'summarize', description: 'Summarizes text', tags: ['nlp', 'text'], examples: ['Summarize this article'] });
    assert.deepEqual(skill, { id: 'summarize', name: 'summarize', description: 'Summarizes text', tags: ['nlp', 'text'], examples: ['Summarize this article'] });
    assert.deepEqual(toA2ASkill({ name: 'x' }), { id: 'x', name: 'x', description: '', tags: [] });
  });

  it('is lossless: version and typed attributes come back exactly', () => {
    const caps: Capability[] = [
      { name: 'translate', version: '1.2.0-beta+7', description: 'Translates\nlines', tags: ['nlp', 'a b'], examples: ['hi → salut'], attributes: { from: 'en', 'to.lang': 'fr', maxChars: 4096, ratio: -0.5, streaming: false, num: '42' } },
      { name: 'math.eval' },
      { name: 'x', attributes: { s: 'with = and "quotes"' } },
    ];
    for (const c of caps) {
      const skill = JSON.parse(JSON.stringify(toA2ASkill(c)));
      assert.deepEqual(fromA2ASkill(skill), validateCapability(c));
    }
  });

  it('refuses a foreign skill whose id is not a capability name', () => {
    assert.throws(() => fromA2ASkill({ id: 'Recipe Finder', name: 'x', description: '', tags: [] }), (e) => hasCode(e, BAD));
    assert.throws(() => fromA2ASkill({ id: 'x', name: 'x', description: '', tags: ['k=not json'] }), (e) => hasCode(e, BAD));
  });
});
