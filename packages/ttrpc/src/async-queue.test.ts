import { AsyncQueue } from './async-queue';

describe('AsyncQueue.onceRoom', () => {
  it('calls at once when there is room, else once the consumer takes an item', async () => {
    const q = new AsyncQueue<number>(2);
    const early = jest.fn();
    q.onceRoom(early);
    expect(early).toHaveBeenCalledTimes(1);
    q.push(1);
    q.push(2);
    expect(q.push(3)).toBe(false);
    const room = jest.fn();
    q.onceRoom(room);
    expect(room).not.toHaveBeenCalled();
    await q.next();
    expect(room).toHaveBeenCalledTimes(1);
    await q.next();
    expect(room).toHaveBeenCalledTimes(1);
  });

  it('calls when the queue closes while full: nothing is waited for any more', () => {
    const q = new AsyncQueue<number>(1);
    q.push(1);
    const room = jest.fn();
    q.onceRoom(room);
    q.fail(new Error('gone'));
    expect(room).toHaveBeenCalledTimes(1);
  });
});
