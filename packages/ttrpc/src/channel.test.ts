import { Duplex } from 'node:stream';
import { Channel } from './channel';
import { ReadEvent } from './frame-reader';
import { MessageType, encodeFrame } from './framing';

/** A transport we feed by hand: push() is what the peer sent. */
function transport(): Duplex {
  return new Duplex({ read() {}, write(_chunk, _enc, cb) { cb(); } });
}

const frames = (...ids: number[]) => Buffer.concat(ids.map((id) => encodeFrame(id, MessageType.Request, 0, Buffer.from('x'))));
const idOf = (e: ReadEvent) => (e.kind === 'frame' ? e.frame.streamId : e.header.streamId);
const tick = () => new Promise((r) => setImmediate(r));

describe('Channel', () => {
  it('holds a refused event and everything after it, pausing the transport, until resumeDelivery', async () => {
    const t = transport();
    const seen: number[] = [];
    let refuse = true;
    const channel = new Channel(t, (e) => {
      if (idOf(e) === 3 && refuse) return false;
      seen.push(idOf(e));
      return true;
    }, () => undefined);
    t.push(frames(1, 3, 5));
    await tick();
    expect(seen).toEqual([1]);
    expect(t.isPaused()).toBe(true);
    refuse = false;
    channel.resumeDelivery();
    await tick();
    expect(seen).toEqual([1, 3, 5]);
    expect(t.isPaused()).toBe(false);
    t.push(frames(7));
    await tick();
    expect(seen).toEqual([1, 3, 5, 7]);
  });

  it('closes the connection, not the process, when handling a frame throws', async () => {
    const t = transport();
    const onClose = jest.fn();
    new Channel(t, () => { throw new Error('handler bug'); }, onClose);
    t.push(frames(1));
    await tick();
    expect(onClose).toHaveBeenCalledWith(expect.objectContaining({ message: 'handler bug' }));
    expect(t.destroyed).toBe(true);
  });
});
