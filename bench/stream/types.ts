/**
 * What a stream peer implements (bench/stream/peers/*.ts), and the byte pattern every sender
 * writes and every receiver spot-checks.
 *
 * Each side runs in its own process. Both report `info` when bound; the parent hands each side
 * the other's info (and, for hubless, fresh session keys) in `setup`. Then the sender opens
 * streams and the generic code in child.ts writes to them and counts what arrives.
 */

export interface PeerConfig {
  peer: string;
  role: 'sender' | 'receiver';
  /** Address to bind and to reach the other side at: 127.0.0.1, or the lossy link's addresses. */
  host: string;
  peerHost: string;
  /** Streams a hubless session must accept at once (the idle part opens 10,000). */
  maxStreams: number;
  /** hubless only, when no lossy link can be made: its test-only fault knob drops this fraction. */
  faultLoss?: number;
}

/** Setup from the parent: the other side's info, and session keys (hex) for hubless. */
export interface Setup {
  peerInfo: Record<string, unknown>;
  txKey: string;
  rxKey: string;
}

/** One writable stream as the generic pump sees it: write, and wait for drain when it says so. */
export interface Sink {
  write(chunk: Buffer): boolean;
  onceDrain(fn: () => void): void;
}

export interface SenderSide {
  info: Record<string, unknown>;
  setup(s: Setup): Promise<void> | void;
  /** Opens `n` streams to the receiver (one connection or session, multiplexed where the peer can). */
  open(n: number): Promise<Sink[]>;
  stats(): Record<string, unknown>;
  close(): Promise<void> | void;
}

export interface ReceiverSide {
  info: Record<string, unknown>;
  setup(s: Setup): Promise<void> | void;
  /** Called before the sender opens `n` more streams, for peers that must prepare their ends. */
  accept?(n: number): Promise<void> | void;
  stats(): Record<string, unknown>;
  close(): Promise<void> | void;
}

export interface PeerModule {
  label: string;
  encrypted: boolean;
  /** Several streams share one connection (muxed) rather than one connection each. */
  multiplexed: boolean;
  openSender(cfg: PeerConfig): Promise<SenderSide>;
  openReceiver(cfg: PeerConfig, rx: RxCounter): Promise<ReceiverSide>;
}

/**
 * The byte at stream offset o is PATTERN[o % PERIOD]: a sender writes slices of a buffer holding
 * the pattern twice over, and a receiver checks a few bytes of every chunk against its offset.
 * Cheap enough not to slow the receiver, and a lost, repeated or reordered piece shows.
 */
export const PERIOD = 65_521; // prime: chunk sizes never line up with it
export const CHUNK = 64 << 10;
const PATTERN = Buffer.alloc(PERIOD + CHUNK);
{
  let x = 0x9e3779b9;
  for (let i = 0; i < PERIOD; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    PATTERN[i] = x & 0xff;
  }
  for (let i = PERIOD; i < PATTERN.length; i++) PATTERN[i] = PATTERN[i - PERIOD];
}

/** The `CHUNK`-byte slice that continues a stream at offset `offset` (shared, never written). */
export function chunkAt(offset: number): Buffer {
  const start = offset % PERIOD;
  return PATTERN.subarray(start, start + CHUNK);
}

/** What one receiver process got, over all its streams. */
export class RxCounter {
  bytes = 0;
  streams = 0;
  /** Chunks whose spot-checked bytes did not match their offset. */
  mismatches = 0;
  lastRx = 0;

  /** A checker for one new stream: call it with every chunk, in order. */
  stream(): (chunk: Uint8Array) => void {
    this.streams++;
    let offset = 0;
    return (c) => {
      const n = c.length;
      if (n === 0) return;
      const o = offset % PERIOD;
      const last = (offset + n - 1) % PERIOD;
      const mid = (offset + (n >>> 1)) % PERIOD;
      if (c[0] !== PATTERN[o] || c[n - 1] !== PATTERN[last] || c[n >>> 1] !== PATTERN[mid]) this.mismatches++;
      offset += n;
      this.bytes += n;
    };
  }
}
