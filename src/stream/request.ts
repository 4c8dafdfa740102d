/**
 * Request/response on streams (docs/PROTOCOL.md, "Requests"): one stream per request. The
 * requester sends one message (the payload) and ends its side; the responder answers with one
 * message — `[0, value]` or `[1, code, message]` — and ends. A stream costs no round trip to open,
 * so a request is one round trip on an existing session.
 */
import { HublessError, type HublessErrorCode } from '../errors.js';
import { readMessages } from './messages.js';
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
  /** Aborts the request (the stream is reset; the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface HandleOptions {
  /** Largest request accepted, in bytes of msgpack (default 1 MiB); larger ones are refused. */
  maxRequestSize?: number;
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

/** Sends `payload` on a fresh stream and resolves with the decoded answer. */
export async function requestOn(stream: Stream, payload: unknown, options: RequestOptions = {}): Promise<unknown> {
  const timeoutMs = checkTimeout(options.timeoutMs);
  const maxResponseSize = options.maxResponseSize ?? DEFAULT_MAX_RESPONSE;
  const signal = options.signal;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new HublessError('ERR_HUBLESS_REQUEST_TIMEOUT', `no answer within ${timeoutMs} ms`);
      stream.destroy();
      reject(err);
    }, timeoutMs);
    if (signal !== undefined) {
      onAbort = () => {
        stream.destroy();
        reject(signal.reason ?? new HublessError('ERR_HUBLESS_ABORTED', 'the request was aborted'));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  stopped.catch(() => {});
  try {
    return await Promise.race([stopped, exchange(stream, payload, maxResponseSize)]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}

async function exchange(stream: Stream, payload: unknown, maxResponseSize: number): Promise<unknown> {
  const sent = stream.sendMessage(payload);
  stream.end();
  await sent;
  for await (const answer of readMessages(stream, { maxMessageSize: maxResponseSize })) {
    return decodeAnswer(answer);
  }
  throw new HublessError('ERR_HUBLESS_MESSAGE_TRUNCATED', 'the responder ended the stream without an answer');
}

function decodeAnswer(answer: unknown): unknown {
  if (Array.isArray(answer) && answer[0] === 0 && answer.length === 2) return answer[1];
  if (Array.isArray(answer) && answer[0] === 1 && answer.length === 3 &&
      typeof answer[1] === 'string' && typeof answer[2] === 'string') {
    const code = (/^ERR_HUBLESS_[A-Z0-9_]{1,64}$/.test(answer[1]) ? answer[1] : 'ERR_HUBLESS_REMOTE_ERROR') as HublessErrorCode;
    const err = new HublessError(code, answer[2].slice(0, MAX_ERROR_MESSAGE));
    (err as HublessError & { remote: boolean }).remote = true;
    throw err;
  }
  throw new HublessError('ERR_HUBLESS_BAD_RESPONSE', 'the answer is not a hubless response');
}

/**
 * Answers the request on an incoming stream with `handler`'s result (or its error). Never throws:
 * a broken stream or a bad request ends that stream only.
 */
export async function serveRequest<S>(
  stream: Stream, session: S, handler: RequestHandler<S>, options: HandleOptions = {},
): Promise<void> {
  const maxMessageSize = options.maxRequestSize ?? DEFAULT_MAX_REQUEST;
  stream.on('error', () => {});  // the requester going away is not this process's error
  let request: unknown;
  let got = false;
  try {
    for await (const m of readMessages(stream, { maxMessageSize })) {
      request = m;
      got = true;
      break;
    }
  } catch (err) {
    if (!stream.destroyed) await answer(stream, [1, codeOf(err), messageOf(err)]);
    return;
  }
  if (!got) {
    stream.destroy();
    return;
  }
  let reply: unknown[];
  try {
    reply = [0, await handler(request, { session, stream })];
  } catch (err) {
    reply = [1, codeOf(err), messageOf(err)];
  }
  if (!stream.destroyed) await answer(stream, reply);
}

async function answer(stream: Stream, reply: unknown[]): Promise<void> {
  try {
    await stream.sendMessage(reply);
    stream.end();
  } catch (err) {
    // An unencodable result becomes an error answer; a dead stream has nobody to tell.
    if (!stream.destroyed && reply[0] === 0) {
      await answer(stream, [1, 'ERR_HUBLESS_REMOTE_ERROR', `the handler's result cannot be encoded: ${messageOf(err)}`]);
    } else {
      stream.destroy();
    }
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_HUBLESS_') ? code : 'ERR_HUBLESS_REMOTE_ERROR';
}

function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.slice(0, MAX_ERROR_MESSAGE);
}
