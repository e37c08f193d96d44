import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itNeeding, rootSkipReason } from '../../../../e2e/harness/host-requirements';
import { makeDirs } from './make-dirs';

describe('makeDirs', () => {
  it('makes every missing component', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-mkdirs-'));
    await makeDirs(path.join(dir, 'a', 'b', 'c'), 0o700);
    expect((await fs.stat(path.join(dir, 'a', 'b', 'c'))).isDirectory()).toBe(true);
    await makeDirs(path.join(dir, 'a', 'b', 'c'), 0o700);
    await fs.rm(dir, { recursive: true, force: true });
  });

  // A tmpfs with three inodes: its root, one file, and room for one directory more.
  itNeeding(rootSkipReason(), 'reports ENOSPC (not ENOENT) on a filesystem out of inodes, and removes what it made', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-mkdirs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,nr_inodes=3', 'tmpfs', dir]);
    try {
      await fs.writeFile(path.join(dir, 'file'), '');
      await expect(makeDirs(path.join(dir, 'sbs', 'id', 'vm'), 0o700)).rejects.toMatchObject({ code: 'ENOSPC' });
      expect((await fs.readdir(dir)).sort()).toEqual(['file']);
      // What Node's recursive mkdir does there: ENOENT, and 'sbs' left behind.
      await expect(fs.mkdir(path.join(dir, 'sbs', 'id', 'vm'), { recursive: true })).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await fs.readdir(dir)).sort()).toEqual(['file', 'sbs']);
    } finally {
      execFileSync('umount', [dir]);
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
