/**
 * Host mounts through util-linux mount(8)/umount(8) (Node has no mount syscall). Arguments are
 * passed as an argv array, never through a shell.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';

/** A mount as containerd describes it (containerd.types.Mount). */
export interface MountSpec {
  type: string;
  source: string;
  options: string[];
  /** Where below the mount root it goes (containerd 2.x sub-mounts); empty: the root itself. */
  target?: string;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.toString().trim() || err.message}`));
      else resolve();
    });
  });
}

const BIND_OPTIONS = new Set(['bind', 'rbind']);

/** Mounts `m` on `target` (bind mounts by their options, whatever their type says). */
export async function mount(m: MountSpec, target: string): Promise<void> {
  const isBind = m.type === 'bind' || m.type === 'rbind' || m.options.some((o) => BIND_OPTIONS.has(o));
  if (isBind) {
    const options = m.options.filter((o) => !BIND_OPTIONS.has(o));
    const recursive = m.type === 'rbind' || m.options.includes('rbind');
    await run('mount', ['-o', [recursive ? 'rbind' : 'bind', ...options].join(','), '--', m.source, target]);
    return;
  }
  const args = ['-t', m.type || 'none'];
  if (m.options.length > 0) args.push('-o', m.options.join(','));
  await run('mount', [...args, '--', m.source, target]);
}

/** Bind-mounts source on target; `readonly` makes the bind read-only on the host side. */
export function bindMount(source: string, target: string, opts: { readonly?: boolean; recursive?: boolean } = {}): Promise<void> {
  const options = [opts.recursive ? 'rbind' : 'bind'];
  if (opts.readonly) options.push('ro');
  return mount({ type: 'bind', source, options }, target);
}

/** Changes a mount point's propagation ('shared' | 'slave' | 'private'). */
export function setPropagation(target: string, kind: 'shared' | 'slave' | 'private'): Promise<void> {
  return run('mount', [`--make-${kind}`, '--', target]);
}

/** Remounts a bind mount read-only. */
export function remountReadonly(target: string): Promise<void> {
  return run('mount', ['-o', 'remount,bind,ro', '--', target]);
}

/** Unmounts `target`; lazily (detach) if a normal unmount fails. Missing targets are fine. */
export async function unmount(target: string): Promise<void> {
  const st = await fs.lstat(target).catch(() => undefined);
  // Never resolve a symlink into somewhere else on the host.
  if (!st || st.isSymbolicLink()) return;
  try {
    await run('umount', ['--', target]);
  } catch (err) {
    if (!(await isMountPoint(target))) return;
    await run('umount', ['-l', '--', target]).catch(() => {
      throw err;
    });
  }
}

/** One line of /proc/self/mountinfo: where the mount is and whether this mount (not its filesystem) is read-only. */
export interface MountEntry {
  mountPoint: string;
  readonly: boolean;
}

const unescapeMountinfo = (field: string) => field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses mountinfo text (field 5 is the mount point, field 6 the per-mount options), in mount order. */
export function parseMountInfo(text: string): MountEntry[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const fields = line.split(' ');
    return { mountPoint: unescapeMountinfo(fields[4] ?? ''), readonly: (fields[5] ?? '').split(',').includes('ro') };
  });
}

/** The mounts of this mount namespace (from /proc/self/mountinfo). */
export async function mountTable(): Promise<MountEntry[]> {
  return parseMountInfo(await fs.readFile('/proc/self/mountinfo', 'utf8'));
}

/** Mount points of this mount namespace (from /proc/self/mountinfo), unescaped. */
export async function mountPoints(): Promise<string[]> {
  return (await mountTable()).map((m) => m.mountPoint);
}

/** A mount below a directory: its path relative to it and whether it is read-only. */
export interface Submount {
  path: string;
  readonly: boolean;
}

/**
 * The mounts strictly below `dir` in `table`, parents before children; of mounts stacked on one
 * point, the last (the visible one).
 */
export function submountsOf(table: readonly MountEntry[], dir: string): Submount[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const byPath = new Map<string, boolean>();
  for (const m of table) {
    if (!m.mountPoint.startsWith(prefix) || m.mountPoint.length === prefix.length) continue;
    const rel = m.mountPoint.slice(prefix.length);
    byPath.delete(rel);
    byPath.set(rel, m.readonly);
  }
  const depth = (p: string) => p.split('/').length;
  return [...byPath].map(([path, readonly]) => ({ path, readonly })).sort((a, b) => depth(a.path) - depth(b.path));
}

/** True when `target` is a mount point in this namespace. */
export async function isMountPoint(target: string): Promise<boolean> {
  return (await mountPoints()).includes(target);
}
