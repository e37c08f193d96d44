import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CgroupStats, LinuxResources } from '../proto';
import { UnavailableError } from '../errors';
import { parseIoStat, parseKeyValues, parseLimit, parsePids, sharesToWeight } from './parse';


const NS_PER_US = 1000;

/** One container's cgroup v2 directory, driven through its interface files. */
export class Cgroup {
  constructor(readonly dir: string) {}

  /** True when the directory exists (crun created it). */
  async exists(): Promise<boolean> {
    return fs.stat(path.join(this.dir, 'cgroup.procs')).then(() => true, () => false);
  }

  /** Pids of every process in the cgroup (and its descendants). */
  async pids(): Promise<number[]> {
    const out: number[] = [];
    const walk = async (dir: string): Promise<void> => {
      out.push(...parsePids(await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '')));
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) await walk(path.join(dir, e.name));
    };
    await walk(this.dir);
    return out;
  }

  /** Freezes every process (cgroup.freeze) and waits until the kernel reports it frozen. */
  async freeze(): Promise<void> {
    await this.setFrozen(true);
  }

  async thaw(): Promise<void> {
    await this.setFrozen(false);
  }

  /** SIGKILLs every process: cgroup.kill where the kernel has it, else freeze, kill each, thaw. */
  async killAll(): Promise<void> {
    const killFile = path.join(this.dir, 'cgroup.kill');
    if (await fs.stat(killFile).then(() => true, () => false)) {
      await fs.writeFile(killFile, '1');
      return;
    }
    await this.freeze().catch(() => undefined);
    for (const pid of await this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await this.thaw().catch(() => undefined);
  }

  /** OOM kills counted so far (memory.events oom_kill). */
  async oomKills(): Promise<number> {
    const text = await this.read('memory.events').catch(() => '');
    return parseKeyValues(text).get('oom_kill') ?? 0;
  }

  /** Statistics in Kata's CgroupStats shape (v1-style fields filled from the v2 files). */
  async stats(): Promise<CgroupStats> {
    const [cpu, memCur, memMax, memPeak, memStat, memEvents, swapCur, swapMax, pidsCur, pidsMax, io] = await Promise.all(
      ['cpu.stat', 'memory.current', 'memory.max', 'memory.peak', 'memory.stat', 'memory.events', 'memory.swap.current',
        'memory.swap.max', 'pids.current', 'pids.max', 'io.stat'].map((f) => this.read(f).catch(() => '')),
    ) as string[];
    const c = parseKeyValues(cpu!);
    const memStats = parseKeyValues(memStat!);
    const stats: Record<string, number> = {};
    for (const [k, v] of memStats) stats[k] = v;
    const ioEntries = parseIoStat(io!);
    const entry = (major: number, minor: number, op: string, value: number) => ({ major, minor, op, value });
    return {
      cpuStats: {
        cpuUsage: {
          totalUsage: (c.get('usage_usec') ?? 0) * NS_PER_US,
          percpuUsage: [],
          usageInKernelmode: (c.get('system_usec') ?? 0) * NS_PER_US,
          usageInUsermode: (c.get('user_usec') ?? 0) * NS_PER_US,
        },
        throttlingData: {
          periods: c.get('nr_periods') ?? 0,
          throttledPeriods: c.get('nr_throttled') ?? 0,
          throttledTime: (c.get('throttled_usec') ?? 0) * NS_PER_US,
        },
      },
      memoryStats: {
        cache: memStats.get('file') ?? 0,
        usage: {
          usage: parseLimit(memCur!) ?? 0,
          maxUsage: parseLimit(memPeak!) ?? 0,
          failcnt: parseKeyValues(memEvents!).get('max') ?? 0,
          limit: parseLimit(memMax!) ?? 0,
        },
        swapUsage: { usage: parseLimit(swapCur!) ?? 0, limit: parseLimit(swapMax!) ?? 0 },
        kernelUsage: { usage: (memStats.get('kernel_stack') ?? 0) + (memStats.get('slab') ?? 0) },
        useHierarchy: true,
        stats,
      },
      pidsStats: { current: parseLimit(pidsCur!) ?? 0, limit: parseLimit(pidsMax!) ?? 0 },
      blkioStats: {
        ioServiceBytesRecursive: ioEntries.flatMap((e) => [
          entry(e.major, e.minor, 'Read', e.values.get('rbytes') ?? 0),
          entry(e.major, e.minor, 'Write', e.values.get('wbytes') ?? 0),
        ]),
        ioServicedRecursive: ioEntries.flatMap((e) => [
          entry(e.major, e.minor, 'Read', e.values.get('rios') ?? 0),
          entry(e.major, e.minor, 'Write', e.values.get('wios') ?? 0),
        ]),
      },
    };
  }

  /** Applies OCI resources (v1 semantics, converted to v2 files as runc and crun do). */
  async update(r: LinuxResources): Promise<void> {
    const writes: Array<[string, string]> = [];
    const mem = r.Memory;
    if (mem) {
      if (mem.Limit) writes.push(['memory.max', mem.Limit < 0 ? 'max' : String(mem.Limit)]);
      if (mem.Reservation) writes.push(['memory.low', mem.Reservation < 0 ? 'max' : String(mem.Reservation)]);
      if (mem.Swap) {
        // v1's memsw limit is memory + swap; v2 limits swap alone.
        const swap = mem.Swap < 0 ? 'max' : String(Math.max(0, mem.Swap - (mem.Limit && mem.Limit > 0 ? mem.Limit : 0)));
        writes.push(['memory.swap.max', swap]);
      }
    }
    const cpu = r.CPU;
    if (cpu) {
      if (cpu.Shares) writes.push(['cpu.weight', String(sharesToWeight(cpu.Shares))]);
      if (cpu.Quota || cpu.Period) {
        const quota = cpu.Quota && cpu.Quota > 0 ? String(cpu.Quota) : 'max';
        writes.push(['cpu.max', `${quota} ${cpu.Period || 100000}`]);
      }
      if (cpu.Cpus) writes.push(['cpuset.cpus', cpu.Cpus]);
      if (cpu.Mems) writes.push(['cpuset.mems', cpu.Mems]);
    }
    if (r.Pids?.Limit) writes.push(['pids.max', r.Pids.Limit > 0 ? String(r.Pids.Limit) : 'max']);
    for (const [file, value] of writes) {
      const p = path.join(this.dir, file);
      if (!(await fs.stat(p).then(() => true, () => false))) {
        throw new UnavailableError(`cgroup ${this.dir} has no ${file} (controller not enabled)`);
      }
      await fs.writeFile(p, value);
    }
  }

  private read(file: string): Promise<string> {
    return fs.readFile(path.join(this.dir, file), 'utf8');
  }

  private async setFrozen(frozen: boolean): Promise<void> {
    const file = path.join(this.dir, 'cgroup.freeze');
    if (!(await fs.stat(file).then(() => true, () => false))) throw new UnavailableError(`cgroup ${this.dir} cannot be frozen`);
    await fs.writeFile(file, frozen ? '1' : '0');
    const want = frozen ? 1 : 0;
    for (let i = 0; i < 500; i++) {
      const events = parseKeyValues(await this.read('cgroup.events').catch(() => ''));
      if ((events.get('frozen') ?? want) === want) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new UnavailableError(`cgroup ${this.dir} did not become ${frozen ? 'frozen' : 'thawed'}`);
  }
}
