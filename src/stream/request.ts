/**
 * Request/response on streams (docs/PROTOCOL.md, "Requests"): one stream per request. The
 * requester sends one message (the payload) and ends its side; the responder answers with one
 * message — `[0, value]` or `[1, code, message]` — and ends. A stream costs no round trip to open,
 * so a request is one round trip on an existing session.
 */
import { HublessError, asHublessError, remoteError } from '../errors.js';
import type { NativeStreamEngine } from '../native/binding.js';
import { arm, Deadline, disarm } from './deadlines.js';
import type { RawStreamSink } from './hub.js';
import {
  encodeMessage, NO_MESSAGE, prematureClose, readFirstMessage, tooLarge, truncated, unpackOwned,
} from './messages.js';
import { RESET_CODE_CANCELLED, type Stream } from './stream.js';

const ignore = (): void => {};

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_REQUEST = 1 << 20;
export const DEFAULT_MAX_RESPONSE = 16 << 20;
const MAX_ERROR_MESSAGE = 1024;

export interface RequestOptions {
  /** Reject with ERR_HUBLESS_REQUEST_TIMEOUT after this long (ms; default 10,000). */
  timeoutMs?: number;
  /** Largest response accepted, in bytes of msgpack (default 16 MiB). */
  maxResponseSize?: number;
  /** Aborts the request: the stream is reset, the promise rejects with ERR_HUBLESS_ABORTED (`cause`: the signal's reason). */
  signal?: AbortSignal;
}

export interface HandleOptions {
  /** Largest request accepted, in bytes of msgpack (default 1 MiB); larger ones are refused. */
  maxRequestSize?: number;
  /**
   * Called when a request is refused before it reaches the handler: ERR_HUBLESS_MESSAGE_TOO_LARGE
   * or ERR_HUBLESS_MESSAGE_INVALID (the requester's stream is reset with that reason), for counters.
   */
  onRefused?: (error: HublessError) => void;
}

/** Where a request came from, for the handler. */
export interface RequestContext<S = unknown> {
  session: S;
  stream: Stream;
}

export type RequestHandler<S = unknown> = (request: unknown, context: RequestContext<S>) => unknown;

export function checkTimeout(ms: unknown): number {
  if (ms === undefined) return DEFAULT_REQUEST_TIMEOUT_MS;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 2 ** 31 - 1) {
    throw new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'timeoutMs must be a positive integer');
  }
  return ms;
}

/** Told when a request timed out (a session checks its peer then): an object, not a closure per request. */
export interface TimeoutHook {
  streamTimedOut(): void;
}

/** Largest piece handed to the engine in one write (as Stream writes). */
const WRITE_PIECE = 256 << 10;

const RECEIVING = 0, ANSWERED = 1, SETTLED = 2;

/**
 * A request on a stream nobody else sees (session.request): the hub hands this object the
 * stream's native events directly (a RawStreamSink), with no Stream (Duplex) in between. The
 * request goes out as one native write with FIN; the answer's bytes are taken from the hub's slab
 * as they arrive: an answer in one delivery is copied once (its body) and decoded in place.
 * The errors are those of a request over a Stream (ERR_HUBLESS_REQUEST_TIMEOUT, ABORTED,
 * MESSAGE_TOO_LARGE, MESSAGE_TRUNCATED, STREAM_CLOSED, the peer's reset or answered error), and so
 * are the stream's resets: a refused answer (too large, not msgpack) resets with its reason, a
 * timeout or an abort with RESET_CODE_CANCELLED, a reset by the peer is answered with the peer's
 * code. What follows the answer is left unread (the engine gives its window back when the stream
 * is freed).
 *
 * Use: `new RequestCall()`, open its stream (hub.openSink, which calls _opened), then send().
 */
export class RequestCall extends Deadline implements RawStreamSink {
  remotePort = 0;
  #engine: NativeStreamEngine | null = null;
  #conn = 0;
  #id = 0;
  #state = RECEIVING;
  #nativeClosed = false;
  #finSent = false;
  #finReceived = false;
  #max = DEFAULT_MAX_RESPONSE;
  #timeoutMs = 0;
  /** Received bytes of a frame that came in pieces (copies), and their total. */
  #parts: Buffer[] | null = null;
  #have = 0;
  /** The answer's body length once its prefix is in, -1 before. */
  #need = -1;
  /** A frame larger than one write piece, while the engine's send buffer is full: the rest from #off. */
  #frame: Buffer | null = null;
  #off = 0;
  #resolve: (value: unknown) => void = ignore;
  #reject: (err: unknown) => void = ignore;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  readonly #onTimeout: TimeoutHook | undefined;

