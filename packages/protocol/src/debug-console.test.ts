import { ConsoleFrameDecoder, ConsoleProtocolError, encodeData, encodeFrame, FrameType, GUEST_FRAMES, HOST_FRAMES, MAX_PAYLOAD, type ConsoleFrame } from './debug-console';

describe('debug console framing', () => {
  it.each<[string, ConsoleFrame, ReadonlySet<number>]>([
    ['open', { type: FrameType.OPEN, rows: 40, cols: 132 }, HOST_FRAMES],
    ['input', { type: FrameType.INPUT, data: Buffer.from('ls /run\r') }, HOST_FRAMES],
    ['resize', { type: FrameType.RESIZE, rows: 25, cols: 80 }, HOST_FRAMES],
    ['output', { type: FrameType.OUTPUT, data: Buffer.from([0, 1, 0xff]) }, GUEST_FRAMES],
    ['exit', { type: FrameType.EXIT, status: 130 }, GUEST_FRAMES],
    ['error', { type: FrameType.ERROR, message: 'no /bin/sh' }, GUEST_FRAMES],
  ])('round-trips %s', (_name, f, allowed) => {
    expect(new ConsoleFrameDecoder(allowed).push(encodeFrame(f))).toEqual([f]);
  });

  it('lays a resize out as type, u32 BE length, rows and cols as u16 BE', () => {
    expect([...encodeFrame({ type: FrameType.RESIZE, rows: 0x102, cols: 80 })]).toEqual([3, 0, 0, 0, 4, 1, 2, 0, 80]);
  });

  it('clamps window sizes to u16 (0: unknown)', () => {
    const [f] = new ConsoleFrameDecoder(HOST_FRAMES).push(encodeFrame({ type: FrameType.OPEN, rows: 1e6, cols: Number.NaN }));
    expect(f).toEqual({ type: FrameType.OPEN, rows: 0xffff, cols: 0 });
  });

  it('reassembles frames split at every byte, and several in one chunk', () => {
    const frames: ConsoleFrame[] = [
      { type: FrameType.OUTPUT, data: Buffer.from('hello') },
      { type: FrameType.OUTPUT, data: Buffer.alloc(0) },
      { type: FrameType.EXIT, status: 3 },
    ];
    const bytes = Buffer.concat(frames.map(encodeFrame));
    const d = new ConsoleFrameDecoder(GUEST_FRAMES);
    const got: ConsoleFrame[] = [];
    for (const b of bytes) got.push(...d.push(Buffer.from([b])));
    expect(got).toEqual(frames);
    expect(new ConsoleFrameDecoder(GUEST_FRAMES).push(bytes)).toEqual(frames);
  });

  it('cuts long data into frames of at most MAX_PAYLOAD', () => {
    const data = Buffer.alloc(MAX_PAYLOAD * 2 + 7, 'x');
    const frames = encodeData(FrameType.INPUT, data);
    expect(frames.map((f) => f.length - 5)).toEqual([MAX_PAYLOAD, MAX_PAYLOAD, 7]);
    const out = new ConsoleFrameDecoder(HOST_FRAMES).push(Buffer.concat(frames));
    expect(Buffer.concat(out.map((f) => (f as { data: Buffer }).data))).toEqual(data);
  });

  it.each<[string, Buffer, ReadonlySet<number>]>([
    // The guest must not be able to send keystrokes-to-self or fake a host frame; the host no output.
    ['a host frame from the guest', encodeFrame({ type: FrameType.INPUT, data: Buffer.from('x') }), GUEST_FRAMES],
    ['a guest frame from the host', encodeFrame({ type: FrameType.EXIT, status: 0 }), HOST_FRAMES],
    ['an unknown type', Buffer.from([99, 0, 0, 0, 0]), GUEST_FRAMES],
    // Refused from the header alone: a reader never buffers a frame over the limit.
    ['an oversized length', Buffer.from([FrameType.OUTPUT, 0xff, 0xff, 0xff, 0xff]), GUEST_FRAMES],
    ['a short exit status', Buffer.from([FrameType.EXIT, 0, 0, 0, 1, 7]), GUEST_FRAMES],
    ['a resize of the wrong size', Buffer.from([FrameType.RESIZE, 0, 0, 0, 2, 1, 2]), HOST_FRAMES],
  ])('refuses %s', (_name, bytes, allowed) => {
    expect(() => new ConsoleFrameDecoder(allowed).push(bytes)).toThrow(ConsoleProtocolError);
  });

  it('forgets a partial frame on reset', () => {
    const d = new ConsoleFrameDecoder(GUEST_FRAMES);
    expect(d.push(encodeFrame({ type: FrameType.EXIT, status: 1 }).subarray(0, 6))).toEqual([]);
    d.reset();
    expect(d.push(encodeFrame({ type: FrameType.EXIT, status: 2 }))).toEqual([{ type: FrameType.EXIT, status: 2 }]);
  });
});
