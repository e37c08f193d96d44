// Readiness of one descriptor, driven by libuv: the only way this package waits for I/O.
import { errnoError } from './errors';
import { native, type NativePoll } from './native';

/** Called with status 0 and the ready POLL_* bits, or a negative status (POLLERR) after which
 * libuv has already stopped watching. */
export type WatchHandler = (status: number, events: number) => void;

/** Wraps the addon's Poll: owns the descriptor and tracks the wanted events so that unchanged
 * interest costs nothing. */
export class FdWatcher {
  private readonly poll: NativePoll;
  private mask = 0;
  private closed = false;

  /** Takes ownership of fd on success; on failure (already watched, not pollable) throws and
   * leaves fd with the caller. */
  constructor(fd: number, handler: WatchHandler) {
    this.poll = new (native().Poll)(fd, (status, events) => {
      if (status < 0) this.mask = 0;
      handler(status, events);
    });
  }

  /** The owned descriptor, -1 once closed. */
  get fd(): number {
    return this.poll.fd;
  }

  /** Sets the events to wait for; nothing is watched (and the loop not held) when both are false. */
  want(readable: boolean, writable: boolean): void {
    if (this.closed) return;
    const b = native();
    const mask = (readable ? b.POLL_READABLE : 0) | (writable ? b.POLL_WRITABLE : 0);
    if (mask === this.mask) return;
    if (mask === 0) {
      this.poll.stop();
    } else {
      const rc = this.poll.start(mask);
      if (rc < 0) throw errnoError(rc, 'uv_poll_start');
    }
    this.mask = mask;
  }

  ref(): void {
    this.poll.ref();
  }

  unref(): void {
    this.poll.unref();
  }

  /** Stops watching and closes the descriptor. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mask = 0;
    this.poll.close();
  }
}
