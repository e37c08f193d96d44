import type { Readable } from 'node:stream';
import { CancelledError } from '../errors';

/**
 * Bounded buffer in front of one output stream of a process (stdout or stderr). Reads are long polls:
 * they return up to `len` buffered bytes as soon as there are any, and an empty buffer once the stream
 * ended and everything was read (Kata's EOF). When `capacity` bytes are waiting, the source is paused,
 * so a process that writes faster than the host reads blocks in write() instead of growing the agent.
 */
export class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private paused = false;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly source: Readable | null,
    readonly capacity: number,
  ) {
    if (!source) {
      this.ended = true;
      return;
    }
    source.on('data', (chunk: Buffer) => this.push(chunk));
    const end = (): void => this.end();
    source.once('end', end);
    source.once('close', end);
    source.on('error', end);
  }

  /** Bytes waiting to be read. */
  get buffered(): number {
    return this.size;
  }

  /** True once the source ended and every byte was read. */
  get isDrained(): boolean {
    return this.ended && this.size === 0;
  }

  /** True once the source ended (bytes may still be waiting). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Up to `len` bytes, waiting for some if none are buffered; empty means end of stream. */
  async read(len: number, signal?: AbortSignal): Promise<Buffer> {
    while (this.size === 0 && !this.ended) {
      await this.waitForChange(signal);
    }
    return this.take(len);
  }

  /** Everything buffered right now (for error messages), without waiting. */
  peekText(max = 4096): string {
    return Buffer.concat(this.chunks).subarray(0, max).toString('utf8');
  }

  /** Waits until the stream ended (bytes may still be buffered) or the timeout passes. */
  async waitEnded(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), deadline - Date.now());
      await this.waitForChange(ac.signal).catch(() => undefined);
      clearTimeout(t);
    }
  }

  /** Drops buffered bytes and stops reading; later reads see EOF. */
  discard(): void {
    this.chunks = [];
    this.size = 0;
    this.end();
    this.source?.destroy();
  }

  private push(chunk: Buffer): void {
    if (this.ended) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= this.capacity && !this.paused) {
      this.paused = true;
      this.source?.pause();
    }
    this.wake();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
  }

  private take(len: number): Buffer {
    if (this.size === 0) return Buffer.alloc(0);
    const want = Math.min(len, this.size);
    const out: Buffer[] = [];
    let got = 0;
    while (got < want) {
      const c = this.chunks[0]!;
      const n = Math.min(c.length, want - got);
      out.push(n === c.length ? c : c.subarray(0, n));
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
      got += n;
    }
    this.size -= got;
    if (this.paused && this.size <= this.capacity / 2) {
      this.paused = false;
      this.source?.resume();
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out, got);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new CancelledError('read cancelled'));
        return;
      }
      const onAbort = (): void => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new CancelledError('read cancelled'));
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
