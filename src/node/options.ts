// Options of createNode() and connect(), their defaults and validation.
import { HublessError } from '../errors.js';
import type { DirectoryNodeOptions } from './directory-options.js';
import type { Address } from '../identity/address.js';
import type { VerifiedBindingCache } from '../identity/derive.js';
import type { Identity } from '../identity/identity.js';
import type { StreamOptions } from '../stream/hub.js';
import { preferredAlgorithm, type AeadAlgorithm, type Transport } from '../transport/transport.js';

/** Access-control hook: true (or a promise of true) accepts a peer's handshake. */
export type Firewall = (remotePublicKey: Buffer, remoteAddress: Address) => boolean | Promise<boolean>;

export interface NodeOptions extends DirectoryNodeOptions {
  /** Key file to load, created (mode 0600) on first start. Default: `$HUBLESS_KEY_FILE` or `~/.hubless/identity.key`. */
  keyFile?: string;
  /** An identity to use instead of a key file (the node does not destroy it on close). */
  identity?: Identity;
  /** Network of this node's address (default: the identity's, 0 for a key file). */
  network?: number;
  /** Where to bind the UDP socket (default host 0.0.0.0, port 0 = any free port). */
  listen?: { host?: string; port?: number };
  /**
   * An open Transport to share with other nodes (several identities on one UDP socket). The node
   * does not close it. Exclusive with `listen`.
   */
  transport?: Transport;
  /** Accept handshakes only from these Ed25519 public keys (32 bytes, or 64 hex characters). */
  allow?: readonly (Uint8Array | string)[];
  /** Asked for every handshake a peer initiates (after its address binding is verified). */
  firewall?: Firewall;
  /** AEADs this node offers / accepts for sessions (default: AES-256-GCM if the CPU has it, and ChaCha20-Poly1305). */
  algorithms?: readonly AeadAlgorithm[];
  /** Rekey when the newest keys are this old (ms; default and maximum 120,000). */
  rekeyAfterMs?: number;
  /** Rekey after sending this many datagrams under one key (default 2^28). */
  rekeyAfterPackets?: number;
  /** How long replaced keys stay installed for reordered packets (ms; default 5,000). */
  rekeyGraceMs?: number;
  /** Give up a handshake after this long (ms; default 10,000). */
  handshakeTimeoutMs?: number;
  /**
   * Keepalive timer (ms; default 10,000): a session that received data and sent nothing for this
   * long sends a keepalive; one that sent data and heard nothing for 1.5× this long starts a
   * handshake to check the peer is still there (and closes if it gets no answer).
   */
  keepaliveMs?: number;
  /** First retransmission of an initiation after this long, doubling up to 8× (ms; default 1,000). */
  handshakeRetryMs?: number;
  /**
   * Initiations per second above which this node answers initiations without a valid cookie
   * (mac2) with a stateless cookie reply (default 1,000). 0 = always demand a cookie.
   */
  cookieThreshold?: number;
  /** Cache of verified address bindings (default: the process-wide one). */
  bindingCache?: VerifiedBindingCache;
  /**
   * Address-binding hashes (one per new peer, ~30 ms of thread pool each) running at once; beyond
   * it, initiations from unknown peers are dropped (`busy`) until some finish (default 64).
   */
  maxPendingVerifications?: number;
  /**
   * Address-binding hashes asked for per second (or running at once) above which this node is under
   * load and demands cookies (mac2) from every initiation, as above cookieThreshold (default 16;
   * 0 = always). Only new (key, nonce) pairs count: known bindings are free.
   */
  verificationLoadThreshold?: number;
  /**
   * Under load, binding hashes one source address (IPv4 address, IPv6 /64) may have running at once
   * (default 8); beyond it, its initiations from unknown keys are dropped (`sourceBusy`). Checked
   * before the global bounds.
   */
  maxVerificationsPerSource?: number;
  /**
   * Under load, binding hashes one source address may start per second, bursts of twice as many
   * (default 16). Its IPv4 /24 and IPv6 /56 may have twice the in-flight and rate budgets, its
   * IPv6 /48 four times.
   */
  verificationsPerSourcePerSecond?: number;
  /**
   * Under load, binding hashes started per second in all, bursts of one second's worth (default
   * 32: below what two cores hash, ~65/s, so the slots drain). A quarter of these, and a quarter of
   * maxPendingVerifications, are kept for sources whose prefix has nothing running.
   */
  verificationsPerSecond?: number;
  /** Datagrams a new incoming session holds back until the initiator's first packet (default 256). */
  stageLimit?: number;
  /**
   * Stream engine settings (windows, send buffer, stream limit, idle timeout, keepalive). On a
   * shared transport the first node's settings apply.
   */
  streams?: StreamOptions;
}

export interface ConnectOptions {
  /** The peer's UDP endpoint (required until the directory provides endpoints). */
  endpoint?: { address: string; port: number };
  /** The peer's Ed25519 public key, when dialling by address. */
  publicKey?: Uint8Array | string;
  /** Give up after this long (ms; default the node's handshakeTimeoutMs). */
  timeoutMs?: number;
}

