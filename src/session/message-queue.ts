// A bounded async queue behind `for await (const msg of session.messages())` and of port
// listeners. Datagrams are lossy by nature: when a consumer falls more than `limit` messages
// behind, new messages are dropped and counted rather than buffered without bound.
import { HublessError } from '../errors.js';

export class MessageQueue<T> implements AsyncIterableIterator<T> {
  readonly limit: number;
  /** Messages dropped because the queue was full. */
  dropped = 0;
  #items: T[] = [];
  #head = 0;
  #waiter: ((r: IteratorResult<T>) => void) | null = null;
  #ended = false;
  readonly #onEnd: (() => void) | undefined;

  constructor(limit: number, onEnd?: () => void) {
    this.limit = limit;
    this.#onEnd = onEnd;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Queues a message (or hands it to a waiting consumer). False when it was dropped. */
  push(item: T): boolean {
    if (this.#ended) return false;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w({ value: item, done: false });
      return true;
    }
    if (this.size >= this.limit) {
      this.dropped++;
      return false;
    }
    this.#items.push(item);
    return true;
  }

  /** No more messages: a waiting consumer finishes; buffered messages can still be read. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const w = this.#waiter;
    this.#waiter = null;
    if (w !== null) w({ value: undefined, done: true });
    this.#onEnd?.();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head];
      this.#items[this.#head++] = undefined as T;
      if (this.#head === this.#items.length) {
        this.#items.length = 0;
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter !== null) {
      return Promise.reject(new HublessError('ERR_HUBLESS_INVALID_ARGUMENT', 'next() called again before the previous call settled'));
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Called by `break` in a for-await loop: stops the subscription and drops what is buffered. */
  return(): Promise<IteratorResult<T>> {
    this.#items.length = 0;
    this.#head = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
