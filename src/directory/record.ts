// Signed agent records: validation, signing and verification.
//
// A record is signed by the agent's own Ed25519 key over `SIGNATURE_DOMAIN ‖ body`, so a
// directory replica or a tampered store cannot forge or alter one, and a signature made for a
// record can never be replayed as a signature over another hubless message type (those use
// other domain strings). verifyRecord is what every consumer of untrusted bytes calls:
// size limit before decoding, strict schema, canonical bytes, signature, then time sanity.
import { isIP } from 'node:net';
import { Address } from '../identity/address.js';
import { verifyBinding as identityVerifyBinding } from '../identity/derive.js';
import { HublessError } from '../errors.js';
import { capabilityFromTuple, validateCapability } from './capability.js';
import { DirectoryCodes, directoryError } from './codes.js';
import { groupNameProblem, hostnameProblem } from './names.js';
import { BODY_FIELDS_V1, RECORD_VERSION, decodeBody, encodeBody } from './record-codec.js';
import { sodium } from '../sodium.js';
import type {
  AgentRecord, Endpoint, RecordInput, RecordSigner, RelayRef, SignedRecord, SocketEndpoint, VerifyBinding,
} from './record-types.js';

export const SIGNATURE_DOMAIN = 'hubless-record-v1\0';
export const SIGNATURE_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;

export const RECORD_LIMITS = {
  /** Whole signed record (body + signature); checked before any decoding. */
  maxBytes: 8192,
  capabilities: 32,
  groups: 32,
  endpoints: 16,
  trust: 64,
} as const;

/** Defaults of verifyRecord's time checks. */
export const RECORD_TIME_DEFAULTS = {
  /** Longest accepted expiresAt - issuedAt: a lease, not a certificate. */
  maxLifetimeMs: 24 * 3600_000,
  /** Tolerated clock skew for issuedAt in the future. */
  maxClockSkewMs: 5 * 60_000,
} as const;

const DOMAIN = Buffer.from(SIGNATURE_DOMAIN, 'latin1');

const bad = (msg: string, cause?: unknown): HublessError => directoryError(DirectoryCodes.BAD_RECORD, msg, cause);

function isObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function checkAddress(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length > 32) throw bad(`${what} must be an address string`);
  let a: Address;
  try {
    a = Address.parse(v);
  } catch (err) {
    throw bad(`${what}: ${(err as Error).message}`);
  }
  if (!a.isUnicast) throw bad(`${what} must be a unicast address`);
  if (a.toString() !== v) throw bad(`${what} must be in canonical (lowercase) form ${a.toString()}`);
  return v;
}

function checkInt(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(`${what} must be an integer in ${min}..${max}`);
  }
  return v;
}

function checkKey(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== PUBLIC_KEY_BYTES) throw bad(`${what} must be ${PUBLIC_KEY_BYTES} bytes`);
  return new Uint8Array(v); // own plain copy: decoded bins may alias a reused buffer
}

function checkList(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw bad(`${what} must be an array of at most ${max} items`);
  return v;
}

function checkSocket(v: unknown, what: string): SocketEndpoint {
  if (!isObject(v)) throw bad(`${what} must be an object`);
  const { host, port } = v;
  if (typeof host !== 'string' || host.length > 45 || isIP(host) === 0) throw bad(`${what}.host must be an IP literal`);
  return { host, port: checkInt(port, `${what}.port`, 65535, 1) };
}

function checkEndpoint(v: unknown, what: string): Endpoint {
  const s = checkSocket(v, what);
  const kind = (v as { kind?: unknown }).kind;
  if (kind !== 'local' && kind !== 'reflexive') throw bad(`${what}.kind must be "local" or "reflexive"`);
  return { ...s, kind };
}

function checkRelay(v: unknown): RelayRef | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw bad('relay must be an object');
  const out: RelayRef = {};
  if (v.address !== undefined) out.address = checkAddress(v.address, 'relay.address');
  if (v.endpoint !== undefined) out.endpoint = checkSocket(v.endpoint, 'relay.endpoint');
  if (!out.address && !out.endpoint) throw bad('relay needs an address or an endpoint');
  return out;
}

