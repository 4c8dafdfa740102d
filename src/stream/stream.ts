/**
 * Stream: one reliable, ordered, encrypted byte stream on a session, as a Node `Duplex`.
 * - writes are copied into the native send buffer (pieces of at most 256 KiB); above the
 *   engine's high-water mark the write callback waits for the engine's 'writable' event, so a
 *   slow peer holds the writer back instead of growing memory;
 * - 'data' arrives in chunks of up to 64 KiB, one per native delivery record; the receive window
 *   only reopens as the application reads, so a slow reader bounds what the peer may send;
 * - end() sends FIN (half-close); destroy(err) resets both directions (RESET_STREAM and
 *   STOP_SENDING on the wire); a reset by the peer destroys the stream with
 *   ERR_HUBLESS_STREAM_RESET, a peer gone silent past the idle timeout with
 *   ERR_HUBLESS_STREAM_TIMEOUT. Writing after end() fails with Node's
 *   ERR_STREAM_WRITE_AFTER_END.
 */
import { Duplex } from 'node:stream';
import { HublessError, asHublessError } from '../errors.js';
import type { NativeStreamEngine } from '../native/binding.js';
import type { Session } from '../session/session.js';
import { readMessages, encodeMessage, type MessageOptions } from './messages.js';

const WRITE_PIECE = 256 << 10;
const EMPTY = Buffer.alloc(0);

/** Application error code sent with RESET_STREAM when destroy() has no code of its own. */
export const RESET_CODE_CANCELLED = 1;
/** Reset code of a stream the receiving side refused (nobody listens on its port, or too many). */
export const RESET_CODE_REFUSED = 0xfffffffe;

export interface StreamInfo {
  /** The logical session in the native engine (its first key pair's index). */
  conn: number;
  /** The stream's key in the local engine (even: opened here, odd: opened by the peer). */
  id: number;
  localPort: number;
  remotePort: number;
}

export class Stream extends Duplex {
  /** @internal The logical session in the native engine. */
  readonly conn: number;
  /** The session the stream runs on (null for streams of a bare transport's StreamHub). */
  session: Session | null = null;
  readonly id: number;
  readonly localPort: number;
  readonly remotePort: number;
  readonly #engine: NativeStreamEngine;
  #pushed = 0;
  #reported = 0;
  #nativeClosed = false;
  #finSent = false;
  #finReceived = false;
  #waiting: (() => void) | null = null;
  #resetCode = RESET_CODE_CANCELLED;

  /** @internal Created by StreamHub. */
  constructor(engine: NativeStreamEngine, info: StreamInfo) {
    super({ allowHalfOpen: true, readableHighWaterMark: 256 << 10, writableHighWaterMark: 64 << 10 });
    this.#engine = engine;
    this.conn = info.conn;
    this.id = info.id;
    this.localPort = info.localPort;
    this.remotePort = info.remotePort;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#writeFrom(chunk, 0, cb);
  }

  #writeFrom(chunk: Buffer, from: number, cb: (err?: Error | null) => void): void {
    try {
      let off = from;
      while (off < chunk.length) {
        const piece = chunk.subarray(off, Math.min(chunk.length, off + WRITE_PIECE));
        off += piece.length;
        if (!this.#engine.write(this.conn, this.id, piece, false)) {
          this.#waiting = () => this.#writeFrom(chunk, off, cb);
          return;
        }
      }
      cb();
    } catch (err) {
      cb(asHublessError(err));
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#finSent) {
      cb();  // _endWith() sent the FIN with the last bytes
      return;
    }
    try {
      this.#engine.write(this.conn, this.id, EMPTY, true);
      this.#finSent = true;
      cb();
    } catch (err) {
      cb(asHublessError(err));
    }
  }

  override _read(): void {
    this.#report();
  }

  // Node calls _read before it takes the chunk being read out of the buffer, and not again until
  // the next push: with a full buffer and a closed window that push never comes. So consumption
  // is also reported after every read, once the bytes have really left the buffer.
  override read(size?: number): ReturnType<Duplex['read']> {
    const chunk = super.read(size);
    this.#report();
    return chunk;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const done = this.#finSent && this.#finReceived;
    if (!this.#nativeClosed && (err !== null || !done)) {
      const code = typeof (err as { resetCode?: unknown } | null)?.resetCode === 'number'
        ? (err as unknown as { resetCode: number }).resetCode : this.#resetCode;
      try {
        this.#engine.reset(this.conn, this.id, code >>> 0);
      } catch {
        // the socket closed underneath: nothing left to reset
      }
    }
    const waiting = this.#waiting;
    this.#waiting = null;
    if (waiting !== null) waiting();  // lets a pending write callback fail on the reset stream
    cb(err);
  }

  /**
   * @internal end(frame) for request/response: when nothing else is queued, the bytes and the FIN
   * go to the engine in one native write (no _write/_final round through the Writable machinery,
   * no deferred write callback); otherwise, or for a frame larger than one piece, plain end(frame).
   * A failed write destroys the stream with its error, as end(frame) does.
   */
  _endWith(frame: Buffer): void {
    if (frame.length > WRITE_PIECE || this.destroyed || this.writableEnded || this.writableLength > 0 ||
        this.writableCorked > 0 || this.#finSent || this.#waiting !== null) {
      this.end(frame);
      return;
    }
    try {
      this.#engine.write(this.conn, this.id, frame, true);
    } catch (err) {
      this.destroy(asHublessError(err));
      return;
    }
    this.#finSent = true;
    this.end();
  }

  /** Sends one message: a 4-byte length and msgpack. Resolves once it is buffered natively. */
  sendMessage(value: unknown): Promise<void> {
    const frame = encodeMessage(value);
    return new Promise((resolve, reject) => {
      this.write(frame, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Reads the stream as messages (see sendMessage); sizes are checked before decoding. */
  messages(options: MessageOptions = {}): AsyncGenerator<unknown> {
    return readMessages(this, options);
  }

  // ---- called by StreamHub with native events -------------------------------------------------

  /** @internal Turns the stream down without a local error: the peer sees RESET_CODE_REFUSED. */
  _refuse(): void {
    this.#resetCode = RESET_CODE_REFUSED;
    this.destroy();
  }

  /** @internal Received bytes in the hub's slab: copied into a chunk of their own. */
  _onBytes(slab: Buffer, start: number, length: number): void {
    this._onData(Buffer.from(slab.subarray(start, start + length)));
  }

  /** @internal */
  _onData(chunk: Buffer): void {
    this.#pushed += chunk.length;
    if (this.push(chunk)) this.#report();
  }

  /** @internal */
  _onFin(): void {
    this.#finReceived = true;
    this.push(null);
  }

  /** @internal */
  _onWritable(): void {
    const w = this.#waiting;
    this.#waiting = null;
    if (w !== null) w();
  }

  /** @internal */
  _onAbort(err: HublessError): void {
    this.destroy(err);
  }

  /** @internal The native side freed the stream (the hub has forgotten it). */
  _onNativeClosed(): void {
    this.#nativeClosed = true;
  }

  #report(): void {
    if (this.#nativeClosed || this.destroyed) return;
    const consumed = this.#pushed - this.readableLength - this.#reported;
    if (consumed > 0) {
      this.#reported += consumed;
      try {
        this.#engine.consumed(this.conn, this.id, consumed);
      } catch {
        // socket closed
      }
    }
  }
}
