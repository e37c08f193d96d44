import { FrameReader, OversizedFrameError } from './frame-reader';
import { encodeFrame, Flag, HEADER_LENGTH, MessageType } from './framing';

describe('FrameReader', () => {
  const frameA = encodeFrame(1, MessageType.Request, 0, Buffer.from('hello'));
  const frameB = encodeFrame(3, MessageType.Data, Flag.RemoteClosed | Flag.NoData, Buffer.alloc(0));

  it('decodes several frames from one chunk', () => {
    const events = new FrameReader().push(Buffer.concat([frameA, frameB]));
    expect(events.map((e) => e.kind === 'frame' && [e.frame.streamId, e.frame.type, e.frame.flags, e.frame.data.toString()])).toEqual([
      [1, MessageType.Request, 0, 'hello'],
      [3, MessageType.Data, Flag.RemoteClosed | Flag.NoData, ''],
    ]);
  });

  it('reassembles frames split at every byte boundary', () => {
    const bytes = Buffer.concat([frameA, frameB, frameA]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const reader = new FrameReader();
      const events = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(events).toHaveLength(3);
    }
    const reader = new FrameReader();
    const oneByOne = [...bytes].flatMap((b) => reader.push(Buffer.from([b])));
    expect(oneByOne.map((e) => e.kind === 'frame' && e.frame.streamId)).toEqual([1, 3, 1]);
  });

  it('throws on a header over the size limit, whether its data comes or not, and wherever the header is cut', () => {
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt32BE(17, 0);
    header.writeUInt32BE(5, 4);
    header[8] = MessageType.Request;
    expect(() => new FrameReader(16).push(Buffer.concat([header, Buffer.alloc(17)]))).toThrow(OversizedFrameError);
    const reader = new FrameReader(16);
    expect(reader.push(Buffer.concat([frameA, header.subarray(0, 4)]))).toHaveLength(1);
    expect(() => reader.push(header.subarray(4))).toThrow('ttrpc: frame header announces 17 bytes on stream 5, over the maximum message size of 16');
    // Exactly the limit is a frame.
    header.writeUInt32BE(16, 0);
    expect(new FrameReader(16).push(Buffer.concat([header, Buffer.alloc(16)]))).toHaveLength(1);
  });

  it('hands out a frame inside one chunk as a view, and collects a split one into a buffer of its size', () => {
    const big = encodeFrame(9, MessageType.Data, 0, Buffer.alloc(100_000, 5));
    const chunk = Buffer.concat([frameA, big.subarray(0, 30_000)]);
    const reader = new FrameReader();
    const first = reader.push(chunk);
    expect(first).toHaveLength(1);
    expect(first[0]!.kind === 'frame' && first[0]!.frame.data.buffer).toBe(chunk.buffer);
    expect(reader.push(big.subarray(30_000, 60_000))).toEqual([]);
    const [last] = reader.push(big.subarray(60_000));
    const data = last!.kind === 'frame' ? last!.frame.data : Buffer.alloc(0);
    expect(data.length).toBe(100_000);
    expect(data.byteLength).toBe(data.buffer.byteLength); // its own buffer, not a slice of a larger one
    expect(data.every((b) => b === 5)).toBe(true);
  });
});
