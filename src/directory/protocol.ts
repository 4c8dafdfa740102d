// The directory protocol: what directory clients and servers say to each other over hubless
// sessions (docs/PROTOCOL.md, "Directory protocol"). Requests and answers are msgpack maps carried
// by the request/response layer (one stream per request, on DIRECTORY_PORT); a watch is one
// long-lived stream on DIRECTORY_WATCH_PORT. Records always travel as their signed bytes, so the
// receiver verifies them itself. Everything here is validated as untrusted input.
import { HublessError, type HublessErrorCode } from '../errors.js';
import { isIP } from 'node:net';
import { RECORD_LIMITS } from './record.js';
import { QUERY_LIMITS } from './query.js';

export const DIRECTORY_PROTOCOL_VERSION = 1;
/** Virtual port of directory requests (register, renew, deregister, get, query). */
export const DIRECTORY_PORT = 53;
/** Virtual port of watch streams. */
export const DIRECTORY_WATCH_PORT = 54;

export const DIRECTORY_LIMITS = {
  /** Largest request (msgpack bytes): a record of at most 8 KiB plus the envelope. */
  maxRequestBytes: 16 << 10,
  /** Largest answer a client accepts: a full page of maximal records plus the envelope. */
  maxResponseBytes: QUERY_LIMITS.maxLimit * RECORD_LIMITS.maxBytes + (64 << 10),
  /** Largest watch event a client accepts. */
  maxWatchMessageBytes: RECORD_LIMITS.maxBytes + 1024,
} as const;

/** Codes of the directory protocol (besides the data layer's, src/directory/codes.ts). */
export const ProtocolCodes = {
  /** Not a directory request: wrong shape, version or operation. */
  BAD_REQUEST: 'ERR_HUBLESS_BAD_REQUEST',
  /** Over the rate limit of the requester's key or source address. */
  RATE_LIMITED: 'ERR_HUBLESS_RATE_LIMITED',
  /** Register, renew or deregister of a record whose key is not the requester's. */
  NOT_OWNER: 'ERR_HUBLESS_NOT_OWNER',
  /** Renew of a record that is not (or no longer) live: register again. */
  NOT_REGISTERED: 'ERR_HUBLESS_NOT_REGISTERED',
  /** Too many watches (per key or in total). */
  TOO_MANY_WATCHES: 'ERR_HUBLESS_TOO_MANY_WATCHES',
  /** The directory's answer was malformed or did not match the question. */
  BAD_RESPONSE: 'ERR_HUBLESS_BAD_RESPONSE',
  /** No directory answered (every configured entry failed or timed out). */
  DIRECTORY_UNAVAILABLE: 'ERR_HUBLESS_DIRECTORY_UNAVAILABLE',
  /** Malformed directory entry (`<hex key>@<ip>:<port>`). */
  BAD_DIRECTORY_ENTRY: 'ERR_HUBLESS_BAD_DIRECTORY_ENTRY',
  /** No record for that hostname or address. */
  NOT_FOUND: 'ERR_HUBLESS_NOT_FOUND',
  /** The client or membership was closed. */
  CLOSED: 'ERR_HUBLESS_DIRECTORY_CLOSED',
} as const satisfies Record<string, HublessErrorCode>;

/**
 * Records travel as msgpack `bin`. The message codec (msgpackr with moreTypes) writes a Buffer as
 * `bin` but a plain Uint8Array as its typed-array extension, which the reader then copies into a
 * new Uint8Array: a Buffer view of the same bytes (no copy) keeps the wire as documented and the
 * decoding cheap (a view into the message).
 */
export function asBin(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function protocolError(code: HublessErrorCode, message: string, cause?: unknown): HublessError {
  return new HublessError(code, message, cause === undefined ? undefined : { cause });
}

export type RegisterRequest = { v: 1; op: 'register'; record: Uint8Array };
export type RenewRequest = { v: 1; op: 'renew'; address: string };
export type DeregisterRequest = { v: 1; op: 'deregister'; address: string };
export type GetRequest = { v: 1; op: 'get'; address?: string; hostname?: string };
export type QueryRequest = { v: 1; op: 'query'; query: Record<string, unknown> };
export type DirectoryRequest = RegisterRequest | RenewRequest | DeregisterRequest | GetRequest | QueryRequest;
export type WatchRequest = { v: 1; op: 'watch'; query: Record<string, unknown>; initial?: boolean };

export type Op = DirectoryRequest['op'] | 'watch';
export const OPS: readonly Op[] = ['register', 'renew', 'deregister', 'get', 'query', 'watch'];

/** The requester's UDP endpoint as the directory saw it (lets an agent learn its outside address). */
export interface ObservedEndpoint {
  host: string;
  port: number;
}
export type LeaseAnswer = { v: 1; leaseUntil: number; leaseMs: number; observed: ObservedEndpoint };
export type DeregisterAnswer = { v: 1; removed: boolean };
export type GetAnswer = { v: 1; record: Uint8Array | null };
export type QueryAnswer = { v: 1; records: Uint8Array[]; cursor?: string };
export type WatchMessage =
  | { v: 1; type: 'put'; record: Uint8Array }
  | { v: 1; type: 'leave'; address: string; reason: 'changed' | 'removed' | 'expired' }
  | { v: 1; type: 'synced' }
  /** Sent on an idle watch (every watchPingMs) so that a client notices a dead directory. */
  | { v: 1; type: 'ping' }
  /** The watch was refused or ended by the directory; the stream ends after it. */
  | { v: 1; type: 'error'; code: string; message: string };

const badRequest = (msg: string) => protocolError(ProtocolCodes.BAD_REQUEST, msg);
const badResponse = (msg: string) => protocolError(ProtocolCodes.BAD_RESPONSE, msg);

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function checkFields(o: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw badRequest(`unknown field ${JSON.stringify(k.slice(0, 40))} in ${what}`);
  }
}

