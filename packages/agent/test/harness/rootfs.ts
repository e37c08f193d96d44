import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** Where Debian's busybox-static puts its (static) binary. */
export const BUSYBOX = '/bin/busybox';

/** Makes a minimal container root file system: static busybox and its applet links. */
export function makeBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root']) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a));
  for (const a of applets) {
    if (a === 'busybox') continue;
    try {
      symlinkSync('busybox', path.join(dir, 'bin', a));
    } catch {
      // already there
    }
  }
  chmodSync(path.join(dir, 'tmp'), 0o1777);
  return dir;
}
