import { promises as fs } from 'node:fs';

/** One Prometheus metric family in text exposition format. */
function family(name: string, help: string, type: 'gauge' | 'counter', samples: Array<[Record<string, string>, number]>): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');
    lines.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
  }
  return lines.join('\n');
}

const read = (p: string): Promise<string> => fs.readFile(p, 'utf8').catch(() => '');

/**
 * GetMetrics: the agent's own process (kata_agent_*) and the guest (kata_guest_*), as Kata's agent
 * exposes them for the shim to merge into its /metrics.
 */
export class Metrics {
  private scrapes = 0;

  constructor(private readonly containerCount: () => number) {}

  async collect(): Promise<string> {
    this.scrapes++;
    const [status, stat, loadavg, meminfo, procStat, fdCount, netdev, smaps] = await Promise.all([
      read('/proc/self/status'), read('/proc/self/stat'), read('/proc/loadavg'), read('/proc/meminfo'), read('/proc/stat'),
      fs.readdir('/proc/self/fd').then((f) => f.length, () => 0), read('/proc/net/dev'), read('/proc/self/smaps_rollup'),
    ]);
    const kb = (key: string, text: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
    const statFields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = 100;
    const utime = Number(statFields[11] ?? 0) / ticks;
    const stime = Number(statFields[12] ?? 0) / ticks;
    const mem = process.memoryUsage();
    const out: string[] = [
      family('kata_agent_scrape_count', 'Metrics scrape count', 'counter', [[{}, this.scrapes]]),
      family('kata_agent_process_cpu_seconds_total', 'Agent CPU time in seconds', 'counter', [[{ item: 'utime' }, utime], [{ item: 'stime' }, stime]]),
      family('kata_agent_total_rss', 'Agent resident set size in bytes', 'gauge', [[{}, kb('VmRSS', status)]]),
      // What the RSS is made of: the agent's own memory, and pages of mapped files (node's binary, shared page cache).
      family('kata_agent_rss_anon', 'Agent anonymous resident memory in bytes', 'gauge', [[{}, kb('RssAnon', status)]]),
      family('kata_agent_rss_file', 'Agent resident pages of mapped files in bytes', 'gauge', [[{}, kb('RssFile', status)]]),
      family('kata_agent_total_vm', 'Agent virtual memory size in bytes', 'gauge', [[{}, kb('VmSize', status)]]),
      family('kata_agent_memory', 'Agent resident memory by kind (smaps_rollup) in bytes', 'gauge',
        ['Rss', 'Pss', 'Anonymous', 'Shared_Clean', 'Private_Clean', 'Private_Dirty'].map((k) => [{ item: k }, kb(k, smaps)] as [Record<string, string>, number])),
      family('kata_agent_threads', 'Agent threads', 'gauge', [[{}, Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0)]]),
      family('kata_agent_fds', 'Agent open file descriptors', 'gauge', [[{}, fdCount]]),
      family('kata_agent_heap_bytes', 'Agent JavaScript heap', 'gauge', [[{ item: 'used' }, mem.heapUsed], [{ item: 'total' }, mem.heapTotal]]),
      family('kata_agent_containers', 'Containers the agent manages', 'gauge', [[{}, this.containerCount()]]),
    ];
    const [l1, l5, l15, tasks] = loadavg.split(' ');
    const [running, total] = (tasks ?? '0/0').split('/');
    out.push(family('kata_guest_load', 'Guest load averages', 'gauge', [[{ item: 'load1' }, Number(l1)], [{ item: 'load5' }, Number(l5)], [{ item: 'load15' }, Number(l15)]]));
    out.push(family('kata_guest_tasks', 'Guest tasks', 'gauge', [[{ item: 'running' }, Number(running)], [{ item: 'total' }, Number(total)]]));
    const memSamples: Array<[Record<string, string>, number]> = [];
    for (const m of meminfo.matchAll(/^(\w+)(?:\((\w+)\))?:\s+(\d+)(?: kB)?$/gm)) {
      memSamples.push([{ item: m[2] ? `${m[1]}_${m[2]}` : m[1]! }, Number(m[3]) * (m[0].endsWith('kB') ? 1024 : 1)]);
    }
    out.push(family('kata_guest_meminfo', 'Guest /proc/meminfo in bytes', 'gauge', memSamples));
    const cpuLine = /^cpu\s+(.*)$/m.exec(procStat)?.[1]?.split(/\s+/).map(Number) ?? [];
    const cpuItems = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'];
    out.push(family('kata_guest_cpu_time', 'Guest CPU time in seconds', 'counter',
      cpuItems.map((item, i) => [{ cpu: 'total', item }, (cpuLine[i] ?? 0) / ticks] as [Record<string, string>, number])));
    const netSamples: Array<[Record<string, string>, number]> = [];
    for (const line of netdev.split('\n').slice(2)) {
      const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      const v = m[2]!.trim().split(/\s+/).map(Number);
      netSamples.push([{ interface: m[1]!, item: 'recv_bytes' }, v[0] ?? 0], [{ interface: m[1]!, item: 'sent_bytes' }, v[8] ?? 0]);
    }
    out.push(family('kata_guest_netdev_stat', 'Guest network device statistics', 'gauge', netSamples));
    return `${out.join('\n')}\n`;
  }
}
