/**
 * Messages on a stream: each is a 4-byte big-endian length followed by that many bytes of
 * msgpack (msgpackr). The reader checks the length against `maxMessageSize` before it buffers or
 * decodes anything, so a hostile peer cannot make it allocate a huge message.
 */
import type { Readable } from 'node:stream';
import { Packr } from 'msgpackr';
import { HublessError } from '../errors.js';

const packr = new Packr({ useRecords: false, moreTypes: true });

export const DEFAULT_MAX_MESSAGE = 16 << 20;
/** Reset codes a reader sends when it refuses a message (the writer's error names the reason). */
export const RESET_CODE_MESSAGE_TOO_LARGE = 2;
export const RESET_CODE_MESSAGE_INVALID = 3;

export interface MessageOptions {
  /** Largest message accepted, in bytes of msgpack; default 16 MiB. */
  maxMessageSize?: number;
}

/** A length-prefixed msgpack frame; ERR_HUBLESS_INVALID_ARGUMENT when msgpack cannot encode `value`. */
export function encodeMessage(value: unknown): Buffer {
  let body: Buffer;
  try {
    body = packr.pack(value);
  } catch (cause) {
    throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', `the value cannot be encoded as msgpack: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** What readMessage() gives when the stream ended cleanly before the first byte of a message. */
export const NO_MESSAGE: unique symbol = Symbol('hubless.noMessage');

type MessageStream = Readable & { destroy(err?: Error): void };

/** @internal ERR_HUBLESS_MESSAGE_TOO_LARGE, with the reset code a reader sends. */
export function tooLarge(need: number, max: number): HublessError {
  const err = new HublessError('ERR_HUBLESS_MESSAGE_TOO_LARGE', `message of ${need} bytes exceeds the ${max}-byte limit`);
  (err as HublessError & { resetCode: number }).resetCode = RESET_CODE_MESSAGE_TOO_LARGE;
  return err;
}

function invalid(cause: unknown): HublessError {
  const err = new HublessError('ERR_HUBLESS_MESSAGE_INVALID', 'a message is not valid msgpack', { cause });
  (err as HublessError & { resetCode: number }).resetCode = RESET_CODE_MESSAGE_INVALID;
  return err;
}

/** @internal */
export const truncated = (): HublessError => new HublessError('ERR_HUBLESS_MESSAGE_TRUNCATED', 'the stream ended inside a message');

/** The error of a stream that closed before it ended (what Node's stream iterator throws). */
export function prematureClose(): Error {
  const err = new Error('Premature close') as Error & { code: string };
  err.code = 'ERR_STREAM_PREMATURE_CLOSE';
  return err;
}

function decodeBody(stream: MessageStream, body: Buffer): unknown {
  try {
    // A copy: decoded binaries must not pin (or alias) the chunk they arrived in.
    return packr.unpack(Buffer.from(body));
  } catch (cause) {
    const err = invalid(cause);
    stream.destroy(err);
    throw err;
  }
}

/**
 * @internal Decodes a message body that is the caller's own (nothing else uses or reuses its
 * bytes): decoded binaries are views into it. ERR_HUBLESS_MESSAGE_INVALID (with its reset code)
 * when it is not msgpack.
 */
export function unpackOwned(body: Buffer): unknown {
  try {
    return packr.unpack(body);
  } catch (cause) {
    throw invalid(cause);
  }
}

export type FirstMessageCallback = (err: Error | null, value?: unknown) => void;

/**
 * Reads the first message of a stream and calls `done` once: with the value, with NO_MESSAGE
 * when the stream ended before any byte, or with an error (the same ones readMessages() throws;
 * an oversized or undecodable message resets the stream first). What follows the first message
 * is left unread, and the stream stays paused, as when a `for await` over readMessages() breaks.
 *
 * The request/response path: a message already buffered is taken at once with read() and
 * `done` runs before this returns (no listener, no promise, no tick); otherwise four listeners
 * (prototype methods, bound once) wait for the rest and `done` runs in the 'data' event that
 * completes the message.
 */
export function readFirstMessage(stream: MessageStream, options: MessageOptions, done: FirstMessageCallback): void {
  if (stream.destroyed) {
    done((stream as { errored?: Error | null }).errored ?? prematureClose());
    return;
  }
  const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE;
  // Whatever is buffered, in one read (one window update); the rest of a partial frame comes
  // through the listeners below. Bytes after the first message are dropped, as readMessages()
  // drops them when its loop breaks.
  const got = stream.readableLength > 0 && !stream.readableFlowing ? stream.read() as Buffer | null : null;
  let need = -1;
  if (got !== null && got.length >= 4) {
    need = got.readUInt32BE(0);
    if (need > max) {
      const err = tooLarge(need, max);
      stream.destroy(err);
      done(err);
      return;
    }
    if (got.length >= 4 + need) {
      let value: unknown;
      try {
        value = decodeBody(stream, got.subarray(4, 4 + need));
      } catch (err) {
        done(err as Error);
        return;
      }
      done(null, value);
      return;
    }
  }
  if (stream.readableEnded) {
    if (got === null) done(null, NO_MESSAGE);
    else done(truncated());
    return;
  }
  new FirstMessage(stream, max, got, need, done);
}

class FirstMessage {
  readonly stream: MessageStream;
  readonly max: number;
  readonly done: FirstMessageCallback;
  /** The frame's bytes so far (length header included), joined once the frame is complete. */
  readonly parts: Buffer[];
  have: number;
  need: number;
  readonly onData: (chunk: Buffer) => void;
  readonly onEnd: () => void;
  readonly onError: (err: Error) => void;
  readonly onClose: () => void;

  constructor(stream: MessageStream, max: number, buf: Buffer | null, need: number, done: FirstMessageCallback) {
    this.stream = stream;
    this.max = max;
    this.parts = buf === null ? [] : [buf];
    this.have = buf === null ? 0 : buf.length;
    this.need = need;
    this.done = done;
    this.onData = this.data.bind(this);
    this.onEnd = this.end.bind(this);
    this.onError = this.error.bind(this);
    this.onClose = this.close.bind(this);
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
  }

  finish(): void {
    const s = this.stream;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    s.pause();
  }

  data(chunk: Buffer): void {
    const parts = this.parts;
    parts.push(chunk);
    this.have += chunk.length;
    if (this.need < 0) {
      if (this.have < 4) return;
      if (parts[0].length < 4) parts.splice(0, parts.length, Buffer.concat(parts, this.have));
      this.need = parts[0].readUInt32BE(0);
      if (this.need > this.max) {
        this.finish();
        const err = tooLarge(this.need, this.max);
        this.stream.destroy(err);
        this.done(err);
        return;
      }
    }
    if (this.have < 4 + this.need) return;
    const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.have);
    this.finish();
    let value: unknown;
    try {
      value = decodeBody(this.stream, buf.subarray(4, 4 + this.need));
    } catch (err) {
      this.done(err as Error);
      return;
    }
    this.done(null, value);
  }

  end(): void {
    this.finish();
    if (this.have > 0) this.done(truncated());
    else this.done(null, NO_MESSAGE);
  }

  error(err: Error): void {
    this.finish();
    this.done(err);
  }

  close(): void {
    this.finish();
    this.done(prematureClose());
  }
}

export async function* readMessages(stream: MessageStream, options: MessageOptions = {}): AsyncGenerator<unknown> {
  const max = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE;
  let chunks: Buffer[] = [];
  let have = 0;
  let need = -1;  // body length of the message being read, -1 while reading its length
  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    chunks = rest.length > 0 ? [rest] : [];
    have = rest.length;
    return out;
  };
  // Leaving the loop (the caller took the message it wanted) must not reset the stream: the
  // other direction may still be in use, as in request/response.
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    have += chunk.length;
    for (;;) {
      if (need < 0) {
        if (have < 4) break;
        need = take(4).readUInt32BE(0);
        if (need > max) {
          const err = tooLarge(need, max);
          stream.destroy(err);
          throw err;
        }
      }
      if (have < need) break;
      const body = Buffer.from(take(need));
      need = -1;
      let value: unknown;
      try {
        value = packr.unpack(body);
      } catch (cause) {
        const err = invalid(cause);
        stream.destroy(err);
        throw err;
      }
      yield value;
    }
  }
  if (have > 0 || need >= 0) throw truncated();
}
