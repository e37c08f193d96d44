import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnavailableError } from '../errors';
import { Cgroup } from './cgroup';

describe('Cgroup (on a fake cgroup directory)', () => {
  let dir: string;
  const put = (f: string, s: string) => writeFileSync(path.join(dir, f), s);
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cg-'));
    put('cgroup.procs', '10\n11\n');
    put('cgroup.events', 'populated 1\nfrozen 0\n');
    put('cgroup.freeze', '0');
    put('cpu.stat', 'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n');
    put('memory.current', '4096\n');
    put('memory.max', 'max\n');
    put('memory.stat', 'anon 1024\nfile 2048\nkernel_stack 16\nslab 32\n');
    put('memory.events', 'low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n');
    put('pids.current', '2\n');
    put('pids.max', '100\n');
    put('memory.max', 'max\n');
    put('cpu.max', 'max 100000\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('maps v2 statistics to Kata CgroupStats', async () => {
    const s = await new Cgroup(dir).stats();
    expect(s.cpuStats?.cpuUsage).toMatchObject({ totalUsage: 2_000_000, usageInUsermode: 1_500_000, usageInKernelmode: 500_000 });
    expect(s.cpuStats?.throttlingData).toEqual({ periods: 4, throttledPeriods: 1, throttledTime: 7000 });
    expect(s.memoryStats?.usage).toMatchObject({ usage: 4096, limit: 0, failcnt: 2 });
    expect(s.memoryStats?.cache).toBe(2048);
    expect(s.pidsStats).toEqual({ current: 2, limit: 100 });
    expect(await new Cgroup(dir).oomKills()).toBe(1);
    expect(await new Cgroup(dir).pids()).toEqual([10, 11]);
  });

  it('writes resources, and refuses ones whose controller is missing', async () => {
    const cg = new Cgroup(dir);
    await cg.update({ Memory: { Limit: 1 << 20 }, CPU: { Quota: 50000, Period: 100000 } });
    expect(readFileSync(path.join(dir, 'memory.max'), 'utf8')).toBe(String(1 << 20));
    expect(readFileSync(path.join(dir, 'cpu.max'), 'utf8')).toBe('50000 100000');
    await expect(cg.update({ CPU: { Cpus: '0' } })).rejects.toBeInstanceOf(UnavailableError);
  });

  it('freezes and waits for the kernel to say so', async () => {
    const cg = new Cgroup(dir);
    const p = cg.freeze();
    setTimeout(() => put('cgroup.events', 'populated 1\nfrozen 1\n'), 50);
    await p;
    expect(readFileSync(path.join(dir, 'cgroup.freeze'), 'utf8')).toBe('1');
  });
});
