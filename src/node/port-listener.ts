// node.listen(port): every datagram any session delivers to that port, as a handler call and/or
// an async iterator.
import type { Message } from '../session/session.js';
import { MessageQueue } from '../session/message-queue.js';

export type MessageHandler = (message: Message) => void;

export class PortListener implements AsyncIterable<Message> {
  readonly port: number;
  readonly #handler: MessageHandler | null;
  readonly #limit: number;
  readonly #onClose: (l: PortListener) => void;
  #queue: MessageQueue<Message> | null = null;
  #closed = false;
  /** Handler exceptions (each is rethrown as an uncaught exception once the batch is delivered). */
  handlerErrors = 0;

  /** @internal Made by Node.listen(). */
  constructor(port: number, handler: MessageHandler | null, limit: number, onClose: (l: PortListener) => void) {
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
    this.#onClose(this);
  }
}
