import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
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

describe('Crun verbs run here, with the fixed layout', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'crun-fixed-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in kata-runner: records its argv, then runs what follows `fixed --` as the real one does. */
  function standInRunner(): { runner: string; argv: () => string } {
    const runner = path.join(dir, 'runner.sh');
    const log = path.join(dir, 'argv');
    writeFileSync(runner, `#!/bin/sh\necho "$@" > ${log}\n[ "$1" = fixed ] && [ "$2" = -- ] || exit 99\nshift 2\nexec "$@"\n`, { mode: 0o755 });
    return { runner, argv: () => readFileSync(log, 'utf8').trim() };
  }

  it('goes through `kata-runner fixed --` when the layout is fixed', async () => {
    const { runner, argv } = standInRunner();
    const crun = new Crun({ binary: '/bin/true', root: '/r', noPivot: false, fixedLayout: true, runner: () => runner });
    await crun.delete('c1');
    expect(argv()).toBe('fixed -- /bin/true --root /r delete --force c1');
    await crun.pause('c1');
    expect(argv()).toBe('fixed -- /bin/true --root /r pause c1');
  });

  it('runs crun itself otherwise, and keeps crun\'s failure as a CrunError', async () => {
    const { runner, argv } = standInRunner();
    await new Crun({ binary: '/bin/true', root: '/r', noPivot: false, runner: () => runner }).delete('c1');
    expect(() => argv()).toThrow(/ENOENT/);
    await expect(new Crun({ binary: '/bin/false', root: '/r', noPivot: false, fixedLayout: true, runner: () => runner }).resume('c1'))
      .rejects.toBeInstanceOf(CrunError);
    expect(argv()).toBe('fixed -- /bin/false --root /r resume c1');
  });
});
