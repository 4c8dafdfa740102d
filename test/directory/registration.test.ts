// The registration agent with a scripted directory: heartbeats, re-signing on a move or a new
// reflexive endpoint, re-registration after a lapsed lease, stale seq recovery, definitive refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HublessError, type HublessErrorCode } from '../../src/errors.js';
import { Registration } from '../../src/directory/registration.js';
import type { LeaseAnswer } from '../../src/directory/protocol.js';
import type { Endpoint, SignedRecord } from '../../src/directory/record-types.js';
import { verifyRecord } from '../../src/directory/record.js';
import { newAgent, waitFor } from './helpers.js';

function remote(code: string): HublessError {
  const e = new HublessError(code as HublessErrorCode, code);
  (e as HublessError & { remote: boolean }).remote = true;
  return e;
}

function scripted() {
  const log: string[] = [];
  const records: SignedRecord[] = [];
  let observed = { host: '127.0.0.1', port: 5000 };
  const failNext: string[] = [];
  const lease = (): LeaseAnswer => ({ v: 1, leaseUntil: Date.now() + 90, leaseMs: 90, observed });
  const client = {
    async register(r: SignedRecord) {
      log.push('register');
      const f = failNext.shift();
      if (f) throw remote(f);
      records.push(r);
      return lease();
    },
    async renew() {
      log.push('renew');
      const f = failNext.shift();
      if (f) throw remote(f);
      return lease();
    },
    async deregister() {
      log.push('deregister');
      return true;
    },
  };
  return { client, log, records, failNext, setObserved: (o: { host: string; port: number }) => (observed = o) };
}

test('heartbeats renew; a move re-signs with a higher seq and the same address', async () => {
  const a = newAgent();
  const s = scripted();
  let endpoints: Endpoint[] = [{ host: '127.0.0.1', port: 5000, kind: 'local' }];
  const reg = new Registration({ client: s.client, signer: a.signer, address: a.address, nonce: 7, fields: { capabilities: [{ name: 'x' }] }, endpoints: () => endpoints });
  try {
    await reg.start();
    assert.ok(reg.registered);
    await waitFor(() => s.log.filter((l) => l === 'renew').length >= 2, 2000, 'heartbeats');
    endpoints = [{ host: '127.0.0.1', port: 6000, kind: 'local' }];
    s.setObserved({ host: '127.0.0.1', port: 6000 });
    await waitFor(() => s.records.length >= 2, 2000, 're-registration after the move');
    await new Promise((r) => setTimeout(r, 150)); // more heartbeats: no further re-signing
    assert.equal(s.records.length, 2);
    const [before, after] = s.records.map((r) => verifyRecord(r.bytes).record);
    assert.equal(after.address, before.address);
    assert.ok(after.seq > before.seq);
    assert.deepEqual(after.endpoints, [{ host: '127.0.0.1', port: 6000, kind: 'local' }]);
    // the directory sees us elsewhere (a NAT): that endpoint is added as reflexive, first
    const n = s.records.length;
    s.setObserved({ host: '198.51.100.4', port: 40000 });
    await waitFor(() => s.records.length > n, 2000, 'reflexive endpoint');
    assert.deepEqual(s.records.at(-1)!.record.endpoints[0], { host: '198.51.100.4', port: 40000, kind: 'reflexive' });
  } finally {
    await reg.stop({ deregister: true });
  }
  assert.equal(s.log.at(-1), 'deregister');
});

test('a lapsed lease registers again; a stale seq is re-signed higher; a taken hostname is definitive', async () => {
  const a = newAgent();
  const s = scripted();
  const reg = new Registration({ client: s.client, signer: a.signer, address: a.address, nonce: 7, fields: { hostname: 'h.test' }, endpoints: () => [] });
  try {
    s.failNext.push('ERR_HUBLESS_STALE_RECORD');
    await reg.start();
    assert.deepEqual(s.log, ['register', 'register']);
    const seq1 = s.records[0].record.seq;
    s.failNext.push('ERR_HUBLESS_NOT_REGISTERED');
    await waitFor(() => s.records.length >= 2, 2000, 're-registration');
    assert.ok(s.records[1].record.seq > seq1);
    s.failNext.push('ERR_HUBLESS_HOSTNAME_TAKEN');
    await assert.rejects(reg.update({ hostname: 'other.test' }), { code: 'ERR_HUBLESS_HOSTNAME_TAKEN' });
    assert.equal(reg.fatal?.code, 'ERR_HUBLESS_HOSTNAME_TAKEN');
    assert.equal(reg.registered, false);
  } finally {
    await reg.stop();
  }
});
