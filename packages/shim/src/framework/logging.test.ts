import { LimitedLogger, type Logger } from './logging';

describe('LimitedLogger', () => {
  it('lets a few lines per window through and reports what it suppressed', () => {
    const lines: string[] = [];
    const log = {
      warn: (_o: object, msg: string) => lines.push(msg), info: (_o: object, msg: string) => lines.push(msg),
      error: () => undefined, debug: () => undefined, isLevelEnabled: () => true,
    } as unknown as Logger;
    let now = 0;
    const limited = new LimitedLogger(log, { lines: 2, windowMs: 1000 }, () => now);
    for (let i = 0; i < 5; i++) limited.info({}, `line ${i}`);
    expect(lines).toEqual(['line 0', 'line 1']);
    now = 1000;
    limited.info({}, 'later');
    expect(lines).toEqual(['line 0', 'line 1', 'rate limit: suppressed log lines', 'later']);
  });
});
