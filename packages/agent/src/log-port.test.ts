import { mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { logPortDestination } from './log-port';

describe('log port destination', () => {
  let dir: string;
  let errFd: number;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kata-agent-logport-'));
    errFd = openSync(path.join(dir, 'stderr'), 'w');
  });
  afterEach(() => {
    closeSync(errFd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('never waits: lines the port cannot take are dropped, counted, and reported with the next one', () => {
    const written: string[] = [];
    let full = false;
    const port = { write: (b: Uint8Array) => (full ? 0 : (written.push(Buffer.from(b).toString()), b.length)) };
    const dest = logPortDestination(port, errFd);
    dest.write('{"level":30,"msg":"a"}\n');
    full = true;
    dest.write('{"level":30,"msg":"b"}\n');
    dest.write('{"level":30,"msg":"c"}\n');
    full = false;
    dest.write('{"level":30,"msg":"d"}\n');
    expect(written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; dropped?: number })).toEqual([
      { level: 30, msg: 'a' },
      { level: 40, msg: 'agent log lines dropped (the log port was full or not connected)', dropped: 2 },
      { level: 30, msg: 'd' },
    ]);
    expect(readFileSync(path.join(dir, 'stderr'), 'utf8')).toBe('');
  });

  it('starts a fresh line after a cut-short write, and copies errors to the console', () => {
    const written: string[] = [];
    let limit = 5;
    const port = { write: (b: Uint8Array) => { const n = Math.min(limit, b.length); written.push(Buffer.from(b).subarray(0, n).toString()); return n; } };
    const dest = logPortDestination(port, errFd);
    dest.write('{"level":50,"msg":"boom"}\n');
    limit = 1000;
    dest.write('{"level":30,"msg":"next"}\n');
    expect(written.join('')).toBe('{"lev\n{"level":30,"msg":"next"}\n');
    expect(readFileSync(path.join(dir, 'stderr'), 'utf8')).toBe('{"level":50,"msg":"boom"}\n');
  });

  it('survives a port that throws', () => {
    const dest = logPortDestination({ write: () => { throw new Error('EIO'); } }, errFd);
    expect(() => dest.write('{"level":30,"msg":"x"}\n')).not.toThrow();
  });
});
