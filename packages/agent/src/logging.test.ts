import { LogLimiter } from './logging';

describe('LogLimiter', () => {
  it('lets a burst through per key, then counts what it drops', () => {
    const l = new LogLimiter(2, 1000);
    expect(l.take('a', 0)).toBe(0);
    expect(l.take('a', 1)).toBe(0);
    expect(l.take('a', 2)).toBe(-1);
    expect(l.take('a', 3)).toBe(-1);
    expect(l.take('b', 3)).toBe(0);
    expect(l.take('a', 1000)).toBe(2);
  });
});
