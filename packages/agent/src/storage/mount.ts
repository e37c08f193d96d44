import { promises as fs } from 'node:fs';
import { InvalidArgumentError } from '../errors';
import { fdPath } from '../safe-path';
import { run, runWithFd } from '../system/exec';

/** Mount points from /proc/self/mountinfo (field 5, with octal escapes decoded). */
export async function mountPoints(): Promise<Set<string>> {
  return parseMountPoints(await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
}

/** Mount points of a mountinfo text. */
export function parseMountPoints(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[4]) out.add(f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** True when `p` is a mount point. */
export async function isMountPoint(p: string): Promise<boolean> {
  return (await mountPoints()).has(p);
}

/** Filesystem types the kernel knows now (/proc/filesystems). */
export function parseFilesystems(text: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '').filter(Boolean));
}

/**
 * Makes sure the kernel can mount `fstype`: the guest image ships some filesystems as modules that
 * are not loaded at boot (images/lib/modules.list "ondemand"), so load it when it is not there yet.
 * The caller has validated the name (lowercase letters and digits).
 */
export async function ensureFilesystem(fstype: string): Promise<void> {
  const known = parseFilesystems(await fs.readFile('/proc/filesystems', 'utf8').catch(() => ''));
  if (known.has(fstype)) return;
  await run('modprobe', [fstype]);
}

/** mount(8) with the given type, source and options (no shell). */
export async function mount(source: string, target: string, fstype: string, options: string[]): Promise<void> {
  const args = ['-t', fstype];
  const opts = options.filter((o) => o.length > 0).join(',');
  if (opts) args.push('-o', opts);
  args.push(source, target);
  await run('mount', args);
}

let noCanonicalize: Promise<string[]> | undefined;

/**
 * The flag that makes mount(8) hand its arguments to mount(2) as given. util-linux's mount resolves
 * the mount point to a path string first (/proc/self/fd/3 becomes the directory's path again, which
 * a racing symlink swap can redirect) unless told --no-canonicalize; busybox's mount (the guest's)
 * passes it through and rejects that flag.
 */
function canonicalizeOff(): Promise<string[]> {
  noCanonicalize ??= run('mount', ['--version']).then((out) => (out.includes('util-linux') ? ['--no-canonicalize'] : []), () => []);
  return noCanonicalize;
}

/**
 * mount(8) onto a directory that was checked to be inside the allowed roots (`target`, a real path),
 * without a window between the check and the mount: the directory is opened (no symlink followed at
 * the end), the descriptor's real path must still be `target`, and mount(8) gets it as
 * /proc/self/fd/3 (not canonicalized), which the kernel resolves to that very directory whatever the
 * path points at by then.
 */
export async function mountOnDir(source: string, target: string, fstype: string, options: string[]): Promise<void> {
  const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;
  const dir = await fs.open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`mount point ${target} is not a plain directory (${err.code ?? err.message})`);
  });
  try {
    const now = await fdPath(dir.fd);
    if (now !== target) throw new InvalidArgumentError(`mount point ${target} was replaced while being mounted (now ${now})`);
    const args = [...(await canonicalizeOff()), '-t', fstype];
    const opts = options.filter((o) => o.length > 0).join(',');
    if (opts) args.push('-o', opts);
    await runWithFd('mount', [...args, source, '/proc/self/fd/3'], dir.fd);
  } finally {
    await dir.close();
  }
}

/** umount(8); a lazy detach when the mount is busy. */
export async function umount(target: string): Promise<void> {
  try {
    await run('umount', [target]);
  } catch {
    await run('umount', ['-l', target]);
  }
}
