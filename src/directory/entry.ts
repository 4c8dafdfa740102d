// Directory entries: which directory to talk to, and the key it must prove it holds. A client
// pins the key: a responder with another key fails the handshake (Noise IK encrypts to the key).
// String form `<64 hex digits>@<ip>:<port>` (IPv6 in brackets: `<hex>@[::1]:4900`), parsed
// strictly: no hostnames (a DNS answer must not choose the directory), no defaults.
import { isIP } from 'node:net';
import { ProtocolCodes, protocolError } from './protocol.js';

export interface DirectoryEntry {
  /** The directory node's Ed25519 public key (32 bytes, or 64 hex characters). */
  publicKey: Uint8Array | string;
  endpoint: { address: string; port: number };
}

export interface ResolvedEntry {
  publicKey: Buffer;
  endpoint: { address: string; port: number };
  /** The string form, for messages. */
  label: string;
}

const bad = (msg: string) => protocolError(ProtocolCodes.BAD_DIRECTORY_ENTRY, msg);
const ENTRY_RE = /^([0-9a-fA-F]{64})@(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/;

function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw bad('directory port must be an integer in 1..65535');
  return port;
}

export function formatEntry(publicKey: Uint8Array, endpoint: { address: string; port: number }): string {
  const host = isIP(endpoint.address) === 6 ? `[${endpoint.address}]` : endpoint.address;
  return `${Buffer.from(publicKey).toString('hex')}@${host}:${endpoint.port}`;
}

/** Parses `<hex key>@<ip>:<port>`; throws ERR_HUBLESS_BAD_DIRECTORY_ENTRY naming the problem. */
export function parseEntry(text: string): ResolvedEntry {
  if (typeof text !== 'string' || text.length > 200) throw bad('a directory entry is a string <hex key>@<ip>:<port>');
  const m = ENTRY_RE.exec(text.trim());
  if (!m) throw bad(`"${text.slice(0, 120)}" is not <64 hex digit key>@<ip>:<port> (IPv6 in brackets)`);
  const [, key, v6, v4, portText] = m;
  const address = v6 ?? v4;
  if (v6 !== undefined ? isIP(v6) !== 6 : isIP(v4) !== 4) throw bad(`"${address}" is not an IP address literal`);
  if (portText.length > 1 && portText.startsWith('0')) throw bad('directory port has leading zeros');
  const port = checkPort(Number(portText));
  const publicKey = Buffer.from(key, 'hex');
  return { publicKey, endpoint: { address, port }, label: formatEntry(publicKey, { address, port }) };
}

/** An entry object or string, checked. */
export function resolveEntry(entry: DirectoryEntry | string): ResolvedEntry {
  if (typeof entry === 'string') return parseEntry(entry);
  if (entry === null || typeof entry !== 'object') throw bad('a directory entry is { publicKey, endpoint } or a string');
  let publicKey: Buffer;
  if (typeof entry.publicKey === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(entry.publicKey)) throw bad('directory publicKey must be 64 hex characters or 32 bytes');
    publicKey = Buffer.from(entry.publicKey, 'hex');
  } else if (entry.publicKey instanceof Uint8Array && entry.publicKey.length === 32) {
    publicKey = Buffer.from(entry.publicKey);
  } else {
    throw bad('directory publicKey must be 64 hex characters or 32 bytes');
  }
  const ep = entry.endpoint as { address?: unknown; port?: unknown } | undefined;
  if (ep === null || typeof ep !== 'object' || typeof ep.address !== 'string' || isIP(ep.address) === 0) {
    throw bad('directory endpoint must be { address: IP literal, port }');
  }
  const endpoint = { address: ep.address, port: checkPort(ep.port) };
  return { publicKey, endpoint, label: formatEntry(publicKey, endpoint) };
}

/** Entries from a list, or from `HUBLESS_DIRECTORY` (comma- or space-separated strings). */
export function resolveEntries(entries: readonly (DirectoryEntry | string)[] | string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedEntry[] {
  let list: readonly (DirectoryEntry | string)[];
  if (entries === undefined) list = splitEntries(env.HUBLESS_DIRECTORY ?? '');
  else if (typeof entries === 'string') list = splitEntries(entries);
  else if (Array.isArray(entries)) list = entries;
  else throw bad('directory must be an array of entries');
  if (list.length > 16) throw bad('at most 16 directory entries');
  return list.map(resolveEntry);
}

export function splitEntries(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s.length > 0);
}
