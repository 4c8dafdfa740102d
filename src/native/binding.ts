/**
 * Loads the native addon through node-gyp-build: a local build (build/Release) wins, otherwise the
 * shipped prebuild for this platform. Nothing is compiled at require time.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { HublessError, asHublessError, isHublessErrorCode } from '../errors.js';

export interface NativeConstants {
  version: number;
  headerSize: number;
  tagSize: number;
  maxDatagram: number;
  maxDatagramPayload: number;
  dataRecordWords: number;
  ctrlRecordWords: number;
  maxDataRecords: number;
  maxCtrlRecords: number;
  metaWords: number;
  aesGcmAvailable: boolean;
  sodiumVersion: string;
  packetTypes: { handshakeInit: number; handshakeResponse: number; cookieReply: number; datagram: number; stream: number };
  /** [min, max] body bytes of each handshake-class type; other sizes are dropped natively. */
  controlBodyBounds: { handshakeInit: [number, number]; handshakeResponse: [number, number]; cookieReply: [number, number] };
  socketStatNames: string[];
  sessionStatNames: string[];
  streamEventWords: number;
  streamMaxEvents: number;
  streamStatNames: string[];
  streamSessionStatNames: string[];
}

/** The native stream engine of one socket (native/stream_engine.h). */
export interface NativeStreamEngine {
  open(session: number, dstPort: number, srcPort: number): number;
  write(session: number, key: number, bytes: Uint8Array, fin: boolean): boolean;
  consumed(session: number, key: number, bytes: number): void;
  reset(session: number, key: number, code: number): boolean;
  sessionStats(session: number, out: Float64Array): boolean;
  configure(options: {
    streamWindow?: number; sessionWindow?: number; sendHighWater?: number; maxStreams?: number;
    idleTimeoutMs?: number; keepaliveMs?: number;
  }): void;
  setFaults(options: { loss?: number; reorder?: number; duplicate?: number; delayMs?: number; seed?: number } | null): void;
  injectPlaintext(session: number, plaintext: Uint8Array): void;
  close(): void;
}

export interface NativeStreamEngineOptions {
  onEvents(count: number): void;
  slab: Uint8Array;
  events: Uint32Array;
  stats: Float64Array;
}

export interface NativeUdpSocket {
  bind(host: string, port: number, ipv6Only: boolean, offload: boolean): number;
  localAddress(): { address: string; port: number; family: 4 | 6 };
  setBufferSizes(rcv: number | undefined, snd: number | undefined): [number, number];
  features(): { gso: boolean; gro: boolean };
  reserveSession(): number;
  installSession(
    index: number, remoteIndex: number, algorithm: number, txKey: Uint8Array, rxKey: Uint8Array,
    host: string, port: number,
  ): void;
  removeSession(index: number): boolean;
  linkSession(index: number, toIndex: number): void;
  setTxSession(index: number): void;
  sessionInfo(index: number, out: Float64Array): number;
  send(index: number, dstPort: number, srcPort: number, payloads: Uint8Array[]): boolean;
  sendControl(type: number, receiver: number, counter: number, body: Uint8Array, host: string, port: number): boolean;
  setRef(ref: boolean): void;
  close(): void;
}

export interface NativeUdpSocketOptions {
  onBatch(dataCount: number, ctrlCount: number): void;
  onDrain(): void;
  slab: Uint8Array;
  meta: Uint32Array;
  stats: Float64Array;
}

export interface NativeAddon {
  UdpSocket: new (options: NativeUdpSocketOptions) => NativeUdpSocket;
  StreamEngine: new (socket: NativeUdpSocket, options: NativeStreamEngineOptions) => NativeStreamEngine;
  aeadSeal(algorithm: number, key: Uint8Array, counterOrNonce: number | Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Buffer;
  aeadOpen(algorithm: number, key: Uint8Array, counterOrNonce: number | Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Buffer | null;
  aeadThroughput(algorithm: number, size: number, totalBytes: number): {
    iterations: number; sealSeconds: number; openSeconds: number;
  };
  frameDecode(bytes: Uint8Array): { version: number; type: number; length: number; receiver: number; counter: bigint };
  frameEncode(type: number, receiver: number, counter: bigint, body: Uint8Array): Buffer;
  constants: NativeConstants;
}

const require = createRequire(import.meta.url);
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

export const native: NativeAddon = loadAddon();
export const constants = native.constants;

/**
 * The addon, or a HublessError: ERR_HUBLESS_NATIVE_UNAVAILABLE when there is neither a local
 * build nor a prebuild for this platform (or it fails to load), ERR_HUBLESS_SODIUM_INIT when its
 * libsodium does not initialise.
 */
function loadAddon(): NativeAddon {
  try {
    return require('node-gyp-build')(packageRoot) as NativeAddon;
  } catch (err) {
    if (isHublessErrorCode((err as { code?: unknown } | null)?.code)) throw asHublessError(err);
    throw new HublessError(
      'ERR_HUBLESS_NATIVE_UNAVAILABLE',
      `the hubless native addon cannot be loaded (${err instanceof Error ? err.message : String(err)}); ` +
      'build it with `npm run build:native` (see README)',
      { cause: err },
    );
  }
}
