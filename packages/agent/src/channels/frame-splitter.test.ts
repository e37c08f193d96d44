import { encodeFrame, MessageType } from 'ttrpc-ts';
import { FrameSplitter } from './frame-splitter';

const req = (id: number, body = 'x') => Buffer.from(encodeFrame(id, MessageType.Request, 0, Buffer.from(body)));

describe('FrameSplitter', () => {
  const run = (chunks: Buffer[]) => {
    const events: string[] = [];
    const s = new FrameSplitter((f) => events.push(`frame ${f.readUInt32BE(4)}`), () => events.push('reset'));
    for (const c of chunks) s.push(c);
    return { events, s };
  };

  it('passes whole frames through, across chunk boundaries', () => {
    const all = Buffer.concat([req(1, 'hello'), req(3, 'world')]);
    const { events } = run([all.subarray(0, 7), all.subarray(7, 19), all.subarray(19)]);
    expect(events).toEqual(['frame 1', 'frame 3']);
  });

  it('skips garbage until a plausible header', () => {
    const { events, s } = run([Buffer.from('garbage!'), req(1), Buffer.from([0xff, 0xff, 0xff, 0xff]), req(3)]);
    expect(events).toEqual(['frame 1', 'frame 3']);
    expect(s.skipped).toBeGreaterThan(0);
  });

  it('starts a new session when stream ids go back (a new client after stale bytes)', () => {
    const { events } = run([req(41), req(43), req(1), req(3)]);
    expect(events).toEqual(['frame 41', 'frame 43', 'reset', 'frame 1', 'frame 3']);
  });

  it('refuses responses and even stream ids', () => {
    const resp = Buffer.from(encodeFrame(1, MessageType.Response, 0, Buffer.from('r')));
    const { events } = run([resp, req(2), req(5)]);
    expect(events).toEqual(['frame 5']);
  });

  it('reset() forgets a partial frame', () => {
    const events: string[] = [];
    const s = new FrameSplitter((f) => events.push(`frame ${f.readUInt32BE(4)}`), () => events.push('reset'));
    s.push(req(7, 'a longer body').subarray(0, 12));
    s.reset();
    s.push(req(1));
    expect(events).toEqual(['frame 1']);
  });
});
