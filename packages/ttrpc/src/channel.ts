import { Duplex } from 'node:stream';
import { FrameReader, ReadEvent } from './frame-reader';
import { MESSAGE_LENGTH_MAX, MessageType, encodeFrame, encodeHeader } from './framing';
import { Code } from './codes';
import { TtrpcError } from './errors';

/** Payloads at least this large are written as header + body without copying the body. */
const ZERO_COPY_THRESHOLD = 64 * 1024;

/**
 * Takes one frame from the channel. Returning false means "not now":
 * the receiver has nowhere to put it (a full stream buffer), so the channel stops reading and offers
 * the same event again, followed by the rest, once resumeDelivery() is called.
 */
export type EventReceiver = (event: ReadEvent) => boolean;

/**
 * One ttrpc connection's byte pipe: decodes frames from the transport and writes frames to it.
 * Reading is never gated on writing: frames are dispatched as they arrive, and writes only queue
 * in the transport's buffer (callers that stream bulk data wait for drain via waitForDrain()).
 */
export class Channel {
  private readonly reader: FrameReader;
  private closed = false;
  private closeError: Error | undefined;
  private readonly drainWaiters: Array<() => void> = [];
  /** Events read but not yet taken, the first one refused by the receiver; reading is paused meanwhile. */
  private stalled: ReadEvent[] | null = null;
  private resumeQueued = false;
  /** Reading is switched off by setReading(false), independently of a stall. */
  private readingOff = false;
  /**
   * Frames written during one tick leave in one writev: the transport is corked at the first and
   * uncorked once the tick's callbacks and promise jobs have run. Thirty-two answers completed in
   * one tick cost one syscall, not thirty-two; a lone answer waits for nothing but the current job.
   */
  private corked = false;
  private readonly flushWrites = () => {
    this.corked = false;
    this.transport.uncork();
  };

  constructor(
    readonly transport: Duplex,
    private readonly onEvent: EventReceiver,
    private readonly onClose: (err: Error | undefined) => void,
    readonly maxMessageLength: number = MESSAGE_LENGTH_MAX,
  ) {
    this.reader = new FrameReader(maxMessageLength);
    transport.on('data', (chunk: Buffer) => this.receive(chunk));
    transport.on('drain', () => this.flushDrainWaiters());
    transport.once('end', () => this.shutdown(undefined));
    transport.once('close', () => this.shutdown(undefined));
    transport.on('error', (err: Error) => this.shutdown(err));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes queued in the transport that the peer has not taken yet. */
  get pendingWriteBytes(): number {
    return this.transport.writableLength;
  }

  /**
   * Writes one frame. Throws RESOURCE_EXHAUSTED for data over the size limit (nothing is sent),
   * so an oversized message fails its own call and never the connection.
   */
  send(streamId: number, type: MessageType, flags: number, data: Uint8Array): boolean {
    if (data.length > this.maxMessageLength) {
      throw new TtrpcError(
        Code.RESOURCE_EXHAUSTED,
        `message length ${data.length} exceed maximum message size of ${this.maxMessageLength}`,
      );
    }
    if (this.closed) return false;
    if (!this.corked) {
      this.corked = true;
      this.transport.cork();
      process.nextTick(this.flushWrites);
    }
    if (data.length < ZERO_COPY_THRESHOLD) {
      return this.transport.write(encodeFrame(streamId, type, flags, data));
    }
    this.transport.write(encodeHeader(streamId, type, flags, data.length));
    return this.transport.write(data);
  }

  /** Resolves once the transport has room again (immediately if it has now). */
  waitForDrain(): Promise<void> {
    if (this.closed || !this.transport.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Pauses or resumes reading from the peer (used to push back on a peer that never reads). */
  setReading(on: boolean): void {
    this.readingOff = !on;
    if (!on) this.transport.pause();
    else if (!this.stalled) this.transport.resume();
  }

  /**
   * Offers the stalled events again (the receiver has made room); reading resumes once all are
   * taken. Runs on a microtask of its own, never inside the caller: callers are typically a handler
   * pulling from its stream, which must not find protocol work running in its stack.
   */
  resumeDelivery(): void {
    // Checked on the microtask, not here: a receiver may release a stall before the channel records it.
    if (this.resumeQueued) return;
    this.resumeQueued = true;
    queueMicrotask(() => {
      this.resumeQueued = false;
      const events = this.stalled;
      if (!events || this.closed) return;
      this.stalled = null;
      this.deliver(events);
      if (!this.stalled && !this.readingOff) this.transport.resume();
    });
  }

  /**
   * Closes gracefully: what was written goes out (the transport's write side is ended and flushed)
   * before the transport is torn down; at most `timeoutMs`.
   */
  end(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.corked) this.flushWrites();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const transport = this.transport;
      function done(): void {
        clearTimeout(timer);
        transport.removeListener('finish', done);
        resolve();
      }
      transport.once('finish', done);
      transport.end();
    }).then(() => this.close());
  }

  /** Closes the transport; pending work is told through onClose. */
  close(err?: Error): void {
    // Frames written in this tick still go out before the transport is torn down.
    if (this.corked) this.flushWrites();
    if (!this.closed) this.transport.destroy();
    this.shutdown(err);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    let events: ReadEvent[];
    try {
      events = this.reader.push(chunk);
    } catch (err) {
      this.close(err as Error);
      return;
    }
    // Bytes that were already on their way when a stall paused the transport queue up behind it.
    if (this.stalled) this.stalled.push(...events);
    else this.deliver(events);
  }

  private deliver(events: ReadEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      if (this.closed) return;
      let taken: boolean;
      try {
        taken = this.onEvent(events[i]!);
      } catch (err) {
        // A fault in handling one frame costs this connection, never the process serving others.
        this.close(err as Error);
        return;
      }
      if (!taken) {
        this.stalled = events.slice(i);
        this.transport.pause();
        return;
      }
    }
  }

  private shutdown(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    this.flushDrainWaiters();
    if (!this.transport.destroyed) this.transport.destroy();
    this.onClose(this.closeError);
  }

  private flushDrainWaiters(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
