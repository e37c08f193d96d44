import { promises as fs } from 'node:fs';
import { family, processFamilies, writeExposition, type Family, type Labels } from '@kata-ts/protocol/metrics';

const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '');

/** Clock ticks per second (USER_HZ). */
const TICKS = 100;

/** `Key: value [kB]` lines (status, meminfo, smaps_rollup) in bytes. */
function kb(key: string, text: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
}

/**
 * GetMetrics: the agent's own process (kata_agent_*) and the guest (kata_guest_*), with Kata's
 * family names, for the shim to merge into its /metrics.
 */
export class Metrics {
  private scrapes = 0;

  constructor(private readonly containerCount: () => number) {}

  async collect(): Promise<string> {
    this.scrapes++;
    const [own, agent, guest] = await Promise.all([processFamilies('kata_agent', 'self'), this.agentFamilies(), guestFamilies()]);
    return writeExposition([...agent, ...own, ...guest]);
  }

  private async agentFamilies(): Promise<Family[]> {
    const [status, smaps] = await Promise.all([read('/proc/self/status'), read('/proc/self/smaps_rollup')]);
    const mem = process.memoryUsage();
    return [
      family('kata_agent_scrape_count', 'Metrics scrape count', 'counter', [[{}, this.scrapes]]),
      family('kata_agent_total_rss', 'Agent resident set size in bytes', 'gauge', [[{}, kb('VmRSS', status)]]),
      // What the RSS is made of: the agent's own memory, and pages of mapped files (node's binary, shared page cache).
      family('kata_agent_rss_anon', 'Agent anonymous resident memory in bytes', 'gauge', [[{}, kb('RssAnon', status)]]),
      family('kata_agent_rss_file', 'Agent resident pages of mapped files in bytes', 'gauge', [[{}, kb('RssFile', status)]]),
      family('kata_agent_total_vm', 'Agent virtual memory size in bytes', 'gauge', [[{}, kb('VmSize', status)]]),
      family('kata_agent_memory', 'Agent resident memory by kind (smaps_rollup) in bytes', 'gauge',
        ['Rss', 'Pss', 'Anonymous', 'Shared_Clean', 'Private_Clean', 'Private_Dirty'].map((k) => [{ item: k }, kb(k, smaps)] as [Labels, number])),
      family('kata_agent_heap_bytes', 'Agent JavaScript heap', 'gauge', [[{ item: 'used' }, mem.heapUsed], [{ item: 'total' }, mem.heapTotal]]),
      family('kata_agent_containers', 'Containers the agent manages', 'gauge', [[{}, this.containerCount()]]),
    ];
  }
}

/** The guest as a whole: load, tasks, memory, vmstat, CPU time, network and disks. */
async function guestFamilies(): Promise<Family[]> {
  const [loadavg, meminfo, procStat, vmstat, netdev, diskstats] = await Promise.all([
    read('/proc/loadavg'), read('/proc/meminfo'), read('/proc/stat'), read('/proc/vmstat'), read('/proc/net/dev'), read('/proc/diskstats'),
  ]);
  const [l1, l5, l15, tasks] = loadavg.split(' ');
  const [running, total] = (tasks ?? '0/0').split('/');
  const memSamples: Array<[Labels, number]> = [];
  for (const m of meminfo.matchAll(/^(\w+)(?:\((\w+)\))?:\s+(\d+)( kB)?$/gm)) {
    memSamples.push([{ item: m[2] ? `${m[1]}_${m[2]}` : m[1]! }, Number(m[3]) * (m[4] ? 1024 : 1)]);
  }
  const cpuSamples: Array<[Labels, number]> = [];
  const cpuItems = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'];
  for (const m of procStat.matchAll(/^(cpu\d*)\s+(.*)$/gm)) {
    const values = m[2]!.split(/\s+/).map(Number);
    const cpu = m[1] === 'cpu' ? 'total' : m[1]!.slice(3);
    cpuItems.forEach((item, i) => cpuSamples.push([{ cpu, item }, (values[i] ?? 0) / TICKS]));
  }
  const vmSamples = [...vmstat.matchAll(/^(\w+) (\d+)$/gm)].map((m) => [{ item: m[1]! }, Number(m[2])] as [Labels, number]);
  const netSamples: Array<[Labels, number]> = [];
  for (const line of netdev.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    netSamples.push([{ interface: m[1]!, item: 'recv_bytes' }, v[0] ?? 0], [{ interface: m[1]!, item: 'recv_packets' }, v[1] ?? 0],
      [{ interface: m[1]!, item: 'sent_bytes' }, v[8] ?? 0], [{ interface: m[1]!, item: 'sent_packets' }, v[9] ?? 0]);
  }
  const diskSamples: Array<[Labels, number]> = [];
  for (const line of diskstats.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14 || /^(loop|ram)/.test(f[2]!)) continue;
    const disk = f[2]!;
    diskSamples.push([{ disk, item: 'reads' }, Number(f[3])], [{ disk, item: 'sectors_read' }, Number(f[5])],
      [{ disk, item: 'writes' }, Number(f[7])], [{ disk, item: 'sectors_written' }, Number(f[9])]);
  }
  return [
    family('kata_guest_load', 'Guest load averages', 'gauge', [[{ item: 'load1' }, Number(l1)], [{ item: 'load5' }, Number(l5)], [{ item: 'load15' }, Number(l15)]]),
    family('kata_guest_tasks', 'Guest tasks', 'gauge', [[{ item: 'running' }, Number(running)], [{ item: 'total' }, Number(total)]]),
    family('kata_guest_meminfo', 'Guest /proc/meminfo in bytes', 'gauge', memSamples),
    family('kata_guest_vm_stat', 'Guest /proc/vmstat', 'gauge', vmSamples),
    family('kata_guest_cpu_time', 'Guest CPU time in seconds', 'counter', cpuSamples),
    family('kata_guest_netdev_stat', 'Guest network device statistics', 'gauge', netSamples),
    family('kata_guest_diskstat', 'Guest disk statistics (/proc/diskstats)', 'gauge', diskSamples),
  ];
}
