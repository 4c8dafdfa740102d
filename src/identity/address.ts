// 48-bit hubless addresses: a 16-bit network and a 32-bit node id.
//
// Text form `N:NNNN.HHHH.LLLL`: N is the network in decimal (for people), then the whole
// 48-bit address as three groups of 4 hex digits (network, node high 16, node low 16), so the
// hex part alone is unambiguous and sorts like the number. Parsing is strict, because addresses
// arrive from peers, files and command lines, and two spellings of one address would break
// equality checks done on text: exact digit counts, no whitespace, no leading zeros in N, and
// N must agree with NNNN. Hex is accepted in either case and always printed in lowercase.
//
// Special node ids (in every network):
//   0x00000000  unspecified / wildcard: "any node", for listening and filters; never a peer.
//   0xffffffff  broadcast to every node of that network.
// No key can own either: derive.ts skips nonces that would produce them.
import { HublessError } from '../errors.js';

export const NETWORK_MAX = 0xffff;
export const NODE_MAX = 0xffffffff;
export const NODE_UNSPECIFIED = 0;
export const NODE_BROADCAST = 0xffffffff;
/** Network 0 is the public backbone; other values are groups / private networks. */
export const NETWORK_BACKBONE = 0;
/** Size of the binary form: network (u16 BE) then node (u32 BE). */
export const ADDRESS_BYTES = 6;
export const PORT_MAX = 0xffff;
/** Port 0 is reserved: "no port / any port" in filters, never a destination. */
export const PORT_RESERVED = 0;
export const SOCKET_ADDRESS_BYTES = ADDRESS_BYTES + 2;

const TWO_32 = 0x1_0000_0000;
const ADDRESS_RE = /^(0|[1-9][0-9]{0,4}):([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})$/;
const WILDCARD_RE = /^(0|[1-9][0-9]{0,4}):\*$/;
const FORMAT_HINT = 'expected N:NNNN.HHHH.LLLL, e.g. 0:0000.1a2b.3c4d';

export interface ParseAddressOptions {
  /** Also accept `N:*` as the unspecified address of network N (for listen/filter inputs). */
  wildcard?: boolean;
}

function badAddress(input: unknown, reason: string): HublessError {
  // Echo at most 64 characters of the input: it may come from an untrusted peer.
  let shown = '';
  if (typeof input === 'string') {
    shown = ` ${JSON.stringify(input.length > 64 ? `${input.slice(0, 64)}…` : input)}`;
  } else if (input !== undefined) {
    shown = ` (${input === null ? 'null' : typeof input})`;
  }
  return new HublessError('ERR_HUBLESS_BAD_ADDRESS', `invalid address${shown}: ${reason}`);
}

function checkNetwork(network: number): void {
  if (!Number.isInteger(network) || network < 0 || network > NETWORK_MAX) {
    throw badAddress(undefined, `network ${network} is not an integer in 0..${NETWORK_MAX}`);
  }
}

function checkNode(node: number): void {
  if (!Number.isInteger(node) || node < 0 || node > NODE_MAX) {
    throw badAddress(undefined, `node id ${node} is not an integer in 0..${NODE_MAX} (0xffffffff)`);
  }
}

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');

/** Only called once the fast regex failed: names the first thing wrong, for a useful message. */
function diagnose(text: string): string {
  if (text.trim() !== text) return 'leading or trailing whitespace';
  const colon = text.indexOf(':');
  if (colon < 0) return `missing ":" after the network (${FORMAT_HINT})`;
  const n = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (!/^[0-9]+$/.test(n)) return `network "${n}" must be a decimal number (${FORMAT_HINT})`;
  if (n.length > 1 && n.startsWith('0')) return `network "${n}" has leading zeros`;
  if (Number(n) > NETWORK_MAX) return `network ${n} is larger than ${NETWORK_MAX}`;
  if (rest === '*') return '"N:*" is only accepted where a wildcard is allowed';
  const groups = rest.split('.');
  if (groups.length !== 3) return `expected 3 dot-separated hex groups after ":", got ${groups.length}`;
  for (const g of groups) {
    if (g.length !== 4) return `hex group "${g}" must have exactly 4 digits`;
    if (!/^[0-9a-fA-F]{4}$/.test(g)) return `hex group "${g}" contains a non-hex character`;
  }
  return FORMAT_HINT;
}

/** An immutable 48-bit address. Compare with `equals`, never with `===`. */
export class Address {
  readonly #network: number;
  readonly #node: number;
  #text: string | undefined;

  private constructor(network: number, node: number) {
    this.#network = network;
    this.#node = node;
  }

