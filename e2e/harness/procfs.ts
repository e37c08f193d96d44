/**
 * Read-only views of /proc the tests use to check what real peers did: live processes, the process
 * listening on a unix socket, mounts under a directory. Everything is read fresh on each call.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

export interface ProcessInfo {
  pid: number;
  /** One-letter state from /proc/<pid>/stat (R, S, D, Z, ...). */
  state: string;
  argv: string[];
  /** /proc/<pid>/cgroup, verbatim. */
  cgroup: string;
}

/** The listening flag (__SO_ACCEPTCON) in /proc/net/unix's Flags column. */
const SO_ACCEPTCON = 0x10000;

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return ''; // the process exited meanwhile
  }
}

/** The state letter of a process, or undefined when it does not exist. */
export async function processState(pid: number): Promise<string | undefined> {
  const stat = await readOrEmpty(`/proc/${pid}/stat`);
  // "pid (comm) S ...": comm may hold spaces and parentheses, so split after the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state || undefined;
}

/** True while a process exists and is not a zombie (a zombie has already exited). */
export async function isAlive(pid: number): Promise<boolean> {
  const state = await processState(pid);
  return state !== undefined && state !== 'Z';
}

/** The argv of a process ([] when it is gone or a kernel thread). */
export async function processArgv(pid: number): Promise<string[]> {
  const raw = await readOrEmpty(`/proc/${pid}/cmdline`);
  return raw ? raw.replace(/\0$/, '').split('\0') : [];
}

/** Every process on the host except this one. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => p !== process.pid);
  const out: ProcessInfo[] = [];
  for (const pid of pids) {
    const state = await processState(pid);
    if (state === undefined) continue;
    out.push({ pid, state, argv: await processArgv(pid), cgroup: await readOrEmpty(`/proc/${pid}/cgroup`) });
  }
  return out;
}

/** Unix socket entries of this network namespace: path (filesystem or "@abstract"), inode, listening. */
export async function unixSockets(): Promise<Array<{ path: string; inode: number; listening: boolean }>> {
  const lines = (await readOrEmpty('/proc/net/unix')).split('\n').slice(1);
  const out = [];
  for (const line of lines) {
    // Num RefCount Protocol Flags Type St Inode [Path]
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue; // unnamed socket
    out.push({
      path: fields.slice(7).join(' '),
      inode: Number(fields[6]),
      listening: (parseInt(fields[3] ?? '0', 16) & SO_ACCEPTCON) !== 0,
    });
  }
  return out;
}

/** The pids holding the listening socket bound at `socketPath` (normally one: the server). */
export async function listeningPids(socketPath: string): Promise<number[]> {
  const inodes = new Set((await unixSockets()).filter((s) => s.listening && s.path === socketPath).map((s) => `socket:[${s.inode}]`));
  if (inodes.size === 0) return [];
  const holders: number[] = [];
  for (const { pid } of await listProcesses()) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (inodes.has(target)) {
        holders.push(pid);
        break;
      }
    }
  }
  return holders;
}

/** Mount points (of this mount namespace) at or under `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = path.resolve(dir);
  const points = (await readOrEmpty('/proc/self/mountinfo'))
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    // mountinfo escapes space, tab, newline and backslash as \ooo
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === prefix || p.startsWith(`${prefix}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Mount points of the cgroup hierarchies (v1 controllers and/or the v2 unified tree). */
export async function cgroupMountPoints(): Promise<string[]> {
  const out: string[] = [];
  for (const line of (await readOrEmpty('/proc/self/mountinfo')).split('\n')) {
    // fields before " - " are mount data; the first field after it is the filesystem type
    const [before, after] = line.split(' - ');
    const fstype = after?.split(' ')[0];
    const mountPoint = before?.split(' ')[4];
    if (mountPoint && (fstype === 'cgroup' || fstype === 'cgroup2')) out.push(mountPoint);
  }
  return out;
}
