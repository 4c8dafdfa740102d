/**
 * Records of the directory benchmark: what an agent registers, and the synthetic records the
 * memory part writes straight into a store.
 */
import { sodium } from '../../src/sodium.js';
import { Address } from '../../src/identity/address.js';
import type { Capability } from '../../src/directory/capability.js';
import { encodeBody } from '../../src/directory/record-codec.js';
import { normalizeRecord } from '../../src/directory/record.js';
import type { RecordInput, SignedRecord } from '../../src/directory/record-types.js';

/** The capability names agents register: `bench.cap-0` .. `bench.cap-(n-1)`. */
export const capName = (i: number): string => `bench.cap-${i}`;

/** Signed lifetime of every benchmark record (the lease is the directory's, 30 s). */
export const RECORD_TTL_MS = 3_600_000;

/**
 * Agent `i` of `capabilities`: a typical small agent record: a hostname, two capabilities (one of
 * the benchmark's, with attributes, and a common one), a group and two endpoints.
 */
export function agentInput(
  identity: { address: Address; nonce: number }, i: number, capabilities: number, seq: number, port: number, host: string,
): RecordInput {
  const caps: Capability[] = [
    { name: capName(i % capabilities), version: '1.0.0', attributes: { lang: 'en', tier: i % 3 } },
    { name: 'summarize' },
  ];
  const now = Date.now();
  return {
    address: identity.address.toString(),
    nonce: identity.nonce,
    hostname: host,
    capabilities: caps,
    groups: ['bench'],
    endpoints: [{ host: '127.0.0.1', port, kind: 'local' }, { host: '198.51.100.7', port, kind: 'reflexive' }],
    seq,
    issuedAt: now,
    expiresAt: now + RECORD_TTL_MS,
  };
}

/**
 * Synthetic record number `n` for the memory part, shaped like an agent's (hostname, two
 * capabilities of `capabilities` names, a group, two endpoints) and signed by one shared key.
 * The store checks neither signatures nor address bindings (the server does before it stores),
 * so one key and made-up node ids give records of the real size at a fraction of the cost:
 * one Ed25519 signature (~25 µs) and no Argon2id (~30 ms) per record.
 */
export class SyntheticRecords {
  readonly #sk = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
  readonly #pk = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
  readonly #capabilities: number;
  readonly #domain = Buffer.from('hubless-record-v1\0');

  constructor(capabilities: number) {
    sodium.crypto_sign_keypair(this.#pk, this.#sk);
    this.#capabilities = capabilities;
  }

  make(n: number, now: number): SignedRecord {
    const address = Address.of(0, n + 1).toString();
    const record = normalizeRecord({
      version: 1,
      address,
      publicKey: new Uint8Array(this.#pk),
      nonce: n,
      hostname: `agent-${n}`,
      capabilities: [
        { name: capName(n % this.#capabilities), version: '1.0.0', attributes: { lang: 'en', tier: n % 3 } },
        { name: 'summarize' },
      ],
      groups: ['bench'],
      endpoints: [
        { host: '10.0.0.1', port: 1024 + (n % 60000), kind: 'local' },
        { host: '198.51.100.7', port: 1024 + (n % 60000), kind: 'reflexive' },
      ],
      visibility: 'public',
      trust: [],
      seq: 1,
      issuedAt: now,
      expiresAt: now + RECORD_TTL_MS,
    });
    const body = encodeBody(record);
    const sig = Buffer.alloc(64);
    sodium.crypto_sign_detached(sig, Buffer.concat([this.#domain, body]), this.#sk);
    return { record, bytes: new Uint8Array(Buffer.concat([body, sig])) };
  }
}
