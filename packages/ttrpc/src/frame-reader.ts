import { FrameHeader, Frame, HEADER_LENGTH, MESSAGE_LENGTH_MAX, readHeader } from './framing';

/** What the reader hands upward: a whole frame, or the header of one that was too large and skipped. */
export type ReadEvent = { kind: 'frame'; frame: Frame } | { kind: 'oversized'; header: FrameHeader };

/**
 * Incremental frame decoder. Bytes go in as they arrive from the transport; complete frames come out.
 * Memory stays bounded by one frame (≤ 4 MiB + header): an oversized frame's data is counted off and
 * dropped as it streams by, never buffered, and reported once so the stream can fail with
 * RESOURCE_EXHAUSTED while the connection carries on.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Header of the frame whose data is being collected, if any. */
  private header: FrameHeader | null = null;
  /** Bytes of an oversized frame still to be thrown away. */
  private discarding = 0;

  constructor(private readonly maxLength: number = MESSAGE_LENGTH_MAX) {}

  /** Feeds bytes and returns every event they complete, in order. */
  push(chunk: Buffer): ReadEvent[] {
    const events: ReadEvent[] = [];
    let input = chunk;
    while (input.length > 0 || this.canProgress()) {
      if (this.discarding > 0) {
        const skip = Math.min(this.discarding, input.length);
        this.discarding -= skip;
        input = input.subarray(skip);
        if (this.discarding > 0) break;
        continue;
      }
      if (input.length > 0) {
        this.chunks.push(input);
        this.buffered += input.length;
        input = Buffer.alloc(0);
      }
      if (this.header === null) {
        if (this.buffered < HEADER_LENGTH) break;
        const head = this.take(HEADER_LENGTH);
        const header = readHeader(head, 0);
        if (header.length > this.maxLength) {
          events.push({ kind: 'oversized', header });
          // Whatever is already buffered belongs to the oversized body first.
          const rest = this.takeAll();
          this.discarding = header.length;
          input = rest;
          continue;
        }
        this.header = header;
      }
      if (this.buffered < this.header.length) break;
      const data = this.take(this.header.length);
      events.push({ kind: 'frame', frame: { ...this.header, data } });
      this.header = null;
    }
    return events;
  }

  /** True when buffered bytes alone may complete another header or frame. */
  private canProgress(): boolean {
    if (this.discarding > 0) return false;
    if (this.header === null) return this.buffered >= HEADER_LENGTH;
    return this.buffered >= this.header.length;
  }

  /** Removes exactly n buffered bytes; copies only when they span several chunks. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const want = Math.min(n - filled, chunk.length);
      chunk.copy(out, filled, 0, want);
      filled += want;
      if (want === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(want);
    }
    this.buffered -= n;
    return out;
  }

  private takeAll(): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return all;
  }
}
