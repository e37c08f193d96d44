import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from './errors';
import { validateAbsolutePath } from './validate';

/** True when `p` is `root` itself or below it (both absolute and normalised). */
export function isWithin(root: string, p: string): boolean {
  if (root === '/') return true;
  return p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** Real path of the deepest existing ancestor of `p` (p included), plus the components below it. */
async function resolveExisting(p: string): Promise<{ real: string; rest: string[] }> {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return { real: await fs.realpath(cur), rest };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw err;
      if (cur === '/') throw err;
      rest.unshift(path.basename(cur));
      cur = path.dirname(cur);
    }
  }
}

/**
 * A path confined to one of a set of roots, checked after symlinks are resolved: the path must be
 * lexically below a root, and so must the real path of its deepest existing ancestor. Returns the
 * resolved form (real ancestor + the components that do not exist yet).
 */
export async function resolveInside(roots: readonly string[], p: string, what: string): Promise<string> {
  validateAbsolutePath(p, what);
  const lexical = path.normalize(p);
  for (const root of roots) {
    if (!isWithin(root, lexical)) continue;
    const rootReal = await fs.realpath(root).catch(() => root);
    const { real, rest } = await resolveExisting(lexical);
    const resolved = path.join(real, ...rest);
    if (!isWithin(rootReal, resolved)) {
      throw new InvalidArgumentError(`${what} ${JSON.stringify(p)} resolves to ${JSON.stringify(resolved)}, outside ${root}`);
    }
    return resolved;
  }
  throw new InvalidArgumentError(`${what} ${JSON.stringify(p)} is outside the allowed roots (${roots.join(', ')})`);
}

/**
 * Creates directory `p` (and missing parents) confined to `roots`: components are created one at a
 * time and the result is re-checked after creation, so a symlink planted meanwhile is caught.
 * Returns the real path of the directory.
 */
export async function mkdirInside(roots: readonly string[], p: string, what: string, mode = 0o755): Promise<string> {
  const resolved = await resolveInside(roots, p, what);
  await fs.mkdir(resolved, { recursive: true, mode });
  const real = await fs.realpath(resolved);
  await resolveInside(roots, real, what);
  const st = await fs.lstat(real);
  if (!st.isDirectory()) throw new InvalidArgumentError(`${what} ${JSON.stringify(p)} is not a directory`);
  return real;
}

/** Real path of an open descriptor (what the kernel says it refers to). */
export function fdPath(fd: number): Promise<string> {
  return fs.readlink(`/proc/self/fd/${fd}`);
}
