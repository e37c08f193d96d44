import { promises as fs, lstatSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import type { Logger } from '../logging';
import { mount, parseMountPoints } from '../storage/mount';

/** What a container host needs mounted, in order (Kata's general_mount plus cgroup2). */
export const BOOT_MOUNTS: ReadonlyArray<{ target: string; fstype: string; source: string; options: string[]; mode?: number }> = [
  { target: '/proc', fstype: 'proc', source: 'proc', options: ['nosuid', 'nodev', 'noexec'] },
  { target: '/sys', fstype: 'sysfs', source: 'sysfs', options: ['nosuid', 'nodev', 'noexec'] },
  { target: '/dev', fstype: 'devtmpfs', source: 'devtmpfs', options: ['nosuid', 'mode=0755'] },
  { target: '/dev/pts', fstype: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
  { target: '/dev/shm', fstype: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'mode=1777'] },
  { target: '/sys/fs/cgroup', fstype: 'cgroup2', source: 'cgroup2', options: ['nosuid', 'nodev', 'noexec', 'nsdelegate'] },
  { target: '/run', fstype: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=0755'] },
  { target: '/tmp', fstype: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
];

/**
 * Mounts whatever of BOOT_MOUNTS is missing (the image's init normally did it already, then this
 * costs one read of mountinfo). Failures are logged: a missing /tmp must not keep the agent down.
 */
export async function ensureBootMounts(log: Logger): Promise<void> {
  // Synchronous reads: at boot the thread pool is cold and this must not wait behind it.
  const read = (): Set<string> => parseMountPoints((() => {
    try {
      return readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return '';
    }
  })());
  let present = read();
  if (present.size === 0) {
    await fs.mkdir('/proc', { recursive: true }).catch(() => undefined);
    await mount('proc', '/proc', 'proc', ['nosuid', 'nodev', 'noexec']).catch(() => undefined);
    present = read();
  }
  for (const m of BOOT_MOUNTS) {
    if (present.has(m.target)) continue;
    try {
      await fs.mkdir(m.target, { recursive: true });
      await mount(m.source, m.target, m.fstype, m.options);
      log.info({ target: m.target, fstype: m.fstype }, 'mounted');
    } catch (err) {
      log.warn({ target: m.target, err: (err as Error).message }, 'boot mount failed');
    }
  }
  // /dev/ptmx must be the devpts instance's (Kata: /dev/ptmx -> /dev/pts/ptmx).
  try {
    if (!lstatSync('/dev/ptmx').isSymbolicLink() && statSync('/dev/pts/ptmx')) {
      rmSync('/dev/ptmx');
      symlinkSync('pts/ptmx', '/dev/ptmx');
    }
  } catch {
    // no devpts instance: leave /dev/ptmx alone
  }
}

/**
 * True when / is the initial ramfs itself, where crun's pivot_root fails (EINVAL: the root mount has
 * no parent). An init that bind-mounted the initramfs onto itself gave / a parent: pivot_root works.
 */
export function rootIsInitramfs(): boolean {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false;
  }
  // The last mount on "/" is the one in effect (an init may have bind-mounted the initramfs onto itself).
  let initial = false;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[4] !== '/') continue;
    // The initial root mount is its own parent.
    initial = f[f.indexOf('-') + 1] === 'rootfs' && f[0] === f[1];
  }
  return initial;
}
