import { parseMountInfo, submountsOf } from './mount';

const MOUNTINFO = [
  '87 27 0:50 / /tmp/src/tmpfs rw,relatime - tmpfs none rw',
  '88 27 254:0 /tmp/src /share/mounts/c-1-mnt ro,relatime - ext4 /dev/vda rw',
  '89 88 0:50 / /share/mounts/c-1-mnt/tmpfs rw,relatime - tmpfs none rw',
  '90 89 0:51 / /share/mounts/c-1-mnt/tmpfs/deep ro,nosuid - tmpfs none rw',
  '91 88 0:52 / /share/mounts/c-1-mnt/with\\040space rw - tmpfs none rw',
  '92 27 0:53 / /share/mounts/c-1-mntx rw - tmpfs none rw',
  '93 88 0:54 / /share/mounts/c-1-mnt/tmpfs ro - tmpfs none rw',
].join('\n');

describe('parseMountInfo', () => {
  it('reads mount points (unescaped) and the per-mount read-only flag, not the filesystem options', () => {
    const table = parseMountInfo(`${MOUNTINFO}\n`);
    expect(table[1]).toEqual({ mountPoint: '/share/mounts/c-1-mnt', readonly: true });
    expect(table[0]).toEqual({ mountPoint: '/tmp/src/tmpfs', readonly: false });
    expect(table[4]?.mountPoint).toBe('/share/mounts/c-1-mnt/with space');
  });
});

describe('submountsOf', () => {
  it('lists the mounts strictly below a directory, parents first, the last of stacked mounts winning', () => {
    expect(submountsOf(parseMountInfo(MOUNTINFO), '/share/mounts/c-1-mnt')).toEqual([
      { path: 'with space', readonly: false },
      { path: 'tmpfs', readonly: true },
      { path: 'tmpfs/deep', readonly: true },
    ]);
  });

  it('is empty for a directory with nothing mounted below it', () => {
    expect(submountsOf(parseMountInfo(MOUNTINFO), '/share/mounts/c-1-mntx')).toEqual([]);
  });
});
