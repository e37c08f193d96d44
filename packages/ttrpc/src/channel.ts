import { Duplex } from 'node:stream';
import { FrameReader, ReadEvent } from './frame-reader';
import { MESSAGE_LENGTH_MAX, MessageType, encodeFrame, encodeHeader } from './framing';
import { Code } from './codes';
import { TtrpcError } from './errors';

/** Payloads at least this large are written as header + body without copying the body. */
const ZERO_COPY_THRESHOLD = 64 * 1024;

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

  constructor(
    readonly transport: Duplex,
    private readonly onEvent: (event: ReadEvent) => void,
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
    if (data.length < ZERO_COPY_THRESHOLD) {
      return this.transport.write(encodeFrame(streamId, type, flags, data));
    }
    this.transport.cork();
    this.transport.write(encodeHeader(streamId, type, flags, data.length));
    const ok = this.transport.write(data);
    this.transport.uncork();
    return ok;
  }

  /** Resolves once the transport has room again (immediately if it has now). */
  waitForDrain(): Promise<void> {
    if (this.closed || !this.transport.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Pauses or resumes reading from the peer (used to push back on a peer that never reads). */
  setReading(on: boolean): void {
    if (on) this.transport.resume();
    else this.transport.pause();
  }

  /** Closes the transport; pending work is told through onClose. */
  close(err?: Error): void {
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
    for (const event of events) {
      if (this.closed) return;
      this.onEvent(event);
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
