import { FrameHeader, Frame, HEADER_LENGTH, MESSAGE_LENGTH_MAX, readHeader } from './framing';

/** What the reader hands upward: a whole frame, or the header of one that was too large and skipped. */
export type ReadEvent = { kind: 'frame'; frame: Frame } | { kind: 'oversized'; header: FrameHeader };

const EMPTY = Buffer.alloc(0);

/**
 * Incremental frame decoder. Bytes go in as they arrive from the transport; complete frames come out.
 * A frame that lies whole inside one chunk is handed out as a view of it, without a copy. A frame
 * split across chunks is copied, as its bytes arrive, into one buffer of its exact size, so memory
 * stays bounded by that frame (≤ 4 MiB) and chunks are never held until a frame completes. Its pages
 * are only touched as data arrives: a header alone costs nothing real. An oversized frame's data is
 * counted off and dropped as it streams by, and reported once, so the stream can fail with
 * RESOURCE_EXHAUSTED while the connection carries on.
 */
export class FrameReader {
  /** Leading bytes of a header split across chunks (fewer than HEADER_LENGTH). */
  private partialHeader: Buffer = EMPTY;
  /** The frame being collected across chunks, and how much of its data has arrived. */
  private pending: { header: FrameHeader; data: Buffer; filled: number } | null = null;
  /** Bytes of an oversized frame still to be thrown away. */
  private discarding = 0;

  constructor(private readonly maxLength: number = MESSAGE_LENGTH_MAX) {}

  /** Feeds bytes and returns every event they complete, in order. */
  push(chunk: Buffer): ReadEvent[] {
    const events: ReadEvent[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.discarding > 0) {
        const skip = Math.min(this.discarding, chunk.length - pos);
        this.discarding -= skip;
        pos += skip;
        continue;
      }
      const pending = this.pending;
      if (pending) {
        const n = Math.min(pending.data.length - pending.filled, chunk.length - pos);
        chunk.copy(pending.data, pending.filled, pos, pos + n);
        pending.filled += n;
        pos += n;
        if (pending.filled === pending.data.length) {
          events.push({ kind: 'frame', frame: { ...pending.header, data: pending.data } });
          this.pending = null;
        }
        continue;
      }
      let header: FrameHeader;
      if (this.partialHeader.length === 0 && chunk.length - pos >= HEADER_LENGTH) {
        header = readHeader(chunk, pos);
        pos += HEADER_LENGTH;
      } else {
        const take = Math.min(HEADER_LENGTH - this.partialHeader.length, chunk.length - pos);
        this.partialHeader = Buffer.concat([this.partialHeader, chunk.subarray(pos, pos + take)]);
        pos += take;
        if (this.partialHeader.length < HEADER_LENGTH) break;
        header = readHeader(this.partialHeader, 0);
        this.partialHeader = EMPTY;
      }
      if (header.length > this.maxLength) {
        events.push({ kind: 'oversized', header });
        this.discarding = header.length;
      } else if (chunk.length - pos >= header.length) {
        events.push({ kind: 'frame', frame: { ...header, data: chunk.subarray(pos, pos + header.length) } });
        pos += header.length;
      } else {
        this.pending = { header, data: Buffer.allocUnsafe(header.length), filled: 0 };
      }
    }
    return events;
  }
}
