import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { verifyRecord } from '../../src/directory/record.js';
import { openLmdbStore } from '../../src/directory/store-lmdb.js';
import { fakeClock } from './helpers.js';
import { storeContract } from './store-contract.js';

describe('lmdb store: contract', () => {
  storeContract(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hubless-dir-'));
    const clock = fakeClock(Date.now());
    const store = openLmdbStore({ path: dir, now: clock.now, sweepIntervalMs: 0 });
    return {
      store, clock,
      close: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

describe('lmdb store: durability', () => {
  it('keeps every acknowledged put across kill -9 of the writer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hubless-dir-kill-'));
    try {
      const writer = fileURLToPath(new URL('./fixtures/lmdb-writer.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acked = new Map<string, number>(); // address → highest acknowledged seq
      let buf = '';
      const target = 300;
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
      await new Promise<void>((resolve, reject) => {
        child.on('exit', () => reject(new Error(`writer exited before ${target} acks (${acked.size})`)));
        child.stdout.on('data', (chunk: Buffer) => {
          buf += chunk.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const [address, seq] = buf.slice(0, nl).split(' ');
            buf = buf.slice(nl + 1);
            acked.set(address, Math.max(acked.get(address) ?? 0, Number(seq)));
            if ([...acked.values()].reduce((s, v) => s + v, 0) >= target) {
              child.kill('SIGKILL'); // mid-stream: the writer has more puts in flight
              resolve();
            }
          }
        });
      });
      assert.equal(await exited, 'SIGKILL');
      const store = openLmdbStore({ path: dir, sweepIntervalMs: 0 });
      try {
        for (const [address, seq] of acked) {
          const got = await store.get(address);
          assert.ok(got, `acknowledged record of ${address} lost`);
          assert.ok(got.record.seq >= seq, `${address}: stored seq ${got.record.seq} < acknowledged ${seq}`);
          verifyRecord(got.bytes); // intact and still signed
        }
        // Indexes are consistent with records after the crash.
        const page = await store.query({ capability: 'durable', limit: 500 });
        assert.ok(page.records.length >= acked.size);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