/** Names a hostile value without calling its toString (a decoded map may define one). */
const describe = (v: unknown): string => (typeof v === 'number' ? String(v) : typeof v);

const hex = (k: Uint8Array) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');

/**
 * Validates every field and returns the normalized record (groups and trust keys sorted and
 * deduplicated). Throws ERR_HUBLESS_BAD_RECORD naming the first offending field.
 */
export function normalizeRecord(r: { [k: string]: unknown }): AgentRecord {
  if (r.version !== RECORD_VERSION) throw bad(`unsupported record version ${describe(r.version)}`);
  const address = checkAddress(r.address, 'address');
  const publicKey = checkKey(r.publicKey, 'publicKey');
  const nonce = checkInt(r.nonce, 'nonce', 0xffffffff);
  let hostname: string | undefined;
  if (r.hostname !== undefined) {
    const p = hostnameProblem(r.hostname);
    if (p) throw bad(`hostname: ${p}`);
    hostname = r.hostname as string;
  }
  const capabilities = checkList(r.capabilities, 'capabilities', RECORD_LIMITS.capabilities).map((c, i) => {
    try {
      return validateCapability(c);
    } catch (err) {
      throw bad(`capabilities[${i}]: ${(err as Error).message}`, err);
    }
  });
  if (new Set(capabilities.map((c) => c.name)).size !== capabilities.length) throw bad('capability names must be unique');
  const groups = [...new Set(checkList(r.groups, 'groups', RECORD_LIMITS.groups).map((g) => {
    const p = groupNameProblem(g);
    if (p) throw bad(p);
    return g as string;
  }))].sort();
  const endpoints = checkList(r.endpoints, 'endpoints', RECORD_LIMITS.endpoints).map((e, i) => checkEndpoint(e, `endpoints[${i}]`));
  const relay = checkRelay(r.relay);
  if (r.visibility !== 'public' && r.visibility !== 'private') throw bad('visibility must be "public" or "private"');
  const trustByHex = new Map<string, Uint8Array>();
  for (const [i, k] of checkList(r.trust, 'trust', RECORD_LIMITS.trust).entries()) {
    const key = checkKey(k, `trust[${i}]`);
    trustByHex.set(hex(key), key);
  }
  if (r.visibility === 'public' && trustByHex.size > 0) throw bad('a trust list only applies to private records');
  const trust = [...trustByHex.keys()].sort().map((h) => trustByHex.get(h)!);
  const seq = checkInt(r.seq, 'seq');
  const issuedAt = checkInt(r.issuedAt, 'issuedAt');
  const expiresAt = checkInt(r.expiresAt, 'expiresAt');
  if (expiresAt <= issuedAt) throw bad('expiresAt must be after issuedAt');
  const out: AgentRecord = {
    version: RECORD_VERSION, address, publicKey, nonce, capabilities, groups, endpoints,
    visibility: r.visibility, trust, seq, issuedAt, expiresAt,
  };
  if (hostname !== undefined) out.hostname = hostname;
  if (relay !== undefined) out.relay = relay;
  return out;
}

