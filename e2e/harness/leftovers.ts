/**
 * What a fixture left on the host: processes, mounts, unix sockets, files and cgroups that belong to
 * it. A fixture describes what is its own with a Footprint (its temp dir, the namespace only it uses,
 * the sockets its shims made); tests assert `findLeftovers(footprint)` is empty after teardown.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cgroupMountPoints, isAlive, listProcesses, mountsUnder, processArgv, ProcessInfo, unixSockets } from './procfs';

export interface Footprint {
  /** Directories and files that belong to the fixture; anything mentioning them in its argv is its process. */
  paths: string[];
  /** A cgroup path component only the fixture uses (its containerd namespace: cgroups /<name>/<id>). */
  cgroupName?: string;
  /** Processes the fixture started. */
  pids?: number[];
}

export interface Leftovers {
  /** "pid argv..." of live processes. */
  processes: string[];
  mounts: string[];
  /** Unix socket paths still bound. */
  sockets: string[];
  /** Footprint paths that still exist. */
  paths: string[];
  /** cgroup directories named after the footprint's cgroupName. */
  cgroups: string[];
}

export const NO_LEFTOVERS: Leftovers = { processes: [], mounts: [], sockets: [], paths: [], cgroups: [] };

function isUnder(p: string, roots: readonly string[]): boolean {
  return roots.some((r) => p === r || p.startsWith(`${r}/`));
}

function belongsTo(proc: ProcessInfo, footprint: Footprint): boolean {
  if (proc.state === 'Z') return false; // already dead, waiting for its parent to reap it
  if (footprint.pids?.includes(proc.pid)) return true;
  if (proc.argv.some((arg) => footprint.paths.some((p) => arg.includes(p)))) return true;
  const name = footprint.cgroupName;
  return !!name && proc.cgroup.split('\n').some((line) => {
    const cgPath = line.split(':')[2] ?? '';
    return cgPath === `/${name}` || cgPath.startsWith(`/${name}/`);
  });
}

/** Live processes that belong to the footprint. */
export async function ownedProcesses(footprint: Footprint): Promise<ProcessInfo[]> {
  return (await listProcesses()).filter((p) => belongsTo(p, footprint));
}

/** cgroup directories `<hierarchy>/<cgroupName>` that exist. */
export async function ownedCgroups(footprint: Footprint): Promise<string[]> {
  if (!footprint.cgroupName) return [];
  const name = footprint.cgroupName;
  return (await cgroupMountPoints()).map((mp) => path.join(mp, name)).filter((dir) => existsSync(dir));
}

/** Everything of the footprint still present on the host. */
export async function findLeftovers(footprint: Footprint): Promise<Leftovers> {
  const processes = [];
  for (const p of await ownedProcesses(footprint)) {
    if (await isAlive(p.pid)) processes.push(`${p.pid} ${(await processArgv(p.pid)).join(' ')}`);
  }
  const mounts = (await Promise.all(footprint.paths.map((p) => mountsUnder(p)))).flat();
  const sockets = (await unixSockets()).map((s) => s.path).filter((p) => isUnder(p, footprint.paths));
  return {
    processes,
    mounts: [...new Set(mounts)],
    sockets: [...new Set(sockets)],
    paths: footprint.paths.filter((p) => existsSync(p)),
    cgroups: await ownedCgroups(footprint),
  };
}
