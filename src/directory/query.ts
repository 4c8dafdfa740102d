// Directory queries: validation of untrusted queries, the record matcher, and opaque cursors.
//
// Semantics (all given conditions must hold):
//   address / hostname  exact match
//   group               the record lists the group
//   allOf               every filter is satisfied by some capability of the record
//   anyOf               at least one filter is satisfied by some capability
// A capability filter names a capability and optionally constrains its attributes, all on the
// same capability: equality (value and type), `{ in: [...] }`, or a numeric range
// `{ gt, gte, lt, lte }`. Private records match only for their owner and the keys on their
// trust list. Results come in ascending node-id order; the cursor is the last node id handed
// out (keyset paging), bound to the query it came from so it cannot be replayed on another.
import { createHash } from 'node:crypto';
import { Address } from '../identity/address.js';
import {
  attributeKeyProblem, attributeValueProblem, capabilityNameProblem, type AttributeValue, type Capability,
} from './capability.js';
import { DirectoryCodes, directoryError } from './codes.js';
import { groupNameProblem, hostnameProblem } from './names.js';
import type { AgentRecord } from './record-types.js';

export type RangeFilter = { gt?: number; gte?: number; lt?: number; lte?: number };
export type AttributeFilter = AttributeValue | { in: AttributeValue[] } | RangeFilter;

export interface CapabilityFilter {
  name: string;
  attributes?: { [key: string]: AttributeFilter };
}

export interface DirectoryQuery {
  address?: string;
  hostname?: string;
  /** Shorthand for `allOf: [capability]`. */
  capability?: string | CapabilityFilter;
  allOf?: (string | CapabilityFilter)[];
  anyOf?: (string | CapabilityFilter)[];
  group?: string;
  /** Page size, 1..QUERY_LIMITS.maxLimit (default QUERY_LIMITS.defaultLimit). */
  limit?: number;
  /** From the previous page's `cursor`. */
  cursor?: string;
}

/** A validated query in canonical form. */
export interface NormalizedQuery {
  address?: string;
  hostname?: string;
  allOf: CapabilityFilter[];
  anyOf: CapabilityFilter[];
  group?: string;
  limit: number;
  /** Node id after which this page starts. */
  after?: string;
}

export interface ViewOptions {
  /** Public key of the requester; private records match only for trusted viewers. */
  viewer?: Uint8Array;
  /** Directory-internal reads: ignore visibility. */
  unrestricted?: boolean;
}

export const QUERY_LIMITS = {
  defaultLimit: 50,
  maxLimit: 500,
  filters: 8,
  attributesPerFilter: 8,
  inValues: 16,
  cursorLength: 128,
} as const;

const bad = (msg: string) => directoryError(DirectoryCodes.BAD_QUERY, msg);
/**
 * What validateQuery returns: the class's private brand tells matches() a validated query from a
 * look-alike object (a brand check costs less than a WeakSet, whose entries also weigh on the GC).
 */
class ValidatedQuery implements NormalizedQuery {
  readonly #brand = true;
  declare address?: string;
  declare hostname?: string;
  allOf: CapabilityFilter[];
  anyOf: CapabilityFilter[];
  declare group?: string;
  limit: number;
  declare after?: string;

  constructor(filters: Omit<NormalizedQuery, 'limit' | 'after'>, limit: number) {
    if (filters.address !== undefined) this.address = filters.address;
    if (filters.hostname !== undefined) this.hostname = filters.hostname;
    this.allOf = filters.allOf;
    this.anyOf = filters.anyOf;
    if (filters.group !== undefined) this.group = filters.group;
    this.limit = limit;
  }

  static is(q: object): q is ValidatedQuery {
    return #brand in q;
  }
}
const QUERY_FIELDS = ['address', 'hostname', 'capability', 'allOf', 'anyOf', 'group', 'limit', 'cursor'];
const RANGE_KEYS = ['gt', 'gte', 'lt', 'lte'] as const;

function isObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateAttributeFilter(key: string, f: unknown): AttributeFilter {
  const p = attributeKeyProblem(key);
  if (p) throw bad(p);
  if (!isObject(f)) {
    const vp = attributeValueProblem(f);
    if (vp) throw bad(`attribute ${key}: ${vp}`);
    return f as AttributeValue;
  }
  const keys = Object.keys(f);
  if (keys.length === 1 && keys[0] === 'in') {
    const list = f.in;
    if (!Array.isArray(list) || list.length === 0 || list.length > QUERY_LIMITS.inValues) {
      throw bad(`attribute ${key}: "in" takes 1..${QUERY_LIMITS.inValues} values`);
    }
    for (const v of list) {
      const vp = attributeValueProblem(v);
      if (vp) throw bad(`attribute ${key}: ${vp}`);
    }
    return { in: [...list] as AttributeValue[] };
  }
  if (keys.length === 0 || !keys.every((k) => (RANGE_KEYS as readonly string[]).includes(k))) {
    throw bad(`attribute ${key}: a filter object is { in: [...] } or a range of gt/gte/lt/lte`);
  }
  const range: RangeFilter = {};
  for (const k of RANGE_KEYS) {
    const v = f[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`attribute ${key}: ${k} must be a finite number`);
    range[k] = v;
  }
  return range;
}

function validateCapabilityFilter(f: unknown): CapabilityFilter {
  const filter = typeof f === 'string' ? { name: f } : f;
  if (!isObject(filter)) throw bad('a capability filter is a name or { name, attributes }');
  for (const k of Object.keys(filter)) if (k !== 'name' && k !== 'attributes') throw bad(`unknown capability filter field ${JSON.stringify(k.slice(0, 40))}`);
  const np = capabilityNameProblem(filter.name);
  if (np) throw bad(np);
  const out: CapabilityFilter = { name: filter.name as string };
  if (filter.attributes !== undefined) {
    if (!isObject(filter.attributes)) throw bad('attributes must be an object');
    const keys = Object.keys(filter.attributes).sort();
    if (keys.length > QUERY_LIMITS.attributesPerFilter) throw bad(`at most ${QUERY_LIMITS.attributesPerFilter} attribute filters per capability`);
    if (keys.length > 0) {
      const attrs: { [key: string]: AttributeFilter } = {};
      for (const k of keys) attrs[k] = validateAttributeFilter(k, filter.attributes[k]);
      out.attributes = attrs;
    }
  }
  return out;
}

function filterList(v: unknown, what: string): CapabilityFilter[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > QUERY_LIMITS.filters) throw bad(`${what} takes at most ${QUERY_LIMITS.filters} filters`);
  return v.map(validateCapabilityFilter);
}

const fingerprints = new WeakMap<NormalizedQuery, string>();

/**
 * Identifies the filter part of a query (not limit nor position), so that a cursor is only
 * accepted by the query that made it. Computed only when a cursor is made or read.
 */
export function queryFingerprint(q: NormalizedQuery): string {
  let fp = fingerprints.get(q);
  if (fp === undefined) {
    const filters = [q.address, q.hostname, q.group, q.allOf, q.anyOf];
    fp = createHash('sha256').update(JSON.stringify(filters)).digest('hex').slice(0, 16);
    fingerprints.set(q, fp);
  }
  return fp;
}

export function encodeCursor(after: string, q: NormalizedQuery): string {
  return Buffer.from(`1.${after}.${queryFingerprint(q)}`).toString('base64url');
}

function decodeCursor(cursor: unknown, fingerprint: string): string {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > QUERY_LIMITS.cursorLength) throw bad('invalid cursor');
  const m = /^1\.([0-9a-f]{8})\.([0-9a-f]{16})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!m) throw bad('invalid cursor');
  if (m[2] !== fingerprint) throw bad('cursor belongs to a different query');
  return m[1];
}

