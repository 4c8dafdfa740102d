// node.listen(port): every datagram any session delivers to that port, as a handler call and/or
// an async iterator; and every stream a peer opens to that port, as 'stream' events and/or the
// streams() iterator. A stream that neither takes is refused (the opener gets
// ERR_HUBLESS_STREAM_REFUSED), as is one beyond the iterator's backlog.
import { EventEmitter } from 'node:events';
import type { Message, Session } from '../session/session.js';
import { MessageQueue } from '../session/message-queue.js';
import type { Stream } from '../stream/stream.js';

export type MessageHandler = (message: Message) => void;

/** Incoming streams waiting for a streams() consumer before new ones are refused. */
export const STREAM_BACKLOG = 128;

export interface PortListenerEvents {
  /** A peer opened a stream to this port (`stream.session` is `session`). */
  stream: [stream: Stream, session: Session];
}

export class PortListener extends EventEmitter<PortListenerEvents> implements AsyncIterable<Message> {
  readonly port: number;
  readonly #handler: MessageHandler | null;
  readonly #limit: number;
  readonly #onClose: (l: PortListener) => void;
  #queue: MessageQueue<Message> | null = null;
  #streams: MessageQueue<Stream> | null = null;
  #closed = false;
  /** Incoming streams refused (nobody took them, or the streams() backlog was full). */
  streamsRefused = 0;
  /** Handler exceptions (each is rethrown as an uncaught exception once the batch is delivered). */
  handlerErrors = 0;

  /** @internal Made by Node.listen(). */
  constructor(port: number, handler: MessageHandler | null, limit: number, onClose: (l: PortListener) => void) {
    super();
    this.port = port;
    this.#handler = handler;
    this.#limit = limit;
    this.#onClose = onClose;
    // Without a handler the iterator is the only consumer: buffer from the start, so that
    // nothing is lost between listen() and the first `for await`.
    if (handler === null) this.#queue = new MessageQueue<Message>(limit);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Messages dropped because the iterator's consumer fell behind. */
  get dropped(): number {
    return this.#queue?.dropped ?? 0;
  }

  /** @internal */
  deliver(msg: Message): void {
    if (this.#handler !== null) {
      try {
        this.#handler(msg);
      } catch (err) {
        // The application's exception surfaces as an uncaught exception, after the batch.
        this.handlerErrors++;
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    this.#queue?.push(msg);
  }

  /** @internal An incoming stream for this port. */
  deliverStream(stream: Stream, session: Session): void {
    if (this.listenerCount('stream') > 0) {
      try {
        this.emit('stream', stream, session);
      } catch (err) {
        this.handlerErrors++;
        queueMicrotask(() => {
          throw err;
        });
      }
      return;
    }
    if (this.#streams?.push(stream) === true) return;
    this.streamsRefused++;
    stream._refuse();
  }

  /**
   * The incoming streams, until close(): buffered (up to STREAM_BACKLOG) from the first call on.
   * Use it or 'stream' events; with 'stream' listeners attached, they get every stream.
   */
  streams(): AsyncIterableIterator<Stream> {
    if (this.#streams === null) {
      this.#streams = new MessageQueue<Stream>(STREAM_BACKLOG);
      if (this.#closed) this.#streams.end();
    }
    return this.#streams;
  }

  /** The messages, until close(). One iterator per listener. */
  messages(): AsyncIterableIterator<Message> {
    if (this.#queue === null) {
      this.#queue = new MessageQueue<Message>(this.#limit);
      if (this.#closed) this.#queue.end();
    }
    return this.#queue;
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this.messages();
  }

  /** Stops listening; a running iterator finishes after the buffered messages. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue?.end();
    this.#streams?.end();
    this.#onClose(this);
  }
}