  /** Builds an address from its parts; throws ERR_HUBLESS_BAD_ADDRESS when out of range. */
  static of(network: number, node: number): Address {
    checkNetwork(network);
    checkNode(node);
    return new Address(network, node);
  }

  /** Strict parse of `N:NNNN.HHHH.LLLL` (and `N:*` with `{ wildcard: true }`). */
  static parse(text: string, options: ParseAddressOptions = {}): Address {
    if (typeof text !== 'string') throw badAddress(text, 'not a string');
    const m = ADDRESS_RE.exec(text);
    if (m) {
      const n = Number(m[1]);
      const net = parseInt(m[2], 16);
      if (n > NETWORK_MAX) throw badAddress(text, `network ${n} is larger than ${NETWORK_MAX}`);
      if (n !== net) {
        throw badAddress(text, `network ${n} does not match the hex network ${m[2]} (${net})`);
      }
      return Address.of(net, parseInt(m[3], 16) * 0x10000 + parseInt(m[4], 16));
    }
    if (options.wildcard) {
      const w = WILDCARD_RE.exec(text);
      if (w && Number(w[1]) <= NETWORK_MAX) return new Address(Number(w[1]), NODE_UNSPECIFIED);
    }
    throw badAddress(text, diagnose(text));
  }

  /** Reads the 6-byte binary form (network u16 BE, node u32 BE) at `offset`. */
  static fromBytes(bytes: Uint8Array, offset = 0): Address {
    if (!(bytes instanceof Uint8Array) || offset < 0 || offset + ADDRESS_BYTES > bytes.length) {
      throw badAddress(undefined, `binary form needs ${ADDRESS_BYTES} bytes at offset ${offset}`);
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset + offset, ADDRESS_BYTES);
    return new Address(v.getUint16(0), v.getUint32(2));
  }

  /** From the 48-bit integer `network * 2^32 + node` (exact in a JS number). */
  static fromNumber(value: number): Address {
    if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** 48) {
      throw badAddress(undefined, `numeric form ${value} is not an integer in 0..2^48-1`);
    }
    return new Address(Math.floor(value / TWO_32), value % TWO_32);
  }

  static fromBigInt(value: bigint): Address {
    if (typeof value !== 'bigint' || value < 0n || value >= 1n << 48n) {
      throw badAddress(undefined, `bigint form ${String(value)} is not in 0..2^48-1`);
    }
    return Address.fromNumber(Number(value));
  }

  /** Total order by the 48-bit number (network first), for sorting. */
  static compare(a: Address, b: Address): number {
    return a.toNumber() - b.toNumber();
  }

  get network(): number {
    return this.#network;
  }

  get node(): number {
    return this.#node;
  }

  /** Node 0: "any node" (listen / filter), never the address of a peer. */
  get isUnspecified(): boolean {
    return this.#node === NODE_UNSPECIFIED;
  }

  get isBroadcast(): boolean {
    return this.#node === NODE_BROADCAST;
  }

  /** True for an address that a single node can own (neither unspecified nor broadcast). */
  get isUnicast(): boolean {
    return !this.isUnspecified && !this.isBroadcast;
  }

  /** True when `this` (possibly unspecified = any node) matches `other` as a filter. */
  matches(other: Address): boolean {
    return this.#network === other.#network && (this.isUnspecified || this.#node === other.#node);
  }

  equals(other: unknown): boolean {
    return other instanceof Address && other.#network === this.#network && other.#node === this.#node;
  }

  withNetwork(network: number): Address {
    return Address.of(network, this.#node);
  }

  /** A unique number for the address: use it (or `toString()`) as a Map key. */
  toNumber(): number {
    return this.#network * TWO_32 + this.#node;
  }

  toBigInt(): bigint {
    return BigInt(this.toNumber());
  }

  toBytes(): Buffer {
    const out = Buffer.allocUnsafe(ADDRESS_BYTES);
    this.writeTo(out, 0);
    return out;
  }

  /** Writes the 6-byte binary form into `target` at `offset`; returns the offset after it. */
  writeTo(target: Uint8Array, offset = 0): number {
    if (offset < 0 || offset + ADDRESS_BYTES > target.length) {
      throw new HublessError('ERR_HUBLESS_BAD_ADDRESS', 'target buffer too small for an address');
    }
    const v = new DataView(target.buffer, target.byteOffset + offset, ADDRESS_BYTES);
    v.setUint16(0, this.#network);
    v.setUint32(2, this.#node);
    return offset + ADDRESS_BYTES;
  }

  toString(): string {
    if (this.#text === undefined) {
      const n = this.#node;
      this.#text = `${this.#network}:${hex4(this.#network)}.${hex4(n >>> 16)}.${hex4(n & 0xffff)}`;
    }
    return this.#text;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Address(${this.toString()})`;
  }
}

export type AddressLike = Address | string | Uint8Array;

/** Accepts an Address, its text form or its 6-byte binary form. */
export function toAddress(input: AddressLike): Address {
  if (input instanceof Address) return input;
  if (typeof input === 'string') return Address.parse(input);
  if (input instanceof Uint8Array) {
    if (input.length !== ADDRESS_BYTES) {
      throw badAddress(undefined, `binary form must be exactly ${ADDRESS_BYTES} bytes, got ${input.length}`);
    }
    return Address.fromBytes(input);
  }
  throw badAddress(input, 'expected an Address, a string or 6 bytes');
}

export function parseAddress(text: string, options?: ParseAddressOptions): Address {
  return Address.parse(text, options);
}

export function formatAddress(address: Address): string {
  return address.toString();
}

export function isValidAddress(text: string): boolean {
  try {
    Address.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function isReservedNodeId(node: number): boolean {
  return node === NODE_UNSPECIFIED || node === NODE_BROADCAST;
}

// ---- ports and socket addresses (`addr:port`) ----

function badPort(input: unknown, reason: string): HublessError {
  return new HublessError('ERR_HUBLESS_BAD_PORT', `invalid port ${JSON.stringify(String(input))}: ${reason}`);
}

/** Throws ERR_HUBLESS_BAD_PORT unless `port` is an integer in 0..65535 (0 is allowed but reserved). */
export function assertPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > PORT_MAX) {
    throw badPort(port, `must be an integer in 0..${PORT_MAX}`);
  }
  return port;
}

export function isReservedPort(port: number): boolean {
  return port === PORT_RESERVED;
}

/** Strict decimal port: no sign, no leading zeros, no whitespace. */
export function parsePort(text: string): number {
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,4})$/.test(text)) {
    throw badPort(text, `expected a decimal number in 0..${PORT_MAX} without sign or leading zeros`);
  }
  return assertPort(Number(text));
}

