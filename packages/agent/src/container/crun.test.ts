import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Crun, CrunError } from './crun';

describe('Crun.start without running crun', () => {
  let root: string;
  // A binary that does not exist: any fall-back to running crun shows as a CrunError.
  const crun = () => new Crun({ binary: '/nonexistent/crun', root, noPivot: false });
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'crun-start-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('releases a created container\'s init: one byte through exec.fifo, which is then gone', async () => {
    mkdirSync(path.join(root, 'c1'));
    const fifo = path.join(root, 'c1', 'exec.fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    // The waiting init, as crun create leaves it: the read end open.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await crun().start('c1');
      const buf = Buffer.alloc(4);
      expect(readSync(reader, buf, 0, 4, null)).toBe(1);
      expect(buf[0]).toBe(0);
      expect(existsSync(fifo)).toBe(false);
    } finally {
      closeSync(reader);
    }
  });

  it('leaves a container whose init is not waiting (or already started) to crun, at once', async () => {
    mkdirSync(path.join(root, 'c2'));
    execFileSync('mkfifo', ['-m', '600', path.join(root, 'c2', 'exec.fifo')]);
    await expect(crun().start('c2')).rejects.toBeInstanceOf(CrunError); // no reader: ENXIO, not a hang
    await expect(crun().start('c3')).rejects.toBeInstanceOf(CrunError); // no fifo
  });
});
