import { parseIoStat, parseKeyValues, parseLimit, parsePids, sharesToWeight } from './parse';

describe('cgroup v2 parsers', () => {
  it('parses key/value files', () => {
    const m = parseKeyValues('usage_usec 1200\nuser_usec 1000\nsystem_usec 200\nnr_periods 0\n');
    expect(m.get('usage_usec')).toBe(1200);
    expect(m.get('system_usec')).toBe(200);
    expect(parseKeyValues('low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n').get('oom_kill')).toBe(1);
  });

  it('parses limits ("max" is none)', () => {
    expect(parseLimit('max\n')).toBeUndefined();
    expect(parseLimit('1048576\n')).toBe(1048576);
  });

  it('parses io.stat', () => {
    const [e] = parseIoStat('254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n');
    expect(e).toMatchObject({ major: 254, minor: 0 });
    expect(e!.values.get('wbytes')).toBe(8192);
  });

  it('parses cgroup.procs', () => {
    expect(parsePids('12\n34\n\n')).toEqual([12, 34]);
  });

  it('converts cpu shares to weight as runc/crun do', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(0)).toBe(0);
  });
});
