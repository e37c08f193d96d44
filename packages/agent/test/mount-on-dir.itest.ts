// mountOnDir pins the checked directory with a descriptor, so what gets mounted on is what was checked.
// Root only: it really mounts (tmpfs, on a directory of the test's own).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code } from 'ttrpc-ts';
import { mountOnDir } from '../src/storage/mount';

const describeRoot = process.getuid?.() === 0 ? describe : describe.skip;
const mounted = (p: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === p);

describeRoot('mountOnDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kata-mount-'));
  });
  afterEach(() => {
    for (const p of [path.join(dir, 'real'), path.join(dir, 'real', 'sub'), path.join(dir, 'outside')]) if (mounted(p)) execFileSync('umount', [p]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('mounts on the checked directory', async () => {
    const target = path.join(dir, 'real');
    mkdirSync(target);
    await mountOnDir('tmpfs', target, 'tmpfs', ['size=1m', '']);
    expect(mounted(target)).toBe(true);
  });

  it('refuses a symlink, or a path that no longer is the directory it names, and mounts nothing', async () => {
    mkdirSync(path.join(dir, 'outside'));
    symlinkSync(path.join(dir, 'outside'), path.join(dir, 'link'));
    await expect(mountOnDir('tmpfs', path.join(dir, 'link'), 'tmpfs', [])).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    mkdirSync(path.join(dir, 'real', 'sub'), { recursive: true });
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'parent-link'));
    // A checked path is a real path: one that now goes through a symlinked parent resolves elsewhere.
    await expect(mountOnDir('tmpfs', path.join(dir, 'parent-link', 'sub'), 'tmpfs', [])).rejects.toThrow(/replaced/);
    expect(mounted(path.join(dir, 'outside'))).toBe(false);
    expect(mounted(path.join(dir, 'real', 'sub'))).toBe(false);
  });
});
