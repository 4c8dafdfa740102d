import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createIdentityFile,
  defaultKeyPath,
  loadIdentity,
  loadOrCreateIdentity,
} from '../../src/identity/keyfile.js';
import { Identity } from '../../src/identity/identity.js';
import { hasCode } from '../../src/errors.js';

let root: string;
let n = 0;
const fresh = () => join(root, `case-${n++}`, 'identity.key');

before(() => {
  root = mkdtempSync(join(tmpdir(), 'hubless-keyfile-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o777;

test('first start creates a 0600 file (in a 0700 directory); restarts give the same address', async () => {
  const path = fresh();
  const first = await loadOrCreateIdentity(path);
  assert.equal(mode(path), 0o600);
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
  const again = await loadOrCreateIdentity(path);
  const loaded = await loadIdentity(path);
  for (const id of [again, loaded]) {
    assert.ok(id.address.equals(first.address));
    assert.ok(id.publicKey.equals(first.publicKey));
    assert.equal(id.nonce, first.nonce);
  }
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(doc.format, 'hubless-identity');
  assert.equal(doc.version, 1);
  assert.equal(doc.nonce, first.nonce);
  assert.equal(doc.nodeId, first.nodeId.toString(16).padStart(8, '0'));
  assert.deepEqual(readdirSync(join(path, '..')), ['identity.key']); // no temp file left behind
  assert.equal((await loadIdentity(path, { network: 12 })).address.network, 12);
});

test('creation is 0600 even with a permissive umask', async () => {
  const old = process.umask(0);
  try {
    const path = fresh();
    await createIdentityFile(path);
    assert.equal(mode(path), 0o600);
  } finally {
    process.umask(old);
  }
});

test('concurrent first starts end with one identity', async () => {
  const path = fresh();
  const ids = await Promise.all([loadOrCreateIdentity(path), loadOrCreateIdentity(path), loadOrCreateIdentity(path)]);
  const onDisk = await loadIdentity(path);
  for (const id of ids) assert.ok(id.publicKey.equals(onDisk.publicKey));
});

test('refuses a key file that group or others can access, and says how to fix it', async () => {
  const path = fresh();
  await createIdentityFile(path);
  const before = readFileSync(path);
  for (const m of [0o644, 0o640, 0o604, 0o660]) {
    chmodSync(path, m);
    await assert.rejects(
      loadIdentity(path),
      (e: Error) => hasCode(e, 'ERR_HUBLESS_KEYFILE_PERMISSIONS') && e.message.includes(`chmod 600 ${path}`),
    );
    await assert.rejects(loadOrCreateIdentity(path), (e) => hasCode(e, 'ERR_HUBLESS_KEYFILE_PERMISSIONS'));
    assert.equal(mode(path), m);
  }
  assert.ok(readFileSync(path).equals(before));
  chmodSync(path, 0o400); // owner read-only is fine
  assert.ok(await loadIdentity(path));
});

async function validFile(): Promise<{ path: string; doc: Record<string, unknown>; text: string }> {
  const path = fresh();
  await createIdentityFile(path);
  const text = readFileSync(path, 'utf8');
  return { path, doc: JSON.parse(text), text };
}

test('corrupt, truncated, garbage or wrong-version files fail clearly and are never rewritten', async () => {
  const { path, doc, text } = await validFile();
  const other = await Identity.generate();
  const variants: Array<[string, string | Buffer, RegExp]> = [
    ['empty', '', /empty/],
    ['truncated', text.slice(0, text.length >> 1), /JSON/],
    ['garbage', Buffer.from([0xff, 0x00, 0x13, 0x37, 0x80]), /JSON/],
    ['array', '[]', /object/],
    ['version 2', JSON.stringify({ ...doc, version: 2 }), /unsupported version 2/],
    ['no version', JSON.stringify({ ...doc, version: undefined }), /unsupported version/],
    ['format', JSON.stringify({ ...doc, format: 'ssh' }), /format/],
    ['short seed', JSON.stringify({ ...doc, seed: 'AAAA' }), /seed/],
    ['bad nonce', JSON.stringify({ ...doc, nonce: -1 }), /nonce/],
    ['nonce string', JSON.stringify({ ...doc, nonce: '0' }), /nonce/],
    ['mismatched public key', JSON.stringify({ ...doc, publicKey: other.publicKey.toString('base64') }), /public key does not match/],
    ['node id', JSON.stringify({ ...doc, nodeId: '00000001' }), /node id/],
    ['other nonce', JSON.stringify({ ...doc, nonce: (doc.nonce as number) + 1 }), /node id/],
  ];
  for (const [name, content, why] of variants) {
    writeFileSync(path, content, { mode: 0o600 });
    const mtime = statSync(path).mtimeMs;
    const bytes = readFileSync(path);
    for (const load of [loadIdentity, loadOrCreateIdentity]) {
      await assert.rejects(
        load(path),
        (e: Error) => hasCode(e, 'ERR_HUBLESS_KEYFILE_CORRUPT') && why.test(e.message) && e.message.includes(path),
        name,
      );
    }
    await assert.rejects(createIdentityFile(path), (e) => hasCode(e, 'ERR_HUBLESS_KEYFILE_EXISTS'));
    assert.ok(readFileSync(path).equals(bytes), name);
    assert.equal(statSync(path).mtimeMs, mtime, name);
  }
});

test('missing file and directories', async () => {
  const path = fresh();
  await assert.rejects(loadIdentity(path), (e) => hasCode(e, 'ERR_HUBLESS_KEYFILE_NOT_FOUND'));
  await assert.rejects(loadIdentity(root), (e) => hasCode(e, 'ERR_HUBLESS_KEYFILE_CORRUPT') || hasCode(e, 'ERR_HUBLESS_KEYFILE_PERMISSIONS'));
});

test('create refuses to overwrite unless force', async () => {
  const path = fresh();
  const a = await createIdentityFile(path);
  await assert.rejects(createIdentityFile(path), (e) => hasCode(e, 'ERR_HUBLESS_KEYFILE_EXISTS'));
  assert.ok((await loadIdentity(path)).publicKey.equals(a.publicKey));
  const b = await createIdentityFile(path, { force: true });
  assert.ok(!b.publicKey.equals(a.publicKey));
  assert.ok((await loadIdentity(path)).publicKey.equals(b.publicKey));
  assert.equal(mode(path), 0o600);
  const given = await Identity.fromSecretKey(Buffer.alloc(32, 5), { nonce: 2 });
  await createIdentityFile(path, { force: true, identity: given });
  const reloaded = await loadIdentity(path);
  assert.equal(reloaded.nonce, 2);
  assert.ok(reloaded.address.equals(given.address));
});

test('the example in docs/IDENTITY.md loads to its stated address', async () => {
  const md = readFileSync(new URL('../../docs/IDENTITY.md', import.meta.url), 'utf8');
  const example = /```json\n([\s\S]*?)```/.exec(md);
  assert.ok(example);
  const path = fresh();
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, example[1], { mode: 0o600 });
  assert.equal((await loadIdentity(path)).address.toString(), '0:0000.08dd.1b97');
});

test('default key path honours HUBLESS_KEY_FILE', () => {
  assert.equal(defaultKeyPath({ HUBLESS_KEY_FILE: '/x/y.key' }), '/x/y.key');
  assert.match(defaultKeyPath({}), /\.hubless[/\\]identity\.key$/);
});
