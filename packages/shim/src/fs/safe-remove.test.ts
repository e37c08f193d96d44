import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { itNeeding, rootSkipReason } from '../../../../e2e/harness/host-requirements';
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

  // What a guest (root, 9p with security_model=none) can leave in a directory the host cleans up: a FIFO
  // (opening it would block the shim for good), a socket, device nodes (opening one would reach a host
  // device), a link to a host directory. Each is unlinked, never opened or followed.
  itNeeding(rootSkipReason(), 'removes FIFOs, sockets and device nodes without opening them, and links without following them', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-rm-'));
    const outside = path.join(dir, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'keep'), 'x');
    const tree = path.join(dir, 'tree');
    await fs.mkdir(path.join(tree, 'd'), { recursive: true });
    execFileSync('mkfifo', [path.join(tree, 'fifo')]);
    execFileSync('mknod', [path.join(tree, 'd', 'mem'), 'c', '1', '1']);
    execFileSync('mknod', [path.join(tree, 'd', 'loop'), 'b', '7', '0']);
    const server = net.createServer().listen(path.join(tree, 'd', 'sock'));
    await new Promise((r) => server.once('listening', r));
    await fs.symlink(outside, path.join(tree, 'out'));
    await fs.symlink('/', path.join(tree, 'd', 'root'));
    expect(await removeTree(tree)).toEqual([]);
    await expect(fs.lstat(tree)).rejects.toThrow();
    expect(await fs.readdir(outside)).toEqual(['keep']);
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }, 5_000);
});
