/**
 * `mkdir -p` that tells the truth and leaves nothing half-made. Node's recursive mkdir reports ENOENT for
 * the leaf when a parent cannot be made (a full state directory out of inodes read "ENOENT: no such file
 * or directory, mkdir …/sbs/<id>"); here each missing component is made in turn, so the error is the
 * real one (ENOSPC), and the components this call made are removed again when a later one fails.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function makeDirs(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    if (await fs.lstat(p).then(() => true, () => false)) break;
    missing.unshift(p);
    if (p === path.dirname(p)) break;
  }
  const made: string[] = [];
  try {
    for (const p of missing) {
      await fs.mkdir(p, { mode });
      made.push(p);
    }
  } catch (err) {
    for (const p of made.reverse()) await fs.rmdir(p).catch(() => undefined);
    throw err;
  }
}
