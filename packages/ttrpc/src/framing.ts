/**
 * ttrpc framing. Every frame is a 10-byte big-endian header followed by `length` bytes of data:
 *
 *   offset 0  uint32  length     data length, header excluded (≤ MESSAGE_LENGTH_MAX)
 *   offset 4  uint32  stream id  odd for client-initiated streams
 *   offset 8  uint8   type       MessageType
 *   offset 9  uint8   flags      Flag bits, meaning depends on the type
 */
export const HEADER_LENGTH = 10;

/** Largest data length either side accepts (4 MiB), as in Go's messageLengthMax. */
export const MESSAGE_LENGTH_MAX = 4 << 20;

export enum MessageType {
  Request = 0x01,
  Response = 0x02,
  Data = 0x03,
}

/** Flag bits, named from the receiving peer's perspective as in ttrpc's PROTOCOL.md. */
export const Flag = {
  /** The sender will send nothing more on this stream. */
  RemoteClosed: 0x01,
  /** The sender will keep sending Data frames (client-streaming request). */
  RemoteOpen: 0x02,
  /** The frame carries no message, not even an empty one. */
  NoData: 0x04,
} as const;

export interface FrameHeader {
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

export interface Frame extends FrameHeader {
  data: Buffer;
}

function writeHeader(buf: Buffer, length: number, streamId: number, type: MessageType, flags: number): void {
  buf.writeUInt32BE(length, 0);
  buf.writeUInt32BE(streamId >>> 0, 4);
  buf[8] = type;
  buf[9] = flags;
}

/** Encodes a header alone, for frames whose (large) data is written separately without a copy. */
export function encodeHeader(streamId: number, type: MessageType, flags: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_LENGTH);
  writeHeader(buf, length, streamId, type, flags);
  return buf;
}

/** Encodes one whole frame (header + data) into a single buffer, so it is written with one syscall. */
export function encodeFrame(streamId: number, type: MessageType, flags: number, data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + data.length);
  writeHeader(buf, data.length, streamId, type, flags);
  buf.set(data, HEADER_LENGTH);
  return buf;
}

export function readHeader(buf: Buffer, offset: number): FrameHeader {
  return {
    length: buf.readUInt32BE(offset),
    streamId: buf.readUInt32BE(offset + 4),
    type: buf[offset + 8]!,
    flags: buf[offset + 9]!,
  };
}