/** An address plus a 16-bit port, text form `N:NNNN.HHHH.LLLL:port`. Immutable. */
export class SocketAddress {
  readonly address: Address;
  readonly port: number;

  constructor(address: Address, port: number) {
    if (!(address instanceof Address)) throw badAddress(address, 'expected an Address');
    this.address = address;
    this.port = assertPort(port);
    Object.freeze(this);
  }

  /** Parses `addr:port`; the port follows the last ":". `N:*:port` with `{ wildcard: true }`. */
  static parse(text: string, options: ParseAddressOptions = {}): SocketAddress {
    if (typeof text !== 'string') throw badAddress(text, 'not a string');
    const i = text.lastIndexOf(':');
    if (i <= 0 || text.indexOf(':') === i) {
      throw badAddress(text, 'expected N:NNNN.HHHH.LLLL:port, e.g. 0:0000.1a2b.3c4d:443');
    }
    return new SocketAddress(Address.parse(text.slice(0, i), options), parsePort(text.slice(i + 1)));
  }

  static fromBytes(bytes: Uint8Array, offset = 0): SocketAddress {
    const address = Address.fromBytes(bytes, offset);
    if (offset + SOCKET_ADDRESS_BYTES > bytes.length) {
      throw badAddress(undefined, `binary socket address needs ${SOCKET_ADDRESS_BYTES} bytes`);
    }
    const p = offset + ADDRESS_BYTES;
    return new SocketAddress(address, (bytes[p] << 8) | bytes[p + 1]);
  }

  get isReservedPort(): boolean {
    return this.port === PORT_RESERVED;
  }

  equals(other: unknown): boolean {
    return other instanceof SocketAddress && other.port === this.port && other.address.equals(this.address);
  }

  toBytes(): Buffer {
    const out = Buffer.allocUnsafe(SOCKET_ADDRESS_BYTES);
    this.address.writeTo(out, 0);
    out.writeUInt16BE(this.port, ADDRESS_BYTES);
    return out;
  }

  toString(): string {
    return `${this.address.toString()}:${this.port}`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SocketAddress(${this.toString()})`;
  }
}

export function parseSocketAddress(text: string, options?: ParseAddressOptions): SocketAddress {
  return SocketAddress.parse(text, options);
}

export function formatSocketAddress(address: Address, port: number): string {
  return new SocketAddress(address, port).toString();
}