export interface ResolvedOptions {
  algorithms: AeadAlgorithm[];
  allow: Set<string> | null;
  firewall: Firewall | null;
  rekeyAfterMs: number;
  rekeyAfterPackets: number;
  rekeyGraceMs: number;
  handshakeTimeoutMs: number;
  keepaliveMs: number;
  handshakeRetryMs: number;
  cookieThreshold: number;
  maxPendingVerifications: number;
  verificationLoadThreshold: number;
  maxVerificationsPerSource: number;
  verificationsPerSourcePerSecond: number;
  verificationsPerSecond: number;
  stageLimit: number;
  streams: StreamOptions | undefined;
}

export const MAX_REKEY_AFTER_MS = 120_000;

function bad(message: string): HublessError {
  return new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', message);
}

function intOption(value: number | undefined, name: string, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(`${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

/** A 32-byte Ed25519 public key from bytes or 64 hex characters; throws ERR_HUBLESS_BAD_KEY. */
export function publicKeyBytes(key: Uint8Array | string, what = 'public key'): Buffer {
  if (typeof key === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(key)) throw new HublessError('ERR_HUBLESS_BAD_KEY', `${what} must be 32 bytes or 64 hex characters`);
    return Buffer.from(key, 'hex');
  }
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new HublessError('ERR_HUBLESS_BAD_KEY', `${what} must be 32 bytes or 64 hex characters`);
  }
  return Buffer.from(key);
}

export function resolveOptions(o: NodeOptions): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw bad('createNode needs an options object');
  const supported: AeadAlgorithm[] = preferredAlgorithm() === 'aes-256-gcm'
    ? ['aes-256-gcm', 'chacha20-poly1305']
    : ['chacha20-poly1305'];
  let algorithms = supported;
  if (o.algorithms !== undefined) {
    if (!Array.isArray(o.algorithms) || o.algorithms.length === 0) throw bad('algorithms must be a non-empty array');
    for (const a of o.algorithms) {
      if (a !== 'aes-256-gcm' && a !== 'chacha20-poly1305') throw bad(`unknown AEAD algorithm ${String(a)}`);
      if (!supported.includes(a)) {
        throw new HublessError('ERR_HUBLESS_UNSUPPORTED', `${a} is not available on this CPU`);
      }
    }
    algorithms = [...new Set(o.algorithms)];
  }
  let allow: Set<string> | null = null;
  if (o.allow !== undefined) {
    if (!Array.isArray(o.allow)) throw bad('allow must be an array of public keys');
    allow = new Set(o.allow.map((k) => publicKeyBytes(k, 'allow entry').toString('hex')));
  }
  if (o.firewall !== undefined && typeof o.firewall !== 'function') throw bad('firewall must be a function');
  if (o.transport !== undefined && o.listen !== undefined) throw bad('give either transport or listen, not both');
  return {
    algorithms,
    allow,
    firewall: o.firewall ?? null,
    rekeyAfterMs: intOption(o.rekeyAfterMs, 'rekeyAfterMs', MAX_REKEY_AFTER_MS, 50, MAX_REKEY_AFTER_MS),
    rekeyAfterPackets: intOption(o.rekeyAfterPackets, 'rekeyAfterPackets', 2 ** 28, 16, 2 ** 48),
    rekeyGraceMs: intOption(o.rekeyGraceMs, 'rekeyGraceMs', 5_000, 10, 600_000),
    handshakeTimeoutMs: intOption(o.handshakeTimeoutMs, 'handshakeTimeoutMs', 10_000, 10, 3_600_000),
    keepaliveMs: intOption(o.keepaliveMs, 'keepaliveMs', 10_000, 20, 3_600_000),
    handshakeRetryMs: intOption(o.handshakeRetryMs, 'handshakeRetryMs', 1_000, 5, 60_000),
    cookieThreshold: intOption(o.cookieThreshold, 'cookieThreshold', 1_000, 0, 1e9),
    maxPendingVerifications: intOption(o.maxPendingVerifications, 'maxPendingVerifications', 64, 1, 1e6),
    verificationLoadThreshold: intOption(o.verificationLoadThreshold, 'verificationLoadThreshold', 16, 0, 1e9),
    maxVerificationsPerSource: intOption(o.maxVerificationsPerSource, 'maxVerificationsPerSource', 8, 1, 1e6),
    verificationsPerSourcePerSecond: intOption(o.verificationsPerSourcePerSecond, 'verificationsPerSourcePerSecond', 16, 1, 1e6),
    verificationsPerSecond: intOption(o.verificationsPerSecond, 'verificationsPerSecond', 32, 1, 1e6),
    stageLimit: intOption(o.stageLimit, 'stageLimit', 256, 0, 1e6),
    streams: o.streams,
  };
}
