import { AsyncQueue } from './async-queue';
import { Channel } from './channel';

/** How long a full stream buffer may hold up its connection before that stream fails (as Go: 1 s). */
export const STREAM_FULL_WAIT_MS = 1000;

/**
 * Back-pressure for inbound stream messages. A burst of small Data frames arrives in one read, faster
 * than any consumer can pull between two of them, so a full buffer must not fail the stream outright.
 * Instead the connection stops reading — Go's ttrpc blocks its receive loop the same way — until the
 * consumer makes room. If it makes none within STREAM_FULL_WAIT_MS, the stream fails ("stream buffer
 * full") and reading goes on: one abandoned stream cannot hold up every other call for long.
 */
export class StreamStall {
  /** The queue delivery is waiting on, if any (one at a time: the channel is paused meanwhile). */
  private waitingOn: AsyncQueue<unknown> | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly channel: Channel) {}

  /**
   * Holds delivery until `queue` has room (or closes). `onTimeout` must fail the stream; delivery then
   * resumes and the held frame meets a stream that is gone.
   */
  wait(queue: AsyncQueue<unknown>, onTimeout: () => void): void {
    this.waitingOn = queue;
    this.timer = setTimeout(() => {
      onTimeout();
      this.release(queue);
    }, STREAM_FULL_WAIT_MS);
    queue.onceRoom(() => this.release(queue));
  }

  /** Drops any wait (the connection closed). */
  dispose(): void {
    clearTimeout(this.timer);
    this.waitingOn = null;
  }

  private release(queue: AsyncQueue<unknown>): void {
    if (this.waitingOn !== queue) return;
    clearTimeout(this.timer);
    this.waitingOn = null;
    this.channel.resumeDelivery();
  }
}
