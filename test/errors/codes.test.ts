// Error codes are a documented, closed part of the API (src/errors.ts, docs/ERRORS.md): every code
// the sources use is in the union and in the table, and errors born in the native addon reach
// callers as HublessErrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { HublessError, HUBLESS_ERROR_CODES, Transport, preferredAlgorithm } from '../../src/index.js';
import { endpointOf, identities, withNodes } from '../node/helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CODE = /ERR_HUBLESS_[A-Z0-9_]*[A-Z0-9]/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|cc|h)$/.test(name)) out.push(p);
  }
  return out;
}

/** code → files that mention it, over src/ and native/ (src/errors.ts, the list itself, aside). */
function codesInSources(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'native'))]) {
    if (file === join(root, 'src', 'errors.ts')) continue;
    for (const code of readFileSync(file, 'utf8').match(CODE) ?? []) {
      const files = found.get(code) ?? [];
      if (!files.includes(file)) files.push(file);
      found.set(code, files);
    }
  }
  return found;
}

/** The codes of docs/ERRORS.md's table: the first cell of each row. */
function documentedCodes(): string[] {
  const doc = readFileSync(join(root, 'docs', 'ERRORS.md'), 'utf8');
  const codes: string[] = [];
  for (const line of doc.split('\n')) {
    const m = /^\| `(ERR_HUBLESS_[A-Z0-9_]+)` \|[^|]+\S[^|]*\|[^|]+\S[^|]*\|$/.exec(line);
    if (m !== null) codes.push(m[1]);
  }
  return codes;
}

test('every ERR_HUBLESS_ code used in src/ or native/ is in HublessErrorCode and documented in docs/ERRORS.md', () => {
  const used = codesInSources();
  assert.ok(used.size > 50, `found only ${used.size} codes: is the scan broken?`);
  const known = new Set<string>(HUBLESS_ERROR_CODES);
  const documented = new Set(documentedCodes());
  const notInUnion = [...used.keys()].filter((c) => !known.has(c)).map((c) => `${c} (${used.get(c)!.join(', ')})`);
  const notDocumented = [...used.keys()].filter((c) => !documented.has(c)).map((c) => `${c} (${used.get(c)!.join(', ')})`);
  assert.deepEqual(notInUnion, [], 'add these to HUBLESS_ERROR_CODES in src/errors.ts');
  assert.deepEqual(notDocumented, [], 'add these to the table in docs/ERRORS.md (code, when, what to do)');
});

test('the union, the table and the sources agree: no code listed or documented that nothing uses', () => {
  const used = codesInSources();
  const documented = documentedCodes();
  assert.equal(new Set(HUBLESS_ERROR_CODES).size, HUBLESS_ERROR_CODES.length, 'HUBLESS_ERROR_CODES has duplicates');
  assert.equal(new Set(documented).size, documented.length, 'docs/ERRORS.md documents a code twice');
  assert.deepEqual(HUBLESS_ERROR_CODES.filter((c) => !used.has(c)), [], 'listed in src/errors.ts but used nowhere');
  assert.deepEqual(documented.filter((c) => !(HUBLESS_ERROR_CODES as readonly string[]).includes(c)), [],
    'documented in docs/ERRORS.md but not in HUBLESS_ERROR_CODES');
});

test('README links docs/ERRORS.md', () => {
  assert.match(readFileSync(join(root, 'README.md'), 'utf8'), /\(docs\/ERRORS\.md\)/);
});

test('native errors reach Transport callers as HublessErrors with their code, the native error as cause', async () => {
  const a = await Transport.open();
  const b = await Transport.open();
  try {
    // Sending on a session index the native table has never seen.
    const err = captured(() => a.send(4242, 7, 1000, [Buffer.from('x')]));
    assert.ok(err instanceof HublessError);
    assert.equal(err.code, 'ERR_HUBLESS_NO_SESSION');
    assert.equal(err.name, 'HublessError');
    assert.ok(err.cause instanceof Error && !(err.cause instanceof HublessError));
    assert.equal((err.cause as Error & { code: string }).code, 'ERR_HUBLESS_NO_SESSION');
    assert.match(err.stack ?? '', /codes\.test\.ts/, 'the stack shows the caller');

    const keys = { remoteIndex: 1, algorithm: preferredAlgorithm(), txKey: randomBytes(32), rxKey: randomBytes(32), peer: b.address };
    const ia = a.reserveSession();
    a.installSession(ia, keys);
    const again = captured(() => a.installSession(ia, keys));
    assert.ok(again instanceof HublessError);
    assert.equal(again.code, 'ERR_HUBLESS_SESSION_INSTALLED');
    const tooBig = captured(() => a.send(ia, 7, 1000, [Buffer.alloc(a.maxPayload + 1)]));
    assert.ok(tooBig instanceof HublessError);
    assert.equal(tooBig.code, 'ERR_HUBLESS_DATAGRAM_TOO_LARGE');
    const badKey = captured(() => a.installSession(a.reserveSession(), { ...keys, txKey: randomBytes(5) }));
    assert.ok(badKey instanceof HublessError);
    assert.equal(badKey.code, 'ERR_HUBLESS_INVALID_ARGUMENT');
  } finally {
    a.close();
    b.close();
  }
});

test('a port in use fails Transport.open with ERR_HUBLESS_ADDRESS_IN_USE, errno and syscall kept', async () => {
  const a = await Transport.open();
  try {
    const err = await Transport.open({ port: a.address.port }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof HublessError);
    assert.equal(err.code, 'ERR_HUBLESS_ADDRESS_IN_USE');
    assert.equal(err.syscall, 'bind');
    assert.equal(typeof err.errno, 'number');
  } finally {
    a.close();
  }
});

test('request errors: an unknown remote code becomes ERR_HUBLESS_REMOTE_ERROR with remoteCode; an abort is ERR_HUBLESS_ABORTED', async () => {
  const ids = await identities(2);
  await withNodes(async (set) => {
    const a = await set.open({ identity: ids[0] });
    const b = await set.open({ identity: ids[1] });
    b.handle(20, (req) => {
      if (req === 'app') throw Object.assign(new Error('app-specific'), { code: 'ERR_HUBLESS_APP_SPECIFIC' });
      if (req === 'known') throw new HublessError('ERR_HUBLESS_NOT_FOUND', 'none');
      return new Promise(() => {});  // never answers
    });
    const target = { publicKey: b.publicKey, endpoint: endpointOf(b) };
    const app = await a.request(b.address, 20, 'app', target).then(() => null, (e: unknown) => e);
    assert.ok(app instanceof HublessError);
    assert.equal(app.code, 'ERR_HUBLESS_REMOTE_ERROR');
    assert.equal(app.remoteCode, 'ERR_HUBLESS_APP_SPECIFIC');
    assert.equal(app.remote, true);
    const known = await a.request(b.address, 20, 'known', target).then(() => null, (e: unknown) => e);
    assert.ok(known instanceof HublessError);
    assert.equal(known.code, 'ERR_HUBLESS_NOT_FOUND');
    assert.equal(known.remoteCode, undefined);

    const controller = new AbortController();
    const pending = a.request(b.address, 20, 'hang', { ...target, signal: controller.signal }).then(() => null, (e: unknown) => e);
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    const aborted = await pending;
    assert.ok(aborted instanceof HublessError);
    assert.equal(aborted.code, 'ERR_HUBLESS_ABORTED');
    assert.equal((aborted.cause as Error).message, 'user gave up');
  });
});

function captured(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}
