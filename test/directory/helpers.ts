// Test helpers: keys, addresses and signed records without the identity module's memory-hard
// derivation (stores and queries do not check the binding; checkBinding is tested with a stub).
import { createRequire } from 'node:module';
import { Address } from '../../src/identity/address.js';
import { signRecord, signerFromSecretKey } from '../../src/directory/record.js';
import type { RecordInput, RecordSigner, SignedRecord } from '../../src/directory/record-types.js';

const require = createRequire(import.meta.url);
const sodium = require('sodium-native') as {
  crypto_sign_keypair(pk: Uint8Array, sk: Uint8Array): void;
};

export function newSigner(): RecordSigner {
  const pk = Buffer.alloc(32);
  const sk = Buffer.alloc(64);
  sodium.crypto_sign_keypair(pk, sk);
  return signerFromSecretKey(sk);
}

export function addressOf(node: number, network = 0): string {
  return Address.of(network, node).toString();
}

export interface Agent {
  signer: RecordSigner;
  address: string;
  seq: number;
}

let nextNode = 0x1000;
export function newAgent(node = nextNode++): Agent {
  return { signer: newSigner(), address: addressOf(node), seq: 0 };
}

/** Signs the agent's next record (seq + 1), valid from `now` for `ttlMs`. */
export function sign(agent: Agent, fields: Partial<RecordInput> = {}, now = Date.now(), ttlMs = 60_000): SignedRecord {
  agent.seq += 1;
  return signRecord(
    { address: agent.address, nonce: 7, seq: agent.seq, issuedAt: now, expiresAt: now + ttlMs, ...fields },
    agent.signer,
  );
}

/** A controllable clock. */
export function fakeClock(start = 1_800_000_000_000) {
  let t = start;
  const now = () => t;
  return { now, advance: (ms: number) => (t += ms), set: (v: number) => (t = v) };
}

export async function waitFor<T>(pred: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
