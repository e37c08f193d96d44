/**
 * One process's figures from procfs as Kata names them, `<prefix>_{threads,fds,proc_status,proc_stat,io_stat}`
 * (prefix kata_shim, kata_hypervisor, kata_agent...): the shim reports itself and its QEMU this way,
 * the agent itself. A process that is gone yields no families, never an error: a scrape races exits.
 */
import { promises as fs } from 'node:fs';
import { family, type Family, type Labels } from './exposition';

/** Clock ticks per second (USER_HZ): 100 on every Linux architecture kata-ts runs on. */
const TICKS_PER_SECOND = 100;

const read = (p: string): Promise<string | undefined> => fs.readFile(p, 'utf8').catch(() => undefined);

/** /proc/<pid>/status lines "Key:\t<n> kB" in bytes, and plain counts as they are. */
function statusItems(text: string): Array<[Labels, number]> {
  const out: Array<[Labels, number]> = [];
  for (const m of text.matchAll(/^(\w+):\s+(\d+)( kB)?$/gm)) {
    out.push([{ item: m[1]! }, Number(m[2]) * (m[3] ? 1024 : 1)]);
  }
  return out;
}

/** /proc/<pid>/stat after the command name: CPU times in seconds, sizes in bytes. */
function statItems(text: string): Array<[Labels, number]> {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
  // Field numbers of proc(5) minus 3 (pid, comm and state are not in `fields`' first places).
  const at = (n: number) => fields[n - 3] ?? 0;
  return [
    [{ item: 'utime' }, at(14) / TICKS_PER_SECOND],
    [{ item: 'stime' }, at(15) / TICKS_PER_SECOND],
    [{ item: 'cutime' }, at(16) / TICKS_PER_SECOND],
    [{ item: 'cstime' }, at(17) / TICKS_PER_SECOND],
    [{ item: 'num_threads' }, at(20)],
    [{ item: 'vsize' }, at(23)],
    [{ item: 'rss' }, at(24) * 4096],
    [{ item: 'minflt' }, at(10)],
    [{ item: 'majflt' }, at(12)],
  ];
}

function ioItems(text: string): Array<[Labels, number]> {
  return [...text.matchAll(/^(\w+):\s+(\d+)$/gm)].map((m) => [{ item: m[1]! }, Number(m[2])] as [Labels, number]);
}

/** The families for `pid` ('self' for the calling process), or none when it has exited. */
export async function processFamilies(prefix: string, pid: number | 'self'): Promise<Family[]> {
  const dir = `/proc/${pid}`;
  const [status, stat, io, fds] = await Promise.all([
    read(`${dir}/status`), read(`${dir}/stat`), read(`${dir}/io`), fs.readdir(`${dir}/fd`).then((f) => f.length, () => undefined),
  ]);
  if (status === undefined || stat === undefined) return [];
  const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const families = [
    family(`${prefix}_threads`, 'Threads of the process', 'gauge', [[{}, threads]]),
    family(`${prefix}_proc_status`, 'Process status (/proc/<pid>/status; kB figures in bytes)', 'gauge', statusItems(status)),
    family(`${prefix}_proc_stat`, 'Process statistics (/proc/<pid>/stat; CPU times in seconds, sizes in bytes)', 'gauge', statItems(stat)),
  ];
  if (fds !== undefined) families.push(family(`${prefix}_fds`, 'Open file descriptors of the process', 'gauge', [[{}, fds]]));
  // /proc/<pid>/io needs ptrace access: present for our own children and for root.
  if (io !== undefined) families.push(family(`${prefix}_io_stat`, 'Process IO statistics (/proc/<pid>/io)', 'gauge', ioItems(io)));
  return families;
}

/** /proc/<pid>/net/dev (the process's network namespace) as `<prefix>_netdev{interface,item}`. */
export async function netdevFamily(prefix: string, pid: number | 'self'): Promise<Family | undefined> {
  const text = await read(`/proc/${pid}/net/dev`);
  if (text === undefined) return undefined;
  const items = ['recv_bytes', 'recv_packets', 'recv_errs', 'recv_drop', 'recv_fifo', 'recv_frame', 'recv_compressed', 'recv_multicast',
    'sent_bytes', 'sent_packets', 'sent_errs', 'sent_drop', 'sent_fifo', 'sent_colls', 'sent_carrier', 'sent_compressed'];
  const samples: Array<[Labels, number]> = [];
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const values = m[2]!.trim().split(/\s+/).map(Number);
    items.forEach((item, i) => samples.push([{ interface: m[1]!, item }, values[i] ?? 0]));
  }
  return family(`${prefix}_netdev`, 'Network device statistics in the process\'s network namespace', 'gauge', samples);
}
