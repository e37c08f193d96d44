import { parseTarget } from './host-io';

describe('parseTarget', () => {
  it('understands plain paths and the fifo, file and binary schemes', () => {
    expect(parseTarget('')).toEqual({ kind: 'none' });
    expect(parseTarget('/run/fifo/x-stdout')).toEqual({ kind: 'fifo', path: '/run/fifo/x-stdout' });
    expect(parseTarget('fifo:///run/f')).toEqual({ kind: 'fifo', path: '/run/f' });
    expect(parseTarget('file:///var/log/c.log')).toEqual({ kind: 'file', path: '/var/log/c.log' });
    expect(parseTarget('binary:///usr/bin/logger?id=1&flag=')).toEqual({ kind: 'binary', path: '/usr/bin/logger', args: ['id', '1', 'flag'] });
    expect(() => parseTarget('http://x')).toThrow(/unsupported/);
  });
});
