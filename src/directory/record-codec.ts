// Canonical binary form of an agent record.
//
// The body is one msgpack array in a fixed field order (no maps: map key order would make two
// encodings of one record possible). Version first, so a future layout is recognised before
// anything else is read. The signed record on the wire is `body ‖ signature(64)`.
//
// Decoding is defensive: the caller checks the size first, msgpackr errors (truncation, deep
// nesting, unknown extensions) are caught, and the result is schema-checked by record.ts;
// finally record.ts re-encodes and compares bytes, so only the canonical encoding verifies.
import { Packr, Unpackr } from 'msgpackr';
import { capabilityToTuple } from './capability.js';
import type { AgentRecord, Endpoint, RelayRef, SocketEndpoint } from './record-types.js';

export const RECORD_VERSION = 1;
/** Number of elements in a version-1 body array. */
export const BODY_FIELDS_V1 = 14;

const packr = new Packr({ useRecords: false, variableMapSize: true });
// int64AsType 'number': a u64-encoded integer decodes to a number, then fails the canonical
// re-encoding check (msgpackr writes integers above 2^32 as float64) instead of leaking a BigInt.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const endpointTuple = (e: Endpoint) => [e.host, e.port, e.kind];
const socketTuple = (e: SocketEndpoint) => [e.host, e.port];
const relayTuple = (r: RelayRef) => [r.address ?? null, r.endpoint ? socketTuple(r.endpoint) : null];

/** Encodes a validated, normalized record body. */
export function encodeBody(r: AgentRecord): Buffer {
  return packr.pack([
    r.version,
    r.address,
    r.publicKey,
    r.nonce,
    r.hostname ?? null,
    r.capabilities.map(capabilityToTuple),
    r.groups,
    r.endpoints.map(endpointTuple),
    r.relay ? relayTuple(r.relay) : null,
    r.visibility,
    r.trust,
    r.seq,
    r.issuedAt,
    r.expiresAt,
  ]);
}

/** Decodes msgpack bytes; any decoder failure becomes `undefined` plus its message. */
export function decodeBody(body: Uint8Array): { value?: unknown; error?: string } {
  try {
    return { value: unpackr.unpack(body) };
  } catch (err) {
    return { error: err instanceof Error ? err.message.slice(0, 120) : 'undecodable' };
  }
}
