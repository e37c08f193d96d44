// Frame-level guard in front of a byte stream that outlives its peers (a virtio-serial port): bytes a
// departed host left behind, or garbage, must not wedge the next host's session.
const HEADER = 10;
const MAX_DATA = 4 << 20;
const TYPE_REQUEST = 1;
const TYPE_DATA = 3;

/**
 * Splits the byte stream into whole ttrpc frames that a client may send (Request or Data, odd stream
 * id, known flags, ≤ 4 MiB), skipping bytes until a plausible header when it sees anything else. A
 * Request whose stream id does not increase means a new client started over: `onReset` runs before
 * that frame is delivered, so the caller can begin a fresh session.
 */
export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private lastRequestId = 0;
  skipped = 0;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onReset: () => void,
  ) {}

  /** Forgets partial input and the stream-id history (the peer disconnected). */
  reset(): void {
    this.buf = Buffer.alloc(0);
    this.lastRequestId = 0;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.buf.length < HEADER) return;
      const length = this.buf.readUInt32BE(0);
      const streamId = this.buf.readUInt32BE(4);
      const type = this.buf[8]!;
      const flags = this.buf[9]!;
      const plausible = length <= MAX_DATA && (type === TYPE_REQUEST || type === TYPE_DATA) && flags <= 0x7 && streamId % 2 === 1;
      if (!plausible) {
        this.buf = this.buf.subarray(1);
        this.skipped++;
        continue;
      }
      if (this.buf.length < HEADER + length) return;
      const frame = this.buf.subarray(0, HEADER + length);
      this.buf = this.buf.subarray(HEADER + length);
      if (type === TYPE_REQUEST) {
        if (streamId <= this.lastRequestId) this.onReset();
        this.lastRequestId = streamId;
      }
      this.onFrame(Buffer.from(frame));
    }
  }
}