  constructor(onTimeout?: TimeoutHook) {
    super();
    this.#onTimeout = onTimeout;
  }

  /** @internal The hub opened the stream. */
  _opened(engine: NativeStreamEngine, conn: number, id: number): void {
    this.#engine = engine;
    this.#conn = conn;
    this.#id = id;
  }

  /** Sends `payload` with FIN on the opened stream; resolves with the decoded answer. */
  send(dstPort: number, payload: unknown, options: RequestOptions): Promise<unknown> {
    this.remotePort = dstPort;
    let frame: Buffer;
    try {
      this.#timeoutMs = checkTimeout(options.timeoutMs);
      frame = encodeMessage(payload);
    } catch (err) {
      this.#state = SETTLED;
      this.#reset(RESET_CODE_CANCELLED);  // nothing was sent on it
      return Promise.reject(err);
    }
    this.#max = options.maxResponseSize ?? DEFAULT_MAX_RESPONSE;
    const promise = new Promise<unknown>(capture);
    this.#resolve = captured.resolve;
    this.#reject = captured.reject;
    arm(this, this.#timeoutMs);
    const signal = options.signal;
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = this.abort.bind(this);
      if (signal.aborted) {
        this.abort();
        return promise;
      }
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (frame.length <= WRITE_PIECE) {
      try {
        this.#engine!.write(this.#conn, this.#id, frame, true);
        this.#finSent = true;
      } catch (err) {
        this.#fail(asHublessError(err));
      }
    } else {
      this.#frame = frame;
      this.#writeRest();
    }
    return promise;
  }

  /** Writes a large frame piece by piece, FIN with the last; waits for _onWritable when the engine's buffer is full. */
  #writeRest(): void {
    const frame = this.#frame!;
    try {
      while (this.#off < frame.length) {
        const end = Math.min(frame.length, this.#off + WRITE_PIECE);
        const last = end === frame.length;
        const room = this.#engine!.write(this.#conn, this.#id, frame.subarray(this.#off, end), last);
        this.#off = end;
        if (last) {
          this.#finSent = true;
          this.#frame = null;
        } else if (!room) {
          return;
        }
      }
    } catch (err) {
      this.#frame = null;
      this.#fail(asHublessError(err));
    }
  }

  expire(): void {
    if (this.#state === SETTLED) return;
    this.#reset(RESET_CODE_CANCELLED);
    this.#settle(new HublessError('ERR_HUBLESS_REQUEST_TIMEOUT', `no answer within ${this.#timeoutMs} ms`));
    this.#onTimeout?.streamTimedOut();
  }

  abort(): void {
    if (this.#state === SETTLED) return;
    this.#reset(RESET_CODE_CANCELLED);
    this.#settle(new HublessError('ERR_HUBLESS_ABORTED', 'the request was aborted', { cause: this.#signal!.reason }));
  }

  #settle(err: unknown, value?: unknown): void {
    if (this.#state === SETTLED) return;
    this.#state = SETTLED;
    this.#parts = null;
    this.#frame = null;
    disarm(this);
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener('abort', this.#onAbort);
    const resolve = this.#resolve, reject = this.#reject;
    this.#resolve = ignore;
    this.#reject = ignore;
    if (err !== null) reject(asRequestError(err));
    else resolve(value);
  }

  /** Resets the stream (unless both directions are done or it is gone), as Stream.destroy() does. */
  #reset(code: number): void {
    if (this.#nativeClosed || this.#engine === null || (this.#finSent && this.#finReceived)) return;
    try {
      this.#engine.reset(this.#conn, this.#id, code >>> 0);
    } catch {
      // the socket closed underneath: nothing left to reset
    }
  }

  /** A local failure of the stream (write error, refused answer): reset (with the error's code), then reject. */
  #fail(err: HublessError): void {
    if (this.#state === SETTLED) return;
    if (!this.#nativeClosed && this.#engine !== null) {
      const code = (err as { resetCode?: unknown }).resetCode;
      try {
        this.#engine.reset(this.#conn, this.#id, (typeof code === 'number' ? code : RESET_CODE_CANCELLED) >>> 0);
      } catch {
        // socket closed
      }
    }
    this.#settle(err);
  }

  #consumed(n: number): void {
    if (this.#nativeClosed) return;
    try {
      this.#engine!.consumed(this.#conn, this.#id, n);
    } catch {
      // socket closed
    }
  }

  /** @internal */
  _onBytes(slab: Buffer, start: number, length: number): void {
    if (this.#state !== RECEIVING || length === 0) return;
    if (this.#parts === null && length >= 4) {
      // The usual case: the whole answer in one delivery. Its body is copied once and decoded in
      // place; its window comes back when the stream is freed (no consumed() call).
      const need = slab.readUInt32BE(start);
      if (need > this.#max) return this.#fail(tooLarge(need, this.#max));
      if (length >= 4 + need) {
        const body = Buffer.allocUnsafe(need);
        slab.copy(body, 0, start + 4, start + 4 + need);
        return this.#answer(body);
      }
      this.#need = need;
    }
    const copy = Buffer.allocUnsafe(length);
    slab.copy(copy, 0, start, start + length);
    const parts = this.#parts ??= [];
    parts.push(copy);
    this.#have += length;
    if (this.#need < 0) {
      if (this.#have < 4) return this.#consumed(length);
      if (parts.length > 1) parts.splice(0, parts.length, Buffer.concat(parts, this.#have));
      this.#need = parts[0].readUInt32BE(0);
      if (this.#need > this.#max) return this.#fail(tooLarge(this.#need, this.#max));
    }
    const size = 4 + this.#need;
    if (this.#have < size) return this.#consumed(length);
    const frame = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.#have);
    this.#parts = null;
    // Decoded binaries are views into the body: a copy when the frame holds more than the message.
    this.#answer(frame.length === size ? frame.subarray(4) : Buffer.from(frame.subarray(4, size)));
  }

  #answer(body: Buffer): void {
    this.#state = ANSWERED;
    let answer: unknown;
    try {
      answer = unpackOwned(body);
    } catch (err) {
      return this.#fail(err as HublessError);  // resets with RESET_CODE_MESSAGE_INVALID
    }
    let value: unknown;
    try {
      value = decodeAnswer(answer);
    } catch (err) {
      return this.#settle(err);
    }
    this.#settle(null, value);
  }

  /** @internal */
  _onFin(): void {
    this.#finReceived = true;
    if (this.#state !== RECEIVING) return;
    if (this.#parts === null) {
      this.#settle(new HublessError('ERR_HUBLESS_MESSAGE_TRUNCATED', 'the responder ended the stream without an answer'));
    } else {
      this.#settle(truncated());
    }
  }

  /** @internal */
  _onWritable(): void {
    if (this.#frame !== null && this.#state !== SETTLED) this.#writeRest();
  }

  /** @internal The peer reset or stopped the stream, or it timed out. */
  _onAbort(err: HublessError): void {
    this.#fail(err);
  }

  /** @internal */
  _onNativeClosed(): void {
    this.#nativeClosed = true;
  }

  /** @internal The session or transport ended: `err` for a failed session, ERR_HUBLESS_STREAM_CLOSED otherwise. */
  destroy(err?: Error): void {
    if (this.#state === SETTLED) return;
    if (err !== undefined && err !== null) this.#fail(err as HublessError);
    else this.#settle(prematureClose());
  }
}

/**
 * A request rejects with HublessErrors only: what Node's stream machinery reports (the stream
 * closed or was destroyed before the answer: the session ended) becomes ERR_HUBLESS_STREAM_CLOSED.
 */
function asRequestError(err: unknown): HublessError {
  if (err instanceof HublessError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED') {
    return new HublessError('ERR_HUBLESS_STREAM_CLOSED', 'the stream closed before the answer arrived', { cause: err });
  }
  return asHublessError(err);
}

/**
 * The promise executor of every request: one function for all (no closure per request) that
 * hands resolve and reject over through `captured`, read right after `new Promise(capture)`.
 */
const captured: { resolve: (value: unknown) => void; reject: (err: unknown) => void } = { resolve: ignore, reject: ignore };
function capture(resolve: (value: unknown) => void, reject: (err: unknown) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

function decodeAnswer(answer: unknown): unknown {
  if (Array.isArray(answer) && answer[0] === 0 && answer.length === 2) return answer[1];
  if (Array.isArray(answer) && answer[0] === 1 && answer.length === 3 &&
      typeof answer[1] === 'string' && typeof answer[2] === 'string') {
    // A code this version does not know becomes ERR_HUBLESS_REMOTE_ERROR (remoteCode keeps it).
    const code = /^ERR_HUBLESS_[A-Z0-9_]{1,64}$/.test(answer[1]) ? answer[1] : 'ERR_HUBLESS_REMOTE_ERROR';
    throw remoteError(code, answer[2].slice(0, MAX_ERROR_MESSAGE));
  }
  throw new HublessError('ERR_HUBLESS_BAD_RESPONSE', 'the answer is not a hubless response');
}


/**
 * @internal A success answer already encoded: the frame of `[0, value]`. A handler that serves the
 * same answer many times (a directory's cached query page) returns one and it is sent as is, with
 * no msgpack encoding per request. The frame is only read (the engine copies it), so one can be
 * shared by any number of streams.
 */
export class EncodedAnswer {
  readonly frame: Buffer;

  constructor(value: unknown) {
    this.frame = encodeMessage([0, value]);
  }
}

/** Answers with a handler's result: an EncodedAnswer as is, anything else encoded as [0, value]. */
function answerValue(stream: Stream, value: unknown): void {
  if (!(value instanceof EncodedAnswer)) answer(stream, [0, value]);
  else if (!stream.destroyed) stream._endWith(value.frame);
}

/**
 * Answers the request on an incoming stream with `handler`'s result (or its error). Never throws:
 * a broken stream or a bad request ends that stream only. Resolves once the answer is written.
 *
 * The fast path: a stream is handed over (node.handle's 'stream' event) before its first bytes
 * are pushed, and those normally arrive in the same receive batch: reading one tick later finds
 * the whole request buffered and takes it with one read(); the handler runs then, and a result
 * that is not a promise is answered at once (one write plus FIN), with no promise in between.
 */
export function serveRequest<S>(
  stream: Stream, session: S, handler: RequestHandler<S>, options: HandleOptions = {},
): Promise<void> {
  stream.on('error', ignore);  // the requester going away is not this process's error
  return new Promise<void>((resolve) => {
    if (stream.readableLength > 0) serveNow(stream, session, handler, options, resolve);
    else process.nextTick(serveNow, stream, session, handler, options, resolve);
  });
}

function serveNow<S>(stream: Stream, session: S, handler: RequestHandler<S>, options: HandleOptions, resolve: () => void): void {
  readFirstMessage(stream, { maxMessageSize: options.maxRequestSize ?? DEFAULT_MAX_REQUEST }, (err, request) => {
    if (err !== null) {
      const code = (err as HublessError).code;
      if (options.onRefused !== undefined && (code === 'ERR_HUBLESS_MESSAGE_TOO_LARGE' || code === 'ERR_HUBLESS_MESSAGE_INVALID')) {
        options.onRefused(err as HublessError);
      }
      answer(stream, [1, codeOf(err), messageOf(err)]);
      return resolve();
    }
    if (request === NO_MESSAGE) {
      stream.destroy();
      return resolve();
    }
    let result: unknown;
    try {
      result = handler(request, { session, stream });
    } catch (e) {
      answer(stream, [1, codeOf(e), messageOf(e)]);
      return resolve();
    }
    if (!isThenable(result)) {
      answerValue(stream, result);
      return resolve();
    }
    Promise.resolve(result).then(
      (value) => answerValue(stream, value),
      (e: unknown) => answer(stream, [1, codeOf(e), messageOf(e)]),
    ).then(resolve, resolve);
  });
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** Writes the answer and FIN; a write failure destroys the stream (nobody left to tell). */
function answer(stream: Stream, reply: unknown[]): void {
  if (stream.destroyed) return;
  let frame: Buffer;
  try {
    frame = encodeMessage(reply);
  } catch (err) {
    // An unencodable result becomes an error answer.
    if (reply[0] === 0) answer(stream, [1, 'ERR_HUBLESS_REMOTE_ERROR', `the handler's result cannot be encoded: ${messageOf(err)}`]);
    else stream.destroy();
    return;
  }
  stream._endWith(frame);
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_HUBLESS_') ? code : 'ERR_HUBLESS_REMOTE_ERROR';
}

function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.slice(0, MAX_ERROR_MESSAGE);
}
