// `hubless id --bench`: the reproducible measurement of the address derivation's cost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { measureDerivation, NODE_ID_PWHASH_MEMLIMIT, NODE_ID_PWHASH_OPSLIMIT } from '../../src/identity/derive.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

function hubless(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, HUBLESS_KEY_FILE: '/nonexistent/hubless-bench-test.key' };
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repo, env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('measureDerivation times the fixed parameters and reports the median', () => {
  const m = measureDerivation(3);
  assert.equal(m.algorithm, 'argon2id13');
  assert.equal(m.opslimit, NODE_ID_PWHASH_OPSLIMIT);
  assert.equal(m.memlimitBytes, NODE_ID_PWHASH_MEMLIMIT);
  assert.equal(m.saltLabel, 'hubless-addr-v1');
  assert.equal(m.runs, 3);
  assert.equal(m.samplesMs.length, 3);
  assert.equal(m.medianMs, [...m.samplesMs].sort((a, b) => a - b)[1]);
  assert.ok(m.minMs > 0 && m.minMs <= m.medianMs && m.medianMs <= m.p90Ms && m.p90Ms <= m.maxMs);
  assert.throws(() => measureDerivation(0), { code: 'ERR_HUBLESS_BAD_ARGUMENT' });
});

test('hubless id --bench: --json, text, --help, usage errors; no key file needed', () => {
  const json = hubless(['id', '--bench', '--runs', '2', '--json']);
  assert.equal(json.code, 0, json.err);
  const r = JSON.parse(json.out);
  assert.equal(r.algorithm, 'argon2id13');
  assert.equal(r.opslimit, 2);
  assert.equal(r.memlimitBytes, 32 * 1024 * 1024);
  assert.equal(r.salt, '8a3238da4351e87a53bfdeb997de02ea');
  assert.equal(r.runs, 2);
  assert.equal(r.samplesMs.length, 2);
  assert.ok(r.medianMs > 0);
  assert.equal(typeof r.cpu, 'string');

  const text = hubless(['id', '--bench', '--runs', '1']);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /Argon2id v1\.3, opslimit 2, memlimit 32 MiB/);
  assert.match(text.out, /1 runs, one at a time on one core/);
  assert.match(text.out, /median \d+\.\d ms per derivation/);

  const help = hubless(['id', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--bench/);
  assert.match(help.out, /--runs <n>/);

  for (const bad of [['--runs', '0'], ['--runs', 'x'], ['--runs', '10001'], ['--key', '/tmp/k'], ['--network', '3']]) {
    const r2 = hubless(['id', '--bench', ...bad]);
    assert.equal(r2.code, 2, `${bad.join(' ')}: ${r2.err}`);
    assert.match(r2.err, /ERR_HUBLESS_USAGE/);
  }
  assert.equal(hubless(['id', '--runs', '3']).code, 2, '--runs without --bench');
});
