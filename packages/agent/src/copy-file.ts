import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from './errors';
import { fdPath, isWithin, mkdirInside, resolveInside } from './safe-path';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;

export interface CopyFileRequest {
  path: string;
  fileSize: number;
  fileMode: number;
  dirMode: number;
  uid: number;
  gid: number;
  offset: number;
  data: Uint8Array;
}

/**
 * Kata's CopyFile: a directory, a symlink, or one chunk of a regular file (written into "<path>.tmp"
 * at `offset`; renamed onto `path` when the file has `fileSize` bytes). Every path stays inside
 * `roots` after symlinks are resolved: parents are resolved and re-checked after creation, the file
 * is opened with O_NOFOLLOW and the opened descriptor's real path is checked before a byte is written.
 */
export async function copyFile(req: CopyFileRequest, roots: readonly string[], maxBytes: number): Promise<void> {
  const target = await resolveInside(roots, req.path, 'CopyFile path');
  const rootReals = await Promise.all(roots.map((r) => fs.realpath(r).catch(() => r)));
  if (rootReals.includes(target)) throw new InvalidArgumentError('CopyFile path is the root itself');
  const { fileSize, offset, data } = req;
  if (!Number.isSafeInteger(fileSize) || fileSize < 0 || fileSize > maxBytes) {
    throw new InvalidArgumentError(`CopyFile file_size ${fileSize} out of range (max ${maxBytes})`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > fileSize) {
    throw new InvalidArgumentError(`CopyFile chunk [${offset}, ${offset + data.length}) exceeds file_size ${fileSize}`);
  }
  const dirMode = req.dirMode & 0o7777 || 0o755;
  const parent = await mkdirInside(roots, path.dirname(target), 'CopyFile parent', dirMode);
  const name = path.basename(target);
  const full = path.join(parent, name);
  const type = req.fileMode & S_IFMT;
  const chown = async (p: string): Promise<void> => {
    if (req.uid >= 0 || req.gid >= 0) await fs.lchown(p, req.uid, req.gid).catch(() => undefined);
  };

  if (type === S_IFDIR) {
    await fs.mkdir(full, { mode: req.fileMode & 0o7777 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const st = await fs.lstat(full);
    if (!st.isDirectory()) throw new InvalidArgumentError(`CopyFile: ${req.path} exists and is not a directory`);
    await fs.chmod(full, req.fileMode & 0o7777);
    await chown(full);
    return;
  }
  if (type === S_IFLNK) {
    const linkTarget = Buffer.from(data).toString('utf8');
    if (!linkTarget || linkTarget.includes('\0')) throw new InvalidArgumentError('CopyFile: empty symlink target');
    await fs.rm(full, { force: true }).catch(() => undefined);
    await fs.symlink(linkTarget, full);
    await chown(full);
    return;
  }
  if (type !== S_IFREG && type !== 0) throw new InvalidArgumentError(`CopyFile: unsupported file type ${type.toString(8)}`);

  const tmp = `${full}.tmp`;
  let created = false;
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    fh = await fs.open(tmp, constants.O_WRONLY | constants.O_NOFOLLOW);
  }
  let complete = false;
  try {
    const real = await fdPath(fh.fd);
    const inside = rootReals.some((r) => isWithin(r, real));
    const st = await fh.stat();
    if (!inside || !st.isFile()) {
      throw new InvalidArgumentError(`CopyFile: ${req.path} resolves outside the allowed roots`);
    }
    if (data.length) await fh.write(data, 0, data.length, offset);
    complete = (await fh.stat()).size === fileSize;
    if (complete) {
      await fh.chmod(req.fileMode & 0o7777);
      if (req.uid >= 0 || req.gid >= 0) await fh.chown(req.uid, req.gid).catch(() => undefined);
    }
  } catch (err) {
    await fh.close();
    if (created) await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  if (complete) await fs.rename(tmp, full);
}