/** Maps the positional body (record-codec.ts) to the object form, checking the shape. */
function recordFromBody(v: unknown): AgentRecord {
  if (!Array.isArray(v)) throw bad('record body must be an array');
  if (v[0] !== RECORD_VERSION) throw bad(`unsupported record version ${describe(v[0])}`);
  if (v.length !== BODY_FIELDS_V1) throw bad(`record body must have ${BODY_FIELDS_V1} fields, got ${v.length}`);
  const [version, address, publicKey, nonce, hostname, caps, groups, eps, relay, visibility, trust, seq, issuedAt, expiresAt] = v;
  const capabilities = checkList(caps, 'capabilities', RECORD_LIMITS.capabilities).map((c, i) => {
    try {
      return capabilityFromTuple(c);
    } catch (err) {
      throw bad(`capabilities[${i}]: ${(err as Error).message}`, err);
    }
  });
  const endpoints = checkList(eps, 'endpoints', RECORD_LIMITS.endpoints).map((e, i) => {
    if (!Array.isArray(e) || e.length !== 3) throw bad(`endpoints[${i}] must be [host, port, kind]`);
    return { host: e[0], port: e[1], kind: e[2] };
  });
  let relayObj: { [k: string]: unknown } | undefined;
  if (relay !== null) {
    if (!Array.isArray(relay) || relay.length !== 2) throw bad('relay must be [address, endpoint]');
    const ep = relay[1];
    if (ep !== null && (!Array.isArray(ep) || ep.length !== 2)) throw bad('relay endpoint must be [host, port]');
    relayObj = {
      ...(relay[0] === null ? {} : { address: relay[0] }),
      ...(ep === null ? {} : { endpoint: { host: ep[0], port: ep[1] } }),
    };
  }
  return normalizeRecord({
    version, address, publicKey, nonce, capabilities, groups, endpoints, visibility, trust, seq, issuedAt, expiresAt,
    ...(hostname === null ? {} : { hostname }),
    ...(relayObj ? { relay: relayObj } : {}),
  });
}

function splitAndDecode(bytes: unknown, maxBytes: number): { record: AgentRecord; body: Uint8Array; sig: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw bad('record must be a Uint8Array');
  if (bytes.length > maxBytes) {
    throw directoryError(DirectoryCodes.RECORD_TOO_LARGE, `record is ${bytes.length} bytes, limit ${maxBytes}`);
  }
  if (bytes.length <= SIGNATURE_BYTES) throw bad(`record too short (${bytes.length} bytes)`);
  const body = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const sig = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  const decoded = decodeBody(body);
  if (decoded.error !== undefined) throw bad(`undecodable record body: ${decoded.error}`);
  try {
    return { record: recordFromBody(decoded.value), body, sig };
  } catch (err) {
    // Belt and braces: hostile shapes must only ever surface as ERR_HUBLESS_BAD_RECORD.
    if (err instanceof HublessError) throw err;
    throw bad('malformed record body', err);
  }
}

/**
 * Decodes and schema-checks a record WITHOUT checking its signature or times: only for bytes a
 * store itself wrote after verifyRecord. Anything from the network goes through verifyRecord.
 */
export function decodeRecord(bytes: Uint8Array): SignedRecord {
  return { record: splitAndDecode(bytes, Number.MAX_SAFE_INTEGER).record, bytes };
}

export interface VerifyOptions {
  /** Clock for the time checks (ms since the epoch). Default Date.now(). */
  now?: number;
  maxLifetimeMs?: number;
  maxClockSkewMs?: number;
  /** Accept an already expired record (e.g. to inspect it); default false. */
  allowExpired?: boolean;
  maxBytes?: number;
}

/**
 * Verifies untrusted record bytes: size (before decoding), schema, canonical encoding,
 * signature by the record's own key, then issuedAt/expiresAt sanity. Returns the record and an
 * own copy of the bytes. Throws only HublessErrors: ERR_HUBLESS_RECORD_TOO_LARGE,
 * ERR_HUBLESS_BAD_RECORD, ERR_HUBLESS_BAD_SIGNATURE, ERR_HUBLESS_RECORD_EXPIRED.
 * The key-address binding is checked separately (checkBinding), as it is memory-hard.
 */
