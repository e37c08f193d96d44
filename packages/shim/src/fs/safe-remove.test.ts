import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeTree } from './safe-remove';

describe('removeTree', () => {
  it('removes a tree without following symlinks out of it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-rm-'));
    const outside = path.join(dir, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'keep'), 'x');
    const tree = path.join(dir, 'tree');
    await fs.mkdir(path.join(tree, 'a', 'b'), { recursive: true });
    await fs.writeFile(path.join(tree, 'a', 'f'), 'y');
    await fs.symlink(outside, path.join(tree, 'a', 'b', 'link'));
    expect(await removeTree(tree)).toEqual([]);
    await expect(fs.stat(tree)).rejects.toThrow();
    expect(await fs.readFile(path.join(outside, 'keep'), 'utf8')).toBe('x');
    expect(await removeTree(tree)).toEqual([]);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
