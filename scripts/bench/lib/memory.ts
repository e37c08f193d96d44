/** Host memory figures from /proc (shared by the benchmarks). */
import { readFileSync } from 'node:fs';

/** PSS of a process in MiB (/proc/<pid>/smaps_rollup). */
export function pssMiB(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0) / 1024;
}

/** The host's MemAvailable in MiB. */
export function memAvailableMiB(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024;
}
