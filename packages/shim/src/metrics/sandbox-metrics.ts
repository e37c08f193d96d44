/**
 * What a sandbox's /metrics says: the shim's own process and RPC timings (kata_shim_*), its QEMU
 * (kata_hypervisor_*), virtiofsd when there is one (kata_virtiofsd_*), and the agent's view of the
 * guest (kata_agent_*, kata_guest_*), every sample labelled with the sandbox id.
 *
 * The agent's text comes from the guest, so it is read as untrusted: only its own two prefixes,
 * bounded samples and labels, its sandbox_id labels replaced by the host's. A guest that does not
 * answer costs its own families, never the shim's.
 */
import { netdevFamily, parseExposition, processFamilies, writeExposition, family, type Family } from '@kata-ts/protocol/metrics';
import { TtrpcError, Code } from 'ttrpc-ts';
import type { AgentClient } from '../agent/agent-client';
import { agentRpcDurations, shimRpcDurations } from './rpc-durations';

/** What the agent's text may contain, at most. */
const GUEST_LIMITS = { prefixes: ['kata_agent_', 'kata_guest_'], maxSamples: 5_000, maxLabels: 8, maxValueLength: 256 } as const;

export interface MetricsSource {
  sandboxId: string;
  hypervisorPid: number;
  helperPids(): number[];
  agent: AgentClient;
}

export class SandboxMetrics {
  /** Kata's shim stops asking an agent that does not implement GetMetrics; so does this one. */
  private agentHasMetrics = true;
  private guestLinesDropped = 0;
  private guestFailures = 0;

  constructor(private readonly source: MetricsSource) {}

  /** The exposition text of one scrape. */
  async collect(): Promise<string> {
    const { hypervisorPid } = this.source;
    const [shim, hypervisor, netdev, helpers, guest] = await Promise.all([
      processFamilies('kata_shim', 'self'),
      processFamilies('kata_hypervisor', hypervisorPid),
      netdevFamily('kata_hypervisor', hypervisorPid),
      Promise.all(this.source.helperPids().map((pid) => processFamilies('kata_virtiofsd', pid))),
      this.guestFamilies(),
    ]);
    const families = [
      ...shim, shimRpcDurations.toFamily(), agentRpcDurations.toFamily(), ...this.ownFamilies(guest !== undefined),
      ...hypervisor, ...(netdev ? [netdev] : []), ...helpers.flat(), ...(guest ?? []),
    ];
    return writeExposition(withSandboxId(families, this.source.sandboxId));
  }

  private ownFamilies(guestAnswered: boolean): Family[] {
    return [
      family('kata_shim_agent_metrics_up', 'Whether the agent answered GetMetrics on this scrape', 'gauge', [[{}, guestAnswered ? 1 : 0]]),
      family('kata_shim_agent_metrics_failures_total', 'GetMetrics calls that failed', 'counter', [[{}, this.guestFailures]]),
      family('kata_shim_agent_metrics_dropped_lines_total', 'Lines of the agent\'s metrics the shim did not accept', 'counter', [[{}, this.guestLinesDropped]]),
    ];
  }

  private async guestFamilies(): Promise<Family[] | undefined> {
    if (!this.agentHasMetrics || this.source.agent.closed) return undefined;
    let text: string;
    try {
      text = await this.source.agent.getMetrics();
    } catch (err) {
      this.guestFailures++;
      if (err instanceof TtrpcError && (err.code === Code.UNIMPLEMENTED || err.code === Code.NOT_FOUND)) this.agentHasMetrics = false;
      return undefined;
    }
    const { families, dropped } = parseExposition(text, GUEST_LIMITS);
    this.guestLinesDropped += dropped;
    return families;
  }
}

/** Every sample labelled sandbox_id=<id>, first among its labels; a sandbox_id already there is replaced. */
function withSandboxId(families: Family[], sandboxId: string): Family[] {
  for (const f of families) {
    for (const s of f.samples) {
      const { sandbox_id: _ignored, ...rest } = s.labels;
      s.labels = { sandbox_id: sandboxId, ...rest };
    }
  }
  return families;
}
