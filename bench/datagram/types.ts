/** What a datagram peer implements, and what the parent and the child processes exchange. */
import { SeqSet, verify } from './payload.js';

export type Role = 'sender' | 'receiver';

export interface ChildConfig {
  peer: string;
  role: Role;
  seconds: number;
  /** Payloads per Transport.send call (hubless only). */
  batch: number;
}

/** Sent by the parent to both sides once both are bound. Keys are hex. */
export interface Setup {
  peerHost: string;
  peerPort: number;
  peerIndex: number;
  txKey: string;
  rxKey: string;
}

export interface Opened {
  port: number;
  /** Session index (hubless); 0 elsewhere. */
  index: number;
  /** Anything worth recording: buffer sizes, features, how the socket is driven. */
  info: Record<string, unknown>;
}

export interface SenderSide extends Opened {
  setup(s: Setup): void;
  /** Sends until `deadline` (performance.now() ms), honouring backpressure; `tick` reports progress. */
  run(deadline: number, tick: (sent: number) => void): Promise<SendResult>;
  /** Waits (bounded) until what was accepted has left the process. */
  flush(timeoutMs: number): Promise<void>;
  stats(): Record<string, unknown>;
  close(): Promise<void> | void;
}

export interface SendResult {
  /** Datagrams handed to the API and accepted by it (queued ones included). */
  sent: number;
  /** Payload bytes in them (what goodput counts). */
  payloadBytes: number;
  /** Times the sender had to wait for backpressure. */
  waits: number;
  /** API calls made (differs from `sent` for batched APIs). */
  calls: number;
  errors: number;
}

export interface ReceiverSide extends Opened {
  setup(s: Setup): void;
  stats(): Record<string, unknown>;
  close(): Promise<void> | void;
}

/** Counts what a receiver got: distinct valid payloads, invalid ones, duplicates. */
export class RxCounter {
  readonly seen = new SeqSet();
  invalid = 0;
  validBytes = 0;
  /** performance.now() of the last datagram or batch. */
  lastRx = 0;

  /** Verifies one payload; returns its sequence number or -1. */
  check(p: Buffer, length: number): number {
    const seq = verify(p, length);
    if (seq < 0) {
      this.invalid++;
      return -1;
    }
    const before = this.seen.distinct;
    this.seen.add(seq);
    if (this.seen.distinct !== before) this.validBytes += length;
    return seq;
  }
}

export type OpenSender = (cfg: ChildConfig) => Promise<SenderSide>;
export type OpenReceiver = (cfg: ChildConfig, rx: RxCounter) => Promise<ReceiverSide>;

export interface PeerModule {
  /** Label in the tables. */
  label: string;
  /** Payload bytes per datagram. */
  payload: number;
  encrypted: boolean;
  openSender: OpenSender;
  openReceiver: OpenReceiver;
}

export const HOST = '127.0.0.1';
export const BUFFER_BYTES = 4 << 20;