export function verifyRecord(bytes: Uint8Array, options: VerifyOptions = {}): SignedRecord {
  const { record, body, sig } = splitAndDecode(bytes, options.maxBytes ?? RECORD_LIMITS.maxBytes);
  if (!encodeBody(record).equals(body)) throw bad('record body is not in canonical encoding');
  if (!sodium.crypto_sign_verify_detached(sig, Buffer.concat([DOMAIN, body]), record.publicKey)) {
    throw directoryError(DirectoryCodes.BAD_SIGNATURE, `bad signature on the record of ${record.address}`);
  }
  const now = options.now ?? Date.now();
  if (record.issuedAt > now + (options.maxClockSkewMs ?? RECORD_TIME_DEFAULTS.maxClockSkewMs)) {
    throw bad(`record of ${record.address} is issued in the future`);
  }
  const maxLifetime = options.maxLifetimeMs ?? RECORD_TIME_DEFAULTS.maxLifetimeMs;
  if (record.expiresAt - record.issuedAt > maxLifetime) {
    throw bad(`record of ${record.address} lives longer than ${maxLifetime} ms`);
  }
  if (!options.allowExpired && record.expiresAt <= now) {
    throw directoryError(DirectoryCodes.RECORD_EXPIRED, `record of ${record.address} expired`);
  }
  return { record, bytes: new Uint8Array(bytes) };
}

/** The identity module's check (Argon2id, cached per key and nonce in this process). */
export const defaultVerifyBinding: VerifyBinding = (publicKey, nonce, address) =>
  identityVerifyBinding(publicKey, nonce, Address.parse(address).node);

/** Throws ERR_HUBLESS_BAD_BINDING unless `record.nonce` binds its key to its address. */
export async function checkBinding(record: AgentRecord, verifyBinding: VerifyBinding = defaultVerifyBinding): Promise<void> {
  let ok = false;
  try {
    ok = await verifyBinding(record.publicKey, record.nonce, record.address);
  } catch (err) {
    throw directoryError(DirectoryCodes.BAD_BINDING, `binding check failed for ${record.address}`, err);
  }
  if (!ok) throw directoryError(DirectoryCodes.BAD_BINDING, `key and nonce do not derive ${record.address}`);
}

export interface SignOptions {
  /** Default issuedAt when the input has none. */
  now?: number;
  maxBytes?: number;
}

/** Validates, normalizes, encodes and signs a record with the signer's key. */
export function signRecord(input: RecordInput, signer: RecordSigner, options: SignOptions = {}): SignedRecord {
  if (!isObject(input)) throw bad('record input must be an object');
  const record = normalizeRecord({
    ...input,
    version: RECORD_VERSION,
    publicKey: signer.publicKey,
    capabilities: input.capabilities ?? [],
    groups: input.groups ?? [],
    endpoints: input.endpoints ?? [],
    trust: input.trust ?? [],
    visibility: input.visibility ?? 'public',
    issuedAt: input.issuedAt ?? options.now ?? Date.now(),
  });
  const body = encodeBody(record);
  const maxBytes = options.maxBytes ?? RECORD_LIMITS.maxBytes;
  if (body.length + SIGNATURE_BYTES > maxBytes) {
    throw directoryError(DirectoryCodes.RECORD_TOO_LARGE, `record would be ${body.length + SIGNATURE_BYTES} bytes, limit ${maxBytes}`);
  }
  const message = Buffer.concat([DOMAIN, body]);
  const sig = signer.sign(message);
  // Catch a signer whose key does not match its public key here, not at every reader.
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_BYTES || !sodium.crypto_sign_verify_detached(sig, message, record.publicKey)) {
    throw directoryError(DirectoryCodes.BAD_SIGNATURE, 'signer produced an invalid signature for its public key');
  }
  return { record, bytes: new Uint8Array(Buffer.concat([body, sig])) };
}

/** A RecordSigner over a libsodium Ed25519 secret key (64 bytes: seed ‖ public key). */
export function signerFromSecretKey(secretKey: Uint8Array): RecordSigner {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== sodium.crypto_sign_SECRETKEYBYTES) {
    throw directoryError(DirectoryCodes.BAD_RECORD, `secret key must be ${sodium.crypto_sign_SECRETKEYBYTES} bytes`);
  }
  const sk = new Uint8Array(secretKey);
  return {
    publicKey: sk.slice(32),
    sign(message) {
      const sig = new Uint8Array(SIGNATURE_BYTES);
      sodium.crypto_sign_detached(sig, message, sk);
      return sig;
    },
  };
}
