// A record as plain JSON (keys in hex), for the CLI's --json output and for logs.
import type { AgentRecord } from './record-types.js';

export interface AgentRecordJSON {
  address: string;
  publicKey: string;
  nonce: number;
  hostname?: string;
  capabilities: AgentRecord['capabilities'];
  groups: string[];
  endpoints: AgentRecord['endpoints'];
  relay?: AgentRecord['relay'];
  visibility: AgentRecord['visibility'];
  trust: string[];
  seq: number;
  issuedAt: string;
  expiresAt: string;
}

const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');

export function recordToJSON(r: AgentRecord): AgentRecordJSON {
  const out: AgentRecordJSON = {
    address: r.address,
    publicKey: hex(r.publicKey),
    nonce: r.nonce,
    capabilities: r.capabilities,
    groups: r.groups,
    endpoints: r.endpoints,
    visibility: r.visibility,
    trust: r.trust.map(hex),
    seq: r.seq,
    issuedAt: new Date(r.issuedAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
  };
  if (r.hostname !== undefined) out.hostname = r.hostname;
  if (r.relay !== undefined) out.relay = r.relay;
  return out;
}

/** `summarize{lang=en}` */
export function formatCapability(c: AgentRecord['capabilities'][number]): string {
  const attrs = Object.entries(c.attributes ?? {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return attrs.length > 0 ? `${c.name}{${attrs.join(',')}}` : c.name;
}
