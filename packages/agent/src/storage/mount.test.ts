import { parseFilesystems, parseMountPoints } from './mount';

describe('mount helpers', () => {
  it('reads the filesystem types of /proc/filesystems, nodev or not', () => {
    const fs = parseFilesystems('nodev\tsysfs\nnodev\ttmpfs\n\text4\n\terofs\nnodev\t9p\n');
    expect([...fs].sort()).toEqual(['9p', 'erofs', 'ext4', 'sysfs', 'tmpfs']);
    expect(fs.has('nodev')).toBe(false);
  });

  it('decodes mount points of mountinfo, octal escapes included', () => {
    const mi = '36 35 98:0 / /run/a\\040b rw - ext4 /dev/vdb rw\n37 35 0:5 / /proc rw - proc proc rw\n';
    expect([...parseMountPoints(mi)]).toEqual(['/run/a b', '/proc']);
  });
});