const shortString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** Validates the envelope of an untrusted request (fields are checked by the data layer later). */
export function parseRequest(payload: unknown): DirectoryRequest {
  if (!isMap(payload)) throw badRequest('a directory request is a msgpack map');
  if (payload.v !== DIRECTORY_PROTOCOL_VERSION) throw badRequest(`unsupported directory protocol version ${typeof payload.v === 'number' ? payload.v : typeof payload.v}`);
  const op = payload.op;
  switch (op) {
    case 'register':
      checkFields(payload, ['v', 'op', 'record'], 'register');
      if (!(payload.record instanceof Uint8Array)) throw badRequest('register needs record (bytes)');
      return payload as RegisterRequest;
    case 'renew':
    case 'deregister':
      checkFields(payload, ['v', 'op', 'address'], op);
      if (!shortString(payload.address, 32)) throw badRequest(`${op} needs address (string)`);
      return payload as RenewRequest | DeregisterRequest;
    case 'get':
      checkFields(payload, ['v', 'op', 'address', 'hostname'], 'get');
      if ((payload.address === undefined) === (payload.hostname === undefined)) throw badRequest('get needs exactly one of address, hostname');
      if (payload.address !== undefined && !shortString(payload.address, 32)) throw badRequest('address must be a string');
      if (payload.hostname !== undefined && !shortString(payload.hostname, 253)) throw badRequest('hostname must be a string');
      return payload as GetRequest;
    case 'query':
      checkFields(payload, ['v', 'op', 'query'], 'query');
      if (!isMap(payload.query)) throw badRequest('query needs query (map)');
      return payload as QueryRequest;
    default:
      throw badRequest(`unknown directory operation ${typeof op === 'string' ? JSON.stringify(op.slice(0, 40)) : typeof op}`);
  }
}

export function parseWatchRequest(payload: unknown): WatchRequest {
  if (!isMap(payload)) throw badRequest('a watch request is a msgpack map');
  if (payload.v !== DIRECTORY_PROTOCOL_VERSION) throw badRequest('unsupported directory protocol version');
  if (payload.op !== 'watch') throw badRequest('the watch port takes only watch requests');
  checkFields(payload, ['v', 'op', 'query', 'initial'], 'watch');
  if (!isMap(payload.query)) throw badRequest('watch needs query (map)');
  if (payload.initial !== undefined && typeof payload.initial !== 'boolean') throw badRequest('initial must be a boolean');
  return payload as WatchRequest;
}

// ---- answers, checked by the client (the directory is pinned, but a bug or a rogue replica
// must give a clear error, never a crash or a wrong type further up) ----

function answer(v: unknown): Record<string, unknown> {
  if (!isMap(v) || v.v !== DIRECTORY_PROTOCOL_VERSION) throw badResponse('the directory answered with something that is not a version-1 answer');
  return v;
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function observed(v: unknown): ObservedEndpoint {
  if (!isMap(v) || typeof v.host !== 'string' || isIP(v.host) === 0 || !Number.isInteger(v.port) || (v.port as number) < 1 || (v.port as number) > 65535) {
    throw badResponse('observed endpoint malformed');
  }
  return { host: v.host, port: v.port as number };
}

export function parseLeaseAnswer(v: unknown): LeaseAnswer {
  const a = answer(v);
  if (!isTime(a.leaseUntil) || !isTime(a.leaseMs)) throw badResponse('lease answer malformed');
  return { v: 1, leaseUntil: a.leaseUntil, leaseMs: a.leaseMs, observed: observed(a.observed) };
}

export function parseDeregisterAnswer(v: unknown): DeregisterAnswer {
  const a = answer(v);
  if (typeof a.removed !== 'boolean') throw badResponse('deregister answer malformed');
  return { v: 1, removed: a.removed };
}

export function parseGetAnswer(v: unknown): GetAnswer {
  const a = answer(v);
  if (a.record !== null && !(a.record instanceof Uint8Array)) throw badResponse('get answer malformed');
  return { v: 1, record: a.record as Uint8Array | null };
}

export function parseQueryAnswer(v: unknown): QueryAnswer {
  const a = answer(v);
  if (!Array.isArray(a.records) || a.records.length > QUERY_LIMITS.maxLimit || !a.records.every((r) => r instanceof Uint8Array)) {
    throw badResponse('query answer malformed');
  }
  if (a.cursor !== undefined && !shortString(a.cursor, QUERY_LIMITS.cursorLength)) throw badResponse('query cursor malformed');
  return a.cursor === undefined ? { v: 1, records: a.records } : { v: 1, records: a.records, cursor: a.cursor as string };
}

export function parseWatchMessage(v: unknown): WatchMessage {
  const a = answer(v);
  switch (a.type) {
    case 'put':
      if (!(a.record instanceof Uint8Array)) break;
      return { v: 1, type: 'put', record: a.record };
    case 'leave':
      if (!shortString(a.address, 32) || (a.reason !== 'changed' && a.reason !== 'removed' && a.reason !== 'expired')) break;
      return { v: 1, type: 'leave', address: a.address, reason: a.reason };
    case 'synced':
    case 'ping':
      return { v: 1, type: a.type };
    case 'error':
      if (typeof a.code !== 'string' || !/^ERR_HUBLESS_[A-Z0-9_]{1,64}$/.test(a.code) || typeof a.message !== 'string') break;
      return { v: 1, type: 'error', code: a.code, message: a.message.slice(0, 1024) };
  }
  throw badResponse('watch event malformed');
}