/** Validates an untrusted query; throws ERR_HUBLESS_BAD_QUERY with the reason. */
export function validateQuery(input: unknown): NormalizedQuery {
  if (!isObject(input)) throw bad('query must be an object');
  for (const k of Object.keys(input)) if (!QUERY_FIELDS.includes(k)) throw bad(`unknown query field ${JSON.stringify(k.slice(0, 40))}`);
  const filters: Omit<NormalizedQuery, 'limit' | 'after'> = { allOf: [], anyOf: [] };
  if (input.address !== undefined) {
    try {
      filters.address = Address.parse(input.address as string).toString();
    } catch (err) {
      throw bad(`address: ${(err as Error).message}`);
    }
  }
  if (input.hostname !== undefined) {
    const p = hostnameProblem(input.hostname);
    if (p) throw bad(`hostname: ${p}`);
    filters.hostname = input.hostname as string;
  }
  filters.allOf = [
    ...(input.capability === undefined ? [] : [validateCapabilityFilter(input.capability)]),
    ...filterList(input.allOf, 'allOf'),
  ];
  if (filters.allOf.length > QUERY_LIMITS.filters) throw bad(`allOf takes at most ${QUERY_LIMITS.filters} filters`);
  filters.anyOf = filterList(input.anyOf, 'anyOf');
  if (input.group !== undefined) {
    const p = groupNameProblem(input.group);
    if (p) throw bad(p);
    filters.group = input.group as string;
  }
  let limit: number = QUERY_LIMITS.defaultLimit;
  if (input.limit !== undefined) {
    if (typeof input.limit !== 'number' || !Number.isInteger(input.limit) || input.limit < 1 || input.limit > QUERY_LIMITS.maxLimit) {
      throw bad(`limit must be an integer in 1..${QUERY_LIMITS.maxLimit}`);
    }
    limit = input.limit;
  }
  const out = new ValidatedQuery(filters, limit);
  if (input.cursor !== undefined) out.after = decodeCursor(input.cursor, queryFingerprint(out));
  return out;
}

function attributeMatches(value: AttributeValue | undefined, f: AttributeFilter): boolean {
  if (value === undefined) return false;
  if (typeof f !== 'object') return value === f;
  if ('in' in f) return f.in.includes(value);
  if (typeof value !== 'number') return false;
  const r = f as RangeFilter;
  return (r.gt === undefined || value > r.gt) && (r.gte === undefined || value >= r.gte)
    && (r.lt === undefined || value < r.lt) && (r.lte === undefined || value <= r.lte);
}

export function capabilityMatches(c: Capability, f: CapabilityFilter): boolean {
  if (c.name !== f.name) return false;
  if (!f.attributes) return true;
  for (const k in f.attributes) {
    const value = c.attributes && Object.prototype.hasOwnProperty.call(c.attributes, k) ? c.attributes[k] : undefined;
    if (!attributeMatches(value, f.attributes[k])) return false;
  }
  return true;
}

const sameKey = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

/** True when the record is visible to the viewer (public, owner, or on the trust list). */
export function visibleTo(record: AgentRecord, view: ViewOptions = {}): boolean {
  if (record.visibility === 'public' || view.unrestricted) return true;
  const v = view.viewer;
  if (!(v instanceof Uint8Array)) return false;
  return sameKey(v, record.publicKey) || record.trust.some((k) => sameKey(k, v));
}

/**
 * True when `record` satisfies the query's filters and is visible to the viewer. Liveness
 * (lease) is the store's concern. `query` may be raw: it is validated first.
 */
export function matches(record: AgentRecord, query: DirectoryQuery | NormalizedQuery, view: ViewOptions = {}): boolean {
  const q = typeof query === 'object' && query !== null && ValidatedQuery.is(query) ? query : validateQuery(query);
  if (!visibleTo(record, view)) return false;
  if (q.address !== undefined && record.address !== q.address) return false;
  if (q.hostname !== undefined && record.hostname !== q.hostname) return false;
  if (q.group !== undefined && !record.groups.includes(q.group)) return false;
  // Plain loops, no closure per call: this runs for every candidate of every query.
  for (let i = 0; i < q.allOf.length; i++) if (!hasCapability(record, q.allOf[i])) return false;
  if (q.anyOf.length === 0) return true;
  for (let i = 0; i < q.anyOf.length; i++) if (hasCapability(record, q.anyOf[i])) return true;
  return false;
}

function hasCapability(record: AgentRecord, f: CapabilityFilter): boolean {
  const caps = record.capabilities;
  for (let i = 0; i < caps.length; i++) if (capabilityMatches(caps[i], f)) return true;
  return false;
}
