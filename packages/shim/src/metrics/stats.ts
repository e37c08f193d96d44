/**
 * The agent's container statistics as containerd's cgroup v2 Metrics (io.containerd.cgroups.v2.Metrics),
 * after Kata's metrics.go statsToMetricsV2: CPU times in microseconds, memory from usage and
 * memory.stat, pids and network counters.
 *
 * memory_events is always present: containerd's CRI (ListPodSandboxMetrics) reports
 * container_oom_events_total only when it is, and critest requires that metric. Kata's CgroupStats has
 * no field for memory.events' oom_kill, so the count is the OOM kills the agent reported for the
 * container (GetOOMEvent) while this shim ran; max is memory.events' max (the agent's failcnt).
 */
import { ContainerdTypeUrl, codecs, type pb } from '@kata-ts/protocol/containerd';
import { packAny, type AnyMessage } from '@kata-ts/protocol';
import type { ContainerStats } from '../agent/types';

type MetricsV2 = pb.io.containerd.cgroups.v2.Metrics.$Properties;

const us = (ns: number) => Math.floor(ns / 1000);

/** memory.stat keys carried over unchanged (cgroup v2 names). */
const MEMORY_STAT_KEYS: Record<string, keyof NonNullable<MetricsV2['memory']>> = {
  anon: 'anon', file: 'file', kernel_stack: 'kernelStack', slab: 'slab', sock: 'sock', shmem: 'shmem',
  file_mapped: 'fileMapped', file_dirty: 'fileDirty', file_writeback: 'fileWriteback', anon_thp: 'anonThp',
  inactive_anon: 'inactiveAnon', active_anon: 'activeAnon', inactive_file: 'inactiveFile', active_file: 'activeFile',
  unevictable: 'unevictable', slab_reclaimable: 'slabReclaimable', slab_unreclaimable: 'slabUnreclaimable',
  pgfault: 'pgfault', pgmajfault: 'pgmajfault',
};

/** What Stats reports for a container: the agent's statistics and the shim's own OOM-kill count. */
export interface TaskStats {
  container: ContainerStats;
  /** OOM kills the agent reported for the container (GetOOMEvent). */
  oomKills: number;
}

export function statsToMetricsV2({ container: s, oomKills }: TaskStats): MetricsV2 {
  const memory: NonNullable<MetricsV2['memory']> = {
    usage: s.memory.usage,
    usageLimit: s.memory.limit,
    maxUsage: s.memory.maxUsage,
    swapUsage: s.memory.swapUsage,
    swapLimit: s.memory.swapLimit,
  };
  for (const [key, field] of Object.entries(MEMORY_STAT_KEYS)) {
    const v = s.memory.stats[key];
    if (v !== undefined) (memory as Record<string, number>)[field] = v;
  }
  return {
    pids: { current: s.pids.current, limit: s.pids.limit },
    cpu: {
      usageUsec: us(s.cpu.totalUsageNs),
      userUsec: us(s.cpu.userNs),
      systemUsec: us(s.cpu.kernelNs),
      nrPeriods: s.cpu.periods,
      nrThrottled: s.cpu.throttledPeriods,
      throttledUsec: us(s.cpu.throttledTimeNs),
    },
    memory,
    memoryEvents: { max: s.memory.failcnt, oomKill: oomKills },
    network: s.network.map((n) => ({
      name: n.name,
      rxBytes: n.rxBytes, rxPackets: n.rxPackets, rxErrors: n.rxErrors, rxDropped: n.rxDropped,
      txBytes: n.txBytes, txPackets: n.txPackets, txErrors: n.txErrors, txDropped: n.txDropped,
    })),
  };
}

/** The Any StatsResponse carries. */
export function metricsAny(s: TaskStats): AnyMessage {
  return packAny(ContainerdTypeUrl.CgroupsV2Metrics, codecs.cgroupsV2Metrics, statsToMetricsV2(s));
}
