import { Duplex } from 'node:stream';
import { Channel } from './channel';
import { ReadEvent } from './frame-reader';
import { MessageType, encodeFrame, encodeHeader } from './framing';
import { Code } from './codes';

/** A transport we feed by hand: push() is what the peer sent. */
function transport(): Duplex {
  return new Duplex({ read() {}, write(_chunk, _enc, cb) { cb(); } });
}

const frames = (...ids: number[]) => Buffer.concat(ids.map((id) => encodeFrame(id, MessageType.Request, 0, Buffer.from('x'))));
const idOf = (e: ReadEvent) => e.frame.streamId;
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

  it('closes the connection at once on a header over the size limit (a 4 GiB claim whose data never comes)', async () => {
    const t = transport();
    const onClose = jest.fn();
    const seen: number[] = [];
    new Channel(t, (e) => (seen.push(idOf(e)), true), onClose);
    t.push(Buffer.concat([frames(1), encodeHeader(3, MessageType.Response, 0, 0xffffffff)]));
    await tick();
    expect(onClose).toHaveBeenCalledWith(expect.objectContaining({
      code: Code.RESOURCE_EXHAUSTED,
      message: 'ttrpc: frame header announces 4294967295 bytes on stream 3, over the maximum message size of 4194304',
    }));
    expect(t.destroyed).toBe(true);
    expect(seen).toEqual([]);
  });
});
