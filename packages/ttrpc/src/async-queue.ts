/**
 * A bounded single-consumer queue exposed as an AsyncIterable: inbound stream messages are pushed by
 * the connection's reader and pulled by a handler or caller at its own pace.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | null = null;
  private ended = false;
  private failure: Error | null = null;
  /** A producer waiting for room (see onceRoom). */
  private roomListener: (() => void) | null = null;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length;
  }

  get isFull(): boolean {
    return this.items.length >= this.capacity;
  }

  get isClosed(): boolean {
    return this.ended || this.failure !== null;
  }

  /** Adds an item; returns false (and drops it) when the queue is full or closed. */
  push(item: T): boolean {
    if (this.isClosed) return false;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: item, done: false });
      return true;
    }
    if (this.isFull) return false;
    this.items.push(item);
    return true;
  }

  /**
   * Calls `listener` once the queue has room again, or once it closes (nothing more will be taken
   * then, so there is nothing left to wait for). Calls it at once if either holds already.
   */
  onceRoom(listener: () => void): void {
    if (!this.isFull || this.isClosed) listener();
    else this.roomListener = listener;
  }

  /** No more items will come; the consumer sees the end after draining what is queued. */
  end(): void {
    if (this.isClosed) return;
    this.ended = true;
    this.flushWaiter();
    this.notifyRoom();
  }

  /** The consumer's next pull rejects with `err` (queued items are dropped). */
  fail(err: Error): void {
    if (this.isClosed) return;
    this.failure = err;
    this.items.length = 0;
    this.flushWaiter();
    this.notifyRoom();
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.notifyRoom();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next() };
  }

  private notifyRoom(): void {
    const listener = this.roomListener;
    if (!listener) return;
    this.roomListener = null;
    listener();
  }

  private flushWaiter(): void {
    if (!this.waiter) return;
    const w = this.waiter;
    this.waiter = null;
    if (this.failure) w.reject(this.failure);
    else w.resolve({ value: undefined, done: true });
  }
}
