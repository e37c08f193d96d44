import { mkdirSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from './errors';
import { isWithin, mkdirInside, resolveInside } from './safe-path';

describe('safe paths', () => {
  let base: string;
  let root: string;
  let outside: string;
  beforeEach(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'safe-path-'));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    mkdirSync(path.join(root, 'a'), { recursive: true });
    mkdirSync(outside);
    symlinkSync(outside, path.join(root, 'out'));
    symlinkSync('a', path.join(root, 'in'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('isWithin compares whole components', () => {
    expect(isWithin('/a/b', '/a/b')).toBe(true);
    expect(isWithin('/a/b', '/a/b/c')).toBe(true);
    expect(isWithin('/a/b', '/a/bc')).toBe(false);
    expect(isWithin('/', '/x')).toBe(true);
  });

  it('resolves paths that stay inside, through symlinks that stay inside', async () => {
    await expect(resolveInside([root], path.join(root, 'a/new/file'), 'p')).resolves.toBe(path.join(root, 'a/new/file'));
    await expect(resolveInside([root], path.join(root, 'in/x'), 'p')).resolves.toBe(path.join(root, 'a/x'));
  });

  it('refuses paths outside, with .., or through symlinks that leave', async () => {
    for (const p of [outside, path.join(root, '../outside'), path.join(root, 'out/x'), path.join(root, 'out'), 'rel/x', `${root}x`]) {
      await expect(resolveInside([root], p, 'p')).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });

  it('mkdirInside creates missing components inside and nothing outside', async () => {
    await expect(mkdirInside([root], path.join(root, 'a/b/c'), 'p')).resolves.toBe(path.join(root, 'a/b/c'));
    await expect(mkdirInside([root], path.join(root, 'out/evil'), 'p')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(existsSync(path.join(outside, 'evil'))).toBe(false);
  });
});
