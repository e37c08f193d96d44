/**
 * Host cleanup steps for fixtures: end the processes a footprint owns, lazily unmount what is mounted
 * under a directory, remove the footprint's cgroups. Each step acts only on what the footprint
 * identifies as the fixture's own; nothing is matched by program name.
 */
import { readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec';
import { Footprint, ownedCgroups, ownedProcesses } from './leftovers';
import { isAlive, mountsUnder } from './procfs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done()` holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}

/** SIGTERMs a process, then SIGKILLs it if it is still alive after `graceMs`. */
export async function terminate(pid: number, graceMs: number): Promise<void> {
  if (!(await isAlive(pid))) return;
  signal(pid, 'SIGTERM');
  if (await waitUntil(async () => !(await isAlive(pid)), graceMs)) return;
  signal(pid, 'SIGKILL');
  await waitUntil(async () => !(await isAlive(pid)), 5_000);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

/**
 * Gives the footprint's processes `graceMs` to exit by themselves (shims do once their task is
 * deleted), then SIGKILLs the rest and waits for them. Returns the pids it had to kill.
 */
export async function endOwnedProcesses(footprint: Footprint, graceMs: number): Promise<number[]> {
  await waitUntil(async () => (await ownedProcesses(footprint)).length === 0, graceMs, 100);
  const rest = (await ownedProcesses(footprint)).map((p) => p.pid);
  for (const pid of rest) signal(pid, 'SIGKILL');
  await waitUntil(async () => (await Promise.all(rest.map(isAlive))).every((alive) => !alive), 5_000);
  return rest;
}

/** Lazily unmounts every mount at or under `dir`, deepest first. Returns the mounts still there. */
export async function unmountUnder(dir: string): Promise<string[]> {
  for (const mountPoint of await mountsUnder(dir)) {
    await run('umount', ['-l', mountPoint], { timeoutMs: 10_000 });
  }
  return mountsUnder(dir);
}

/** Removes the footprint's cgroup directories, children first; busy ones are left (and reported by leftovers). */
export async function removeOwnedCgroups(footprint: Footprint): Promise<void> {
  for (const dir of await ownedCgroups(footprint)) await removeCgroupTree(dir);
}

async function removeCgroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(path.join(dir, e.name));
  await rmdir(dir).catch(() => undefined); // EBUSY while processes remain
}
