import { promises as fs } from 'node:fs';

/** Whether a process exists (signal 0). EPERM means it exists but is someone else's. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's argv from /proc/<pid>/cmdline; empty when it is gone, a zombie or not a real pid. */
export async function processArgv(pid: number): Promise<string[]> {
  if (!Number.isInteger(pid) || pid <= 1) return [];
  const raw = await fs.readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0));
  return raw.toString('utf8').split('\0').filter(Boolean);
}
