/**
 * Reading and writing the runtime's configuration files safely: reads refuse anything but a regular
 * UTF-8 file (with the file and the problem named), writes go to a temp file in the same directory,
 * are fsynced and renamed over the original (keeping its mode and owner), so containerd or CRI-O never
 * read a half-written file and a crash leaves either the old file or the new one.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DeployError, fsProblem } from './errors';

export interface TextFile {
  /** The path to read and write: the link's target when the named file is a symlink (the link stays). */
  path: string;
  /** Undefined when the file does not exist. */
  text?: string;
  bytes?: Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
}

const NEW_FILE_MODE = 0o644;

/** Reads `file` as UTF-8 text; undefined text when it does not exist; a DeployError naming the file otherwise. */
export async function readTextFile(file: string): Promise<TextFile> {
  const fail = (problem: string): never => {
    throw new DeployError(`cannot read ${file}: ${problem}; nothing was changed`);
  };
  const link = await fs.lstat(file).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : fail(fsProblem(err))));
  if (!link) return { path: file };
  let target = file;
  if (link.isSymbolicLink()) {
    // Writing through a link whose target is missing would replace the link with a file: not ours to decide.
    target = await fs.realpath(file).catch((err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? 'it is a symlink to a missing file' : fsProblem(err)));
  }
  const stat = await fs.stat(target).catch((err: unknown) => fail(fsProblem(err)));
  if (stat.isDirectory()) fail('it is a directory, not a file');
  if (!stat.isFile()) fail('it is not a regular file');
  const bytes = await fs.readFile(target).catch((err: unknown) => fail(fsProblem(err)));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('it is not UTF-8 text (TOML must be)');
  }
  return { path: target, text, bytes, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
}

/** Makes `dir` (and its parents) when missing; true when it had to. */
export async function ensureDirectory(dir: string): Promise<boolean> {
  try {
    if ((await fs.stat(dir)).isDirectory()) return false;
    throw new DeployError(`cannot write into ${dir}: it is not a directory; nothing was changed`);
  } catch (err) {
    if (err instanceof DeployError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new DeployError(`cannot use ${dir}: ${fsProblem(err)}; nothing was changed`);
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o755 }).catch((err: unknown) => {
    throw new DeployError(`cannot create ${dir}: ${fsProblem(err)}; nothing was changed`);
  });
  return true;
}

/** Writes `data` to `file` atomically (temp file, fsync, rename, fsync of the directory), with the given mode and owner. */
export async function writeFileAtomic(file: string, data: string | Buffer, like: Pick<TextFile, 'mode' | 'uid' | 'gid'> = {}): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.kata-ts-${randomBytes(6).toString('hex')}.tmp`);
  const mode = like.mode ?? NEW_FILE_MODE;
  try {
    const handle = await fs.open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.chmod(mode); // open()'s mode went through the umask
      if (like.uid !== undefined && like.gid !== undefined && (like.uid !== process.getuid?.() || like.gid !== process.getgid?.())) {
        await handle.chown(like.uid, like.gid).catch(() => undefined); // only root can give a file away; otherwise it stays ours
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw new DeployError(`cannot write ${file}: ${fsProblem(err)}; it was left as it was`);
  }
  await syncDirectory(dir);
}

// The rename is durable only once the directory entry is on disk.
async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}

/** "20261123T101500Z" */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Keeps `bytes` (the file as it was) beside it as `<file>.kata-ts-<UTC time>.bak`, with the file's mode;
 * never overwrites an earlier backup. Returns the backup's path.
 */
export async function writeBackup(file: string, bytes: Buffer, like: Pick<TextFile, 'mode' | 'uid' | 'gid'>, now = new Date()): Promise<string> {
  for (let n = 0; ; n++) {
    const backup = `${file}.kata-ts-${stamp(now)}${n ? `-${n}` : ''}.bak`;
    try {
      const handle = await fs.open(backup, 'wx', like.mode ?? NEW_FILE_MODE);
      try {
        await handle.writeFile(bytes);
        await handle.chmod(like.mode ?? NEW_FILE_MODE);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return backup;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new DeployError(`cannot back up ${file} to ${backup}: ${fsProblem(err)}; nothing was changed`);
    }
  }
}

/** Removes `file`; false when it was not there. */
export async function removeFile(file: string): Promise<boolean> {
  try {
    await fs.unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new DeployError(`cannot remove ${file}: ${fsProblem(err)}; it was left as it was`);
  }
}
