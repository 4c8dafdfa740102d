import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate, summarize, translate } from '../../src/demo/skills.js';
import { Identity } from '../../src/identity/identity.js';

/** Runs `hubless demo`; `onProgress(stderr so far)` may act once (it returns true when it did). */
function runDemo(args: string[], ms = 90_000, onProgress?: (stderr: string, child: ChildProcess) => boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    let acted = onProgress === undefined;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!acted) acted = onProgress!(stderr, child);
    });
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`demo still running after ${ms} ms:\n${stderr}`)); }, ms);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

function agentsRunning(dir: string): number {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(dir)).length;
}

/** A fresh key-file folder for one demo run; every agent gone and the folder removed at the end. */
async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hubless-demo-'));
  try {
    await fn(dir);
    assert.equal(agentsRunning(dir), 0, 'no agent left running');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface DemoJson {
  coordinator: string;
  directory: { entry: string; embedded: boolean };
  rows: { name: string; address: string; requests: number; failures: number; p50Ms: number; handshakeMs: number; bytesOut: number }[];
  steps: {
    withoutDirectory?: { ok: number; failed: number };
    restart?: { name: string; address: string; sameAddress: boolean; before: string; after: string };
  };
}

test('the demo runs to completion, holds without the directory, keeps addresses, and leaves no process behind', () => withDir(async (dir) => {
  const first = await runDemo(['--json', '--rounds', '5', '--dir', dir]);
  assert.equal(first.code, 0, first.stderr);
  const a = JSON.parse(first.stdout) as DemoJson;
  assert.deepEqual(a.rows.map((r) => r.name).sort(), ['calculator', 'summarizer', 'translator']);
  for (const r of a.rows) {
    assert.ok(r.requests >= 10, `${r.name}: ${r.requests} requests`);
    assert.equal(r.failures, 0);
    assert.ok(r.p50Ms > 0 && r.handshakeMs > 0 && r.bytesOut > 0);
  }
  // Found through the directory by capability, then talked to directly.
  assert.match(first.stderr, /found summarize: summarizer/);
  assert.match(first.stderr, /math\.eval\("2 \+ 3 \* 4"\) → "14"/);
  assert.match(first.stderr, /translate\("Hello world"\) → "Bonjour monde"/);
  assert.match(first.stderr, /30 documents streamed to summarizer on one stream, 30 summaries back/);
  // No hub: with the directory stopped every request still succeeded.
  assert.ok(a.directory.embedded);
  assert.ok((a.steps.withoutDirectory?.ok ?? 0) >= 15);
  assert.equal(a.steps.withoutDirectory?.failed, 0);
  // The restarted specialist kept its address and was reached at its new endpoint.
  const restart = a.steps.restart!;
  assert.equal(restart.sameAddress, true);
  assert.notEqual(restart.before, restart.after);
  assert.equal(restart.address, a.rows.find((r) => r.name === restart.name)?.address);
  assert.equal(agentsRunning(dir), 0);

  const second = await runDemo(['--json', '--rounds', '1', '--dir', dir]);
  assert.equal(second.code, 0, second.stderr);
  const b = JSON.parse(second.stdout) as DemoJson;
  assert.equal(b.coordinator, a.coordinator, 'same key file, same address');
  assert.deepEqual(b.rows.map((r) => r.address).sort(), a.rows.map((r) => r.address).sort());
  assert.equal(b.directory.entry.split('@')[0], a.directory.entry.split('@')[0], 'the directory keeps its key (its port is picked per run)');
  assert.equal(agentsRunning(dir), 0);
}));

test('a capability nobody offers ends the demo with a clear message and exit 1', () => withDir(async (dir) => {
  const r = await runDemo(['--rounds', '1', '--dir', dir, '--need', 'image.render']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nobody offers capability image\.render \[ERR_HUBLESS_DEMO_NO_PROVIDER\]/);
  assert.equal(agentsRunning(dir), 0);
}));

test('an unreachable directory ends the demo with a clear message and exit 1', () => withDir(async (dir) => {
  const nobody = (await Identity.generate()).publicKey.toString('hex');
  const r = await runDemo(['--rounds', '1', '--dir', dir, '--directory', `${nobody}@127.0.0.1:9`], 60_000);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no directory answered .*\[ERR_HUBLESS_DIRECTORY_UNAVAILABLE\]/);
  assert.equal(agentsRunning(dir), 0);
}));

test('a specialist that dies mid-run stops the demo: exit 1, a clear message, nothing left running', () => withDir(async (dir) => {
  const r = await runDemo(['--rounds', '200', '--dir', dir], 90_000, (stderr) => {
    if (!stderr.includes('requests (request/response')) return false;
    const line = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n')
      .find((l) => l.includes(dir) && l.includes('specialist calculator'));
    if (line === undefined) return false;
    process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    return true;
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /calculator exited unexpectedly \(SIGKILL\)/);
  assert.equal(agentsRunning(dir), 0);
}));

test('demo flags are checked', async () => {
  const r = await runDemo(['--rounds', 'zero']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--rounds must be an integer/);
});

test('the specialists do real work', () => {
  assert.equal(evaluate('2 + 3 * 4'), 14);
  assert.equal(evaluate('2 ^ 3 ^ 2'), 512);
  assert.equal(evaluate('-(1 - 4) / 2'), 1.5);
  assert.throws(() => evaluate('2 +'), (e: NodeJS.ErrnoException) => e.code === 'ERR_HUBLESS_DEMO_INPUT');
  assert.throws(() => evaluate('process.exit()'), (e: NodeJS.ErrnoException) => e.code === 'ERR_HUBLESS_DEMO_INPUT');
  assert.throws(() => evaluate('('.repeat(200) + '1' + ')'.repeat(200)), (e: NodeJS.ErrnoException) => e.code === 'ERR_HUBLESS_DEMO_INPUT');
  assert.equal(translate('Hello friends'), 'Bonjour amis');
  assert.equal(translate('Hello Zorg'), 'Bonjour [Zorg]');
  const text = 'Cats sleep a lot. Dogs bark at cats. Cats and dogs are pets. The sky is blue.';
  const s = summarize(text, 2);
  assert.equal(s.split('. ').length, 2);
  assert.ok(!s.includes('sky'), 'the off-topic sentence is left out');
});

test('Ctrl-C stops the demo and every process it started', () => withDir(async (dir) => {
  const r = await runDemo(['--rounds', '500', '--dir', dir], 60_000, (stderr, child) => {
    if (!stderr.includes('found math.eval')) return false;
    child.kill('SIGINT');
    return true;
  });
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted: stopping every agent/);
  assert.equal(agentsRunning(dir), 0);
}));
