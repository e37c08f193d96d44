/**
 * The debug console's wire format (kata-ts exec): the frames on the VM's console port
 * (virtio-serial agent.console.0) between the host and the shell the agent runs on a pty, relayed
 * unchanged by the shim's console socket. A byte stream cannot carry a window size or an exit status
 * beside the terminal's own bytes, hence frames:
 *
 *   offset 0  u8      type (below)
 *   offset 1  u32 BE  payload length, at most MAX_PAYLOAD
 *   offset 5  payload
 *
 *   host -> guest   OPEN    rows u16 BE, cols u16 BE   start a shell (ends one still running)
 *                   INPUT   bytes                      keystrokes for the pty
 *                   RESIZE  rows u16 BE, cols u16 BE   the host terminal changed size
 *   guest -> host   OUTPUT  bytes                      what the pty printed
 *                   EXIT    status u32 BE              the shell ended: its code, or 128 + signal
 *                   ERROR   UTF-8 text                 no shell could be started
 *
 * Both ends treat the other's bytes as untrusted: a frame of an unknown type, of a type the peer
 * may not send, or longer than MAX_PAYLOAD is an error (the reader hangs up), so a reader never
 * holds more than one frame.
 */

export const FrameType = {
  OPEN: 1,
  INPUT: 2,
  RESIZE: 3,
  OUTPUT: 4,
  EXIT: 5,
  ERROR: 6,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Under a virtio-serial port's 32 KiB write, so a frame reaches the port in one write. */
export const MAX_PAYLOAD = 16 * 1024;
export const HEADER_SIZE = 5;

/** What the host may send, and what the guest may send. */
export const HOST_FRAMES: ReadonlySet<number> = new Set([FrameType.OPEN, FrameType.INPUT, FrameType.RESIZE]);
export const GUEST_FRAMES: ReadonlySet<number> = new Set([FrameType.OUTPUT, FrameType.EXIT, FrameType.ERROR]);

export type ConsoleFrame =
  | { type: typeof FrameType.OPEN | typeof FrameType.RESIZE; rows: number; cols: number }
  | { type: typeof FrameType.INPUT | typeof FrameType.OUTPUT; data: Buffer }
  | { type: typeof FrameType.EXIT; status: number }
  | { type: typeof FrameType.ERROR; message: string };

function frame(type: FrameType, payload: Buffer): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`console frame payload ${payload.length} > ${MAX_PAYLOAD}`);
  const header = Buffer.alloc(HEADER_SIZE);
  header[0] = type;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** A window size as u16s (0 when unknown: the pty keeps its size). */
function size(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.floor(rows) || 0)), 0);
  b.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.floor(cols) || 0)), 2);
  return b;
}

/** One frame's bytes; INPUT and OUTPUT data longer than MAX_PAYLOAD must go through encodeData. */
export function encodeFrame(f: ConsoleFrame): Buffer {
  switch (f.type) {
    case FrameType.OPEN:
    case FrameType.RESIZE:
      return frame(f.type, size(f.rows, f.cols));
    case FrameType.INPUT:
    case FrameType.OUTPUT:
      return frame(f.type, f.data);
    case FrameType.EXIT: {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(f.status >>> 0, 0);
      return frame(f.type, b);
    }
    case FrameType.ERROR:
      return frame(f.type, Buffer.from(f.message, 'utf8').subarray(0, MAX_PAYLOAD));
  }
}

/** Data as INPUT or OUTPUT frames of at most MAX_PAYLOAD bytes each. */
export function encodeData(type: typeof FrameType.INPUT | typeof FrameType.OUTPUT, data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_PAYLOAD) frames.push(encodeFrame({ type, data: data.subarray(off, off + MAX_PAYLOAD) }));
  return frames;
}

export class ConsoleProtocolError extends Error {}

function decodePayload(type: number, payload: Buffer): ConsoleFrame {
  switch (type) {
    case FrameType.OPEN:
    case FrameType.RESIZE:
      if (payload.length !== 4) throw new ConsoleProtocolError(`console frame ${type}: ${payload.length} bytes, want 4`);
      return { type, rows: payload.readUInt16BE(0), cols: payload.readUInt16BE(2) };
    case FrameType.INPUT:
    case FrameType.OUTPUT:
      return { type, data: payload };
    case FrameType.EXIT:
      if (payload.length !== 4) throw new ConsoleProtocolError(`console exit frame: ${payload.length} bytes, want 4`);
      return { type, status: payload.readUInt32BE(0) };
    case FrameType.ERROR:
      return { type, message: payload.toString('utf8') };
    default:
      throw new ConsoleProtocolError(`unknown console frame type ${type}`);
  }
}

/**
 * Splits a byte stream into frames of the `allowed` types. push() returns the whole frames the
 * bytes completed and keeps at most one partial frame; it throws ConsoleProtocolError on a frame
 * the peer may not send (the stream is then unusable: the caller hangs up).
 */
export class ConsoleFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly allowed: ReadonlySet<number>) {}

  push(chunk: Buffer): ConsoleFrame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: ConsoleFrame[] = [];
    while (this.pending.length >= HEADER_SIZE) {
      const type = this.pending[0]!;
      const length = this.pending.readUInt32BE(1);
      if (!this.allowed.has(type)) throw new ConsoleProtocolError(`console frame type ${type} not allowed here`);
      if (length > MAX_PAYLOAD) throw new ConsoleProtocolError(`console frame of ${length} bytes (limit ${MAX_PAYLOAD})`);
      if (this.pending.length < HEADER_SIZE + length) break;
      // A copy: the frame must not pin the (possibly large) chunk it came in.
      const payload = Buffer.from(this.pending.subarray(HEADER_SIZE, HEADER_SIZE + length));
      this.pending = this.pending.subarray(HEADER_SIZE + length);
      frames.push(decodePayload(type, payload));
    }
    // Never more than one partial frame: a peer that floods without framing fails above, not here.
    if (this.pending.length > 0) this.pending = Buffer.from(this.pending);
    return frames;
  }

  /** Forgets a partial frame (the peer went away). */
  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}
