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

export function encodeMessage(value: unknown): Buffer {
  const body = packr.pack(value);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

export async function* readMessages(stream: Readable & { destroy(err?: Error): void }, options: MessageOptions = {}): AsyncGenerator<unknown> {
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
          const err = new HublessError('ERR_HUBLESS_MESSAGE_TOO_LARGE', `message of ${need} bytes exceeds the ${max}-byte limit`);
          (err as HublessError & { resetCode: number }).resetCode = RESET_CODE_MESSAGE_TOO_LARGE;
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
        const err = new HublessError('ERR_HUBLESS_MESSAGE_INVALID', 'a message is not valid msgpack', { cause });
        (err as HublessError & { resetCode: number }).resetCode = RESET_CODE_MESSAGE_INVALID;
        stream.destroy(err);
        throw err;
      }
      yield value;
    }
  }
  if (have > 0 || need >= 0) {
    throw new HublessError('ERR_HUBLESS_MESSAGE_TRUNCATED', 'the stream ended inside a message');
  }
}
