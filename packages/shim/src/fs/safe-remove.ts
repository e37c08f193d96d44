/**
 * Removing a directory tree the guest may have touched, without ever following a symlink or
 * descending into a mount (one that failed to come off must keep its contents: it may be a
 * container's rootfs or a host volume, and a bind mount can sit on the same device).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { mountPoints } from './mount';

/** Removes `root` and everything below it that is not under a mount point; returns paths it had to leave. */
export async function removeTree(root: string): Promise<string[]> {
  const st = await fs.lstat(root).catch(() => undefined);
  if (!st) return [];
  if (!st.isDirectory()) {
    await fs.unlink(root);
    return [];
  }
  const mounts = new Set(await mountPoints().catch(() => []));
  const left: string[] = [];
  if (mounts.has(root)) return [root];
  await removeDir(root, st.dev, mounts, left);
  return left;
}

async function removeDir(dir: string, dev: number, mounts: ReadonlySet<string>, left: string[]): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const p = path.join(dir, name);
    const st = await fs.lstat(p);
    if (mounts.has(p) || (st.isDirectory() && st.dev !== dev)) {
      left.push(p);
    } else if (st.isDirectory()) {
      await removeDir(p, dev, mounts, left);
    } else {
      await fs.unlink(p);
    }
  }
  if (left.some((p) => p.startsWith(`${dir}/`))) return;
  await fs.rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EBUSY') left.push(dir);
    else if (err.code !== 'ENOENT') throw err;
  });
}
