import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate, summarize, translate } from '../../src/demo/skills.js';

function runDemo(args: string[], ms = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`demo still running after ${ms} ms:\n${stderr}`)); }, ms);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

function agentsRunning(dir: string): number {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(dir)).length;
}

test('the demo runs to completion, keeps addresses across runs, and leaves no process behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hubless-demo-'));
  try {
    const first = await runDemo(['--json', '--rounds', '5', '--dir', dir]);
    assert.equal(first.code, 0, first.stderr);
    const a = JSON.parse(first.stdout) as { coordinator: string; rows: { name: string; address: string; requests: number; failures: number; p50Ms: number }[] };
    assert.deepEqual(a.rows.map((r) => r.name).sort(), ['calculator', 'summarizer', 'translator']);
    for (const r of a.rows) {
      assert.equal(r.requests, 5);
      assert.equal(r.failures, 0);
      assert.ok(r.p50Ms > 0);
    }
    assert.match(first.stderr, /math\.eval\("2 \+ 3 \* 4"\) → "14"/);
    assert.match(first.stderr, /translate\("Hello world"\) → "Bonjour monde"/);
    assert.equal(agentsRunning(dir), 0);
    const second = await runDemo(['--json', '--rounds', '1', '--dir', dir]);
    assert.equal(second.code, 0, second.stderr);
    const b = JSON.parse(second.stdout) as typeof a;
    assert.equal(b.coordinator, a.coordinator, 'same key file, same address');
    assert.deepEqual(b.rows.map((r) => r.address).sort(), a.rows.map((r) => r.address).sort());
    assert.equal(agentsRunning(dir), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

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
