import { Code } from './codes';
import { TtrpcError } from './errors';
import { FrameHeader, Frame, HEADER_LENGTH, MESSAGE_LENGTH_MAX, readHeader } from './framing';

/** What the reader hands upward: a whole frame. */
export type ReadEvent = { kind: 'frame'; frame: Frame };

/**
 * A header announcing more than the maximum message size. No conforming peer sends one (Go, Rust and
 * ttrpc-ts all refuse to at the sender), and its data may never come: skipping it would read the peer's
 * next frames as its data, and a header claiming 4 GiB would swallow the connection for good while
 * calls on it wait for their deadlines. The connection is lost either way, so the reader fails it at once.
 */
export class OversizedFrameError extends TtrpcError {
  constructor(readonly header: FrameHeader, max: number) {
    super(Code.RESOURCE_EXHAUSTED, `ttrpc: frame header announces ${header.length} bytes on stream ${header.streamId}, over the maximum message size of ${max}`);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Incremental frame decoder. Bytes go in as they arrive from the transport; complete frames come out.
 * A frame that lies whole inside one chunk is handed out as a view of it, without a copy. A frame
 * split across chunks is copied, as its bytes arrive, into one buffer of its exact size, so memory
 * stays bounded by that frame (≤ 4 MiB) and chunks are never held until a frame completes. Its pages
 * are only touched as data arrives: a header alone costs nothing real. A header over the size limit
 * throws OversizedFrameError (the channel closes the connection).
 */
export class FrameReader {
  /** Leading bytes of a header split across chunks (fewer than HEADER_LENGTH). */
  private partialHeader: Buffer = EMPTY;
  /** The frame being collected across chunks, and how much of its data has arrived. */
  private pending: { header: FrameHeader; data: Buffer; filled: number } | null = null;

  constructor(private readonly maxLength: number = MESSAGE_LENGTH_MAX) {}

  /** Feeds bytes and returns every event they complete, in order. */
  push(chunk: Buffer): ReadEvent[] {
    const events: ReadEvent[] = [];
    let pos = 0;
    while (pos < chunk.length) {
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
        throw new OversizedFrameError(header, this.maxLength);
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
