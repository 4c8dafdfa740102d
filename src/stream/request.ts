/**
 * Request/response on streams (docs/PROTOCOL.md, "Requests"): one stream per request. The
 * requester sends one message (the payload) and ends its side; the responder answers with one
 * message — `[0, value]` or `[1, code, message]` — and ends. A stream costs no round trip to open,
 * so a request is one round trip on an existing session.
 */
import { HublessError, asHublessError, remoteError } from '../errors.js';
import { encodeMessage, NO_MESSAGE, readFirstMessage } from './messages.js';
import type { Stream } from './stream.js';

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

/**
 * Sends `payload` on a fresh stream and resolves with the decoded answer.
 *
 * Written for the hot path of request/response: the request goes out as one write plus FIN
 * (end(frame)), the answer is read by readFirstMessage() (listeners, no async iterator), and
 * one promise settles the call: the answer, the timeout, the abort signal or a stream error,
 * whichever comes first.
 */
export function requestOn(
  stream: Stream, payload: unknown, options: RequestOptions = {}, onTimeout?: TimeoutHook,
): Promise<unknown> {
  let timeoutMs: number;
  let frame: Buffer;
  try {
    timeoutMs = checkTimeout(options.timeoutMs);
    frame = encodeMessage(payload);
  } catch (err) {
    stream.destroy();  // nothing was sent on it
    return Promise.reject(err);
  }
  return new PendingRequest(stream, frame, timeoutMs, options.maxResponseSize ?? DEFAULT_MAX_RESPONSE, options.signal, onTimeout).promise;
}

/** Told when a request timed out (a session checks its peer then): an object, not a closure per request. */
export interface TimeoutHook {
  streamTimedOut(): void;
}

/**
 * One request in flight: its state lives in this object and its callbacks are methods (one bound
 * answer callback, the timer takes the object as argument), not a set of closures per call.
 */
class PendingRequest {
  readonly promise: Promise<unknown>;
  readonly stream: Stream;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  resolve!: (value: unknown) => void;
  reject!: (err: unknown) => void;
  settled = false;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
  readonly onTimeout: TimeoutHook | undefined;

  constructor(
    stream: Stream, frame: Buffer, timeoutMs: number, maxResponseSize: number, signal: AbortSignal | undefined,
    onTimeout: TimeoutHook | undefined,
  ) {
    this.stream = stream;
    this.onTimeout = onTimeout;
    this.timeoutMs = timeoutMs;
    this.signal = signal;
    this.promise = new Promise<unknown>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = setTimeout(requestTimedOut, timeoutMs, this);
    if (signal !== undefined) {
      this.onAbort = this.abort.bind(this);
      if (signal.aborted) {
        this.abort();
        return;
      }
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    // A failed write destroys the stream with its error, which the reader reports.
    stream._endWith(frame);
    readFirstMessage(stream, { maxMessageSize: maxResponseSize }, this.answered.bind(this));
  }

  settle(err: unknown, value?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.signal!.removeEventListener('abort', this.onAbort);
    if (err !== null) this.reject(asRequestError(err));
    else this.resolve(value);
  }

  timedOut(): void {
    this.stream.destroy();
    this.settle(new HublessError('ERR_HUBLESS_REQUEST_TIMEOUT', `no answer within ${this.timeoutMs} ms`));
    this.onTimeout?.streamTimedOut();
  }

  abort(): void {
    this.stream.destroy();
    this.settle(new HublessError('ERR_HUBLESS_ABORTED', 'the request was aborted', { cause: this.signal!.reason }));
  }

  answered(err: Error | null, answer?: unknown): void {
    if (err !== null) return this.settle(err);
    if (answer === NO_MESSAGE) {
      return this.settle(new HublessError('ERR_HUBLESS_MESSAGE_TRUNCATED', 'the responder ended the stream without an answer'));
    }
    let value: unknown;
    try {
      value = decodeAnswer(answer);
    } catch (e) {
      return this.settle(e);
    }
    this.settle(null, value);
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

function requestTimedOut(request: PendingRequest): void {
  request.timedOut();
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

const ignore = (): void => {};

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
