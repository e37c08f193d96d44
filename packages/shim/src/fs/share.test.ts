import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { submountTarget } from './share';

describe('submountTarget (where a containerd sub-mount goes below a rootfs)', () => {
  let dir: string;
  let rootfs: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-submount-'));
    rootfs = path.join(dir, 'rootfs');
    await fs.mkdir(path.join(rootfs, 'var', 'lib'), { recursive: true });
    await fs.mkdir(path.join(dir, 'outside'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps the target below the rootfs, whatever its .. say', async () => {
    expect(await submountTarget(rootfs, 'var/lib')).toBe(path.join(rootfs, 'var/lib'));
    expect(await submountTarget(rootfs, '../../../var/lib')).toBe(path.join(rootfs, 'var/lib'));
    expect(await submountTarget(rootfs, '/var/../var/lib/new')).toBe(path.join(rootfs, 'var/lib/new'));
  });

  it.each([
    ['an absolute link to a host directory', (outside: string) => outside],
    ['a relative link that climbs out', () => '../../outside'],
    ['a link to /', () => '/'],
  ])('refuses a path through %s that the image planted (INVALID_ARGUMENT), at any depth', async (_what, target) => {
    await fs.symlink(target(path.join(dir, 'outside')), path.join(rootfs, 'data'));
    await fs.symlink(target(path.join(dir, 'outside')), path.join(rootfs, 'var', 'lib', 'data'));
    await expect(submountTarget(rootfs, 'data')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(submountTarget(rootfs, 'data/sub')).rejects.toThrow(/goes through a symlink/);
    await expect(submountTarget(rootfs, 'var/lib/data/sub')).rejects.toThrow(/goes through a symlink/);
  });
});
