import { CancelledError } from '../errors';

/**
 * OOM events waiting for GetOOMEvent (a long poll). Bounded: when the host does not collect them,
 * the oldest are dropped.
 */
export class OomQueue {
  private readonly events: string[] = [];
  private readonly waiters: Array<(id: string) => void> = [];

  constructor(private readonly max = 128) {}

  push(containerId: string): void {
    const w = this.waiters.shift();
    if (w) {
      w(containerId);
      return;
    }
    this.events.push(containerId);
    if (this.events.length > this.max) this.events.shift();
  }

  next(signal?: AbortSignal): Promise<string> {
    const e = this.events.shift();
    if (e !== undefined) return Promise.resolve(e);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new CancelledError('GetOOMEvent cancelled'));
      };
      const done = (id: string): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(id);
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Fails every waiting call (the sandbox is going away). */
  close(): void {
    this.events.length = 0;
  }
}
