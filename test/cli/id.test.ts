import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
let home: string;

before(() => {
  home = mkdtempSync(join(tmpdir(), 'hubless-cli-'));
});
after(() => {
  rmSync(home, { recursive: true, force: true });
});

function hubless(args: string[], extraEnv: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extraEnv };
  if (!('HUBLESS_KEY_FILE' in extraEnv)) delete env.HUBLESS_KEY_FILE;
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repo, env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('top-level help, unknown command, no command', () => {
  const help = hubless(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /keygen/);
  assert.match(help.out, /\bid\b/);
  const unknown = hubless(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "frobnicate"/);
  assert.equal(hubless([]).code, 2);
  const sub = hubless(['keygen', '--help']);
  assert.equal(sub.code, 0);
  assert.match(sub.out, /--force/);
  assert.equal(hubless(['id', '--bogus']).code, 2);
});

test('keygen, then id across processes: same address; --force semantics', () => {
  const keyFile = join(home, '.hubless', 'identity.key');
  const missing = hubless(['id']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /hubless keygen/);

  const made = hubless(['keygen', '--json']);
  assert.equal(made.code, 0, made.err);
  const created = JSON.parse(made.out);
  assert.equal(created.created, true);
  assert.equal(created.keyFile, keyFile);
  assert.match(created.address, /^0:0000\.[0-9a-f]{4}\.[0-9a-f]{4}$/);
  assert.match(created.publicKey, /^[0-9a-f]{64}$/);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const bytes = readFileSync(keyFile);

  const again = hubless(['keygen']);
  assert.equal(again.code, 1);
  assert.match(again.err, /already exists.*--force/);
  assert.ok(readFileSync(keyFile).equals(bytes));

  const id1 = JSON.parse(hubless(['id', '--json']).out);
  const id2 = JSON.parse(hubless(['id', '--json']).out);
  assert.deepEqual(id1, id2);
  assert.equal(id1.address, created.address);
  assert.equal(id1.publicKey, created.publicKey);
  assert.equal(id1.nonce, created.nonce);
  assert.equal(id1.keyFile, keyFile);

  const text = hubless(['id']);
  assert.equal(text.code, 0);
  assert.match(text.out, new RegExp(`address\\s+${created.address.replace(/\./g, '\\.')}`));
  assert.match(text.out, new RegExp(`public key\\s+${created.publicKey}`));
  assert.match(text.out, /nonce\s+\d+/);
  assert.ok(text.out.includes(keyFile));

  const inNet = JSON.parse(hubless(['id', '--json', '--network', '5']).out);
  assert.equal(inNet.address, `5:0005.${created.address.slice('0:0000.'.length)}`);

  const forced = JSON.parse(hubless(['keygen', '--force', '--json']).out);
  assert.notEqual(forced.publicKey, created.publicKey);
  assert.equal(JSON.parse(hubless(['id', '--json']).out).publicKey, forced.publicKey);
});

test('--key and HUBLESS_KEY_FILE choose the file; bad permissions are reported', () => {
  const viaFlag = join(home, 'flag', 'a.key');
  assert.equal(hubless(['keygen', '--key', viaFlag]).code, 0);
  assert.equal(JSON.parse(hubless(['id', '--json', '--key', viaFlag]).out).keyFile, viaFlag);

  const viaEnv = join(home, 'env', 'b.key');
  assert.equal(hubless(['keygen'], { HUBLESS_KEY_FILE: viaEnv }).code, 0);
  const shown = JSON.parse(hubless(['id', '--json'], { HUBLESS_KEY_FILE: viaEnv }).out);
  assert.equal(shown.keyFile, viaEnv);

  chmodSync(viaEnv, 0o644);
  const refused = hubless(['id', '--key', viaEnv]);
  assert.equal(refused.code, 1);
  assert.ok(refused.err.includes(`chmod 600 ${viaEnv}`), refused.err);
  assert.equal(hubless(['id', '--network', '70000', '--key', viaFlag]).code, 2);
});
