import { PassThrough } from 'node:stream';
import type { Logger } from '../framework/logging';
import { forwardGuestLog, parseGuestLogLine } from './guest-log';

describe('guest log', () => {
  it('keeps the agent\'s level, message and scalar fields, renaming the ones that are the shim\'s', () => {
    const line = JSON.stringify({ level: 40, time: '2026-12-03T00:00:00Z', pid: 7, name: 'kata-agent', msg: 'mount failed', sandbox: 'other-pod', subsystem: 'storage', err: 'ENOENT', n: 3, ok: false, nested: { a: 1 } });
    expect(parseGuestLogLine(line)).toEqual({
      level: 'warn',
      msg: 'mount failed',
      fields: { guestTime: '2026-12-03T00:00:00Z', guestPid: 7, guestName: 'kata-agent', guestSandbox: 'other-pod', guestSubsystem: 'storage', err: 'ENOENT', n: 3, ok: false },
    });
    expect(parseGuestLogLine(JSON.stringify({ level: 10, msg: 'x' })).level).toBe('debug');
    expect(parseGuestLogLine(JSON.stringify({ level: 60, msg: 'x' })).level).toBe('error');
  });

  it('logs anything else as text, and bounds what it copies', () => {
    expect(parseGuestLogLine('[    1.234] kernel says hi')).toEqual({ level: 'info', msg: 'guest log', fields: { line: '[    1.234] kernel says hi' } });
    expect(parseGuestLogLine('[1,2]').fields).toEqual({ line: '[1,2]' });
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v'.repeat(10_000)]));
    const r = parseGuestLogLine(JSON.stringify({ level: 30, msg: 'm'.repeat(5000), ...many, 'bad key': 1, __proto__x: 1 }));
    expect(Object.keys(r.fields)).toHaveLength(16);
    expect(Object.values(r.fields).every((v) => String(v).length <= 4096)).toBe(true);
    expect(r.msg).toHaveLength(512);
    expect(r.fields).not.toHaveProperty('bad key');
  });

  it('forwards each line of the stream through the shim\'s logger, rate-limited', async () => {
    const seen: Array<[string, object, string]> = [];
    const at = (level: string) => (o: object, msg: string) => void seen.push([level, o, msg]);
    const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), isLevelEnabled: () => true } as unknown as Logger;
    const stream = new PassThrough();
    forwardGuestLog(stream, log);
    stream.write(`${JSON.stringify({ level: 30, msg: 'agent started', version: '0.1.0' })}\n{"level":50,"msg":"split `);
    stream.write('line"}\n');
    for (let i = 0; i < 300; i++) stream.write(`${JSON.stringify({ level: 30, msg: `flood ${i}` })}\n`);
    stream.end();
    await new Promise((r) => setImmediate(r));
    expect(seen[0]).toEqual(['info', { version: '0.1.0' }, 'agent started']);
    expect(seen[1]).toEqual(['error', {}, 'split line']);
    expect(seen).toHaveLength(200);
  });
});
