/**
 * What the demo's processes say to each other. Agents talk over hubless sessions (requests and
 * replies as msgpack datagrams); each child reports to the orchestrator as JSON lines on stdout.
 */
import { Packr } from 'msgpackr';

export const SKILL_PORT = 100;
export const MAX_REQUEST_BYTES = 1024;

export interface Specialty {
  name: string;
  capability: { name: string; attributes: Record<string, string> };
}

export const SPECIALISTS: Specialty[] = [
  { name: 'summarizer', capability: { name: 'summarize', attributes: { lang: 'en' } } },
  { name: 'translator', capability: { name: 'translate', attributes: { from: 'en', to: 'fr' } } },
  { name: 'calculator', capability: { name: 'math.eval', attributes: {} } },
];

export interface Request {
  v: 1;
  id: number;
  capability: string;
  input: string;
}

export interface Reply {
  v: 1;
  id: number;
  ok: boolean;
  output?: string;
  error?: string;
}

const packr = new Packr({ useRecords: false });
export const encode = (x: Request | Reply): Buffer => packr.pack(x);

/** Decodes a request or reply, checking size before decoding and shape after. */
export function decode<T extends Request | Reply>(bytes: Uint8Array, kind: 'request' | 'reply'): T | null {
  if (bytes.length > MAX_REQUEST_BYTES + 128) return null;
  let x: unknown;
  try {
    x = packr.unpack(bytes);
  } catch {
    return null;
  }
  if (typeof x !== 'object' || x === null) return null;
  const o = x as Record<string, unknown>;
  if (o.v !== 1 || !Number.isInteger(o.id)) return null;
  if (kind === 'request' && (typeof o.capability !== 'string' || typeof o.input !== 'string')) return null;
  if (kind === 'reply' && typeof o.ok !== 'boolean') return null;
  return x as T;
}

/** A line a child prints for the orchestrator. */
export type Report =
  | { event: 'ready'; role: 'specialist'; name: string; capability: Specialty['capability']; address: string; publicKey: string; endpoint: { address: string; port: number } }
  | { event: 'ready'; role: 'coordinator'; address: string }
  | { event: 'served'; name: string; capability: string; ms: number }
  | { event: 'connected'; name: string; address: string; handshakeMs: number; path: 'direct'; algorithm: string }
  | { event: 'request'; name: string; capability: string; input: string; output: string; rttMs: number }
  | { event: 'failed'; name: string; capability: string; error: string }
  | { event: 'summary'; rows: SummaryRow[] }
  | { event: 'fatal'; error: string; code?: string };

export interface SummaryRow {
  name: string;
  address: string;
  capability: string;
  handshakeMs: number;
  requests: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  bytesOut: number;
  bytesIn: number;
}

export function report(r: Report): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
