import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeployError, fsProblem } from './errors';
import { readTextFile, writeBackup, writeFileAtomic } from './files';

describe('deploy files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-files-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('replaces a file atomically with its mode kept, and leaves no temp file behind', async () => {
    const file = path.join(dir, 'config.toml');
    await fs.writeFile(file, 'old\n', { mode: 0o600 });
    const read = await readTextFile(file);
    await writeFileAtomic(file, 'new\n', read);
    expect(await fs.readFile(file, 'utf8')).toBe('new\n');
    expect((await fs.stat(file)).mode & 0o7777).toBe(0o600);
    expect(await fs.readdir(dir)).toEqual(['config.toml']);
  });

  it('writes through a symlink to its target, keeping the link', async () => {
    await fs.writeFile(path.join(dir, 'real.toml'), 'a = 1\n');
    await fs.symlink('real.toml', path.join(dir, 'config.toml'));
    const read = await readTextFile(path.join(dir, 'config.toml'));
    expect(read.path).toBe(path.join(await fs.realpath(dir), 'real.toml'));
    await writeFileAtomic(read.path, 'a = 2\n', read);
    expect((await fs.lstat(path.join(dir, 'config.toml'))).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(path.join(dir, 'config.toml'), 'utf8')).toBe('a = 2\n');
  });

  it('keeps every backup: a second one in the same second gets its own name', async () => {
    const file = path.join(dir, 'config.toml');
    const now = new Date('2026-11-23T10:15:00.123Z');
    const first = await writeBackup(file, Buffer.from('one'), { mode: 0o640 }, now);
    const second = await writeBackup(file, Buffer.from('two'), { mode: 0o640 }, now);
    expect(path.basename(first)).toBe('config.toml.kata-ts-20261123T101500Z.bak');
    expect(path.basename(second)).toBe('config.toml.kata-ts-20261123T101500Z-1.bak');
    expect(await fs.readFile(first, 'utf8')).toBe('one');
    expect((await fs.stat(first)).mode & 0o7777).toBe(0o640);
  });

  it('refuses a directory, a dangling symlink and bytes that are not UTF-8, naming the file', async () => {
    await expect(readTextFile(dir)).rejects.toThrow(`cannot read ${dir}: it is a directory, not a file`);
    await fs.symlink('missing.toml', path.join(dir, 'dangling.toml'));
    await expect(readTextFile(path.join(dir, 'dangling.toml'))).rejects.toThrow(/dangling\.toml: it is a symlink to a missing file/);
    await fs.writeFile(path.join(dir, 'latin1.toml'), Buffer.from([0x61, 0x3d, 0x22, 0xe9, 0x22]));
    await expect(readTextFile(path.join(dir, 'latin1.toml'))).rejects.toThrow(DeployError);
    expect(await readTextFile(path.join(dir, 'absent.toml'))).toEqual({ path: path.join(dir, 'absent.toml') });
  });

  it('says "permission denied" for EACCES (not testable for real as root)', () => {
    expect(fsProblem(Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES' }))).toBe('permission denied (run as root?)');
  });
});
