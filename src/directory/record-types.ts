// Types of the signed agent record (see docs/DIRECTORY.md for the wire layout).
import type { Capability } from './capability.js';

export type Visibility = 'public' | 'private';
export type EndpointKind = 'local' | 'reflexive';

export interface SocketEndpoint {
  /** IPv4 or IPv6 literal. */
  host: string;
  port: number;
}

export interface Endpoint extends SocketEndpoint {
  /** `local`: an interface address; `reflexive`: the address a STUN server saw. */
  kind: EndpointKind;
}

/** The relay an agent currently uses: its hubless address, its UDP endpoint, or both. */
export interface RelayRef {
  address?: string;
  endpoint?: SocketEndpoint;
}

/** A decoded, validated record. Arrays are normalized (groups and trust sorted, unique). */
export interface AgentRecord {
  version: 1;
  /** Text form `N:NNNN.HHHH.LLLL`, lowercase. */
  address: string;
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** u32 nonce binding the node id to the key (see the identity module). */
  nonce: number;
  hostname?: string;
  capabilities: Capability[];
  groups: string[];
  endpoints: Endpoint[];
  relay?: RelayRef;
  visibility: Visibility;
  /** Public keys (32 bytes) allowed to resolve a private record, besides its owner. */
  trust: Uint8Array[];
  /** Monotonic per key (u53); a store accepts only a greater one. */
  seq: number;
  /** ms since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

/** A record together with the exact bytes that were signed and verified. */
export interface SignedRecord {
  record: AgentRecord;
  /** `body ‖ signature`: what stores keep and directories serve. */
  bytes: Uint8Array;
}

/** What an agent fills in; the key comes from the signer, defaults fill the rest. */
export interface RecordInput {
  address: string;
  nonce: number;
  hostname?: string;
  capabilities?: Capability[];
  groups?: string[];
  endpoints?: Endpoint[];
  relay?: RelayRef;
  visibility?: Visibility;
  trust?: Uint8Array[];
  seq: number;
  /** Defaults to now. */
  issuedAt?: number;
  expiresAt: number;
}

/** Anything that can produce Ed25519 signatures for one key (an identity, an HSM, a test key). */
export interface RecordSigner {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** Checks that `nonce` binds `publicKey` to `address` (memory-hard; provided by identity). */
export type VerifyBinding = (publicKey: Uint8Array, nonce: number, address: string) => Promise<boolean>;
