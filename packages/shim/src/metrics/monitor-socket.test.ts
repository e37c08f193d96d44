import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Code, TtrpcError } from 'ttrpc-ts';
import { parseExposition } from '@kata-ts/protocol/metrics';
import type { AgentClient } from '../agent/agent-client';
import { silentLogger } from '../framework/logging';
import { SandboxMetrics } from './sandbox-metrics';
import { MONITOR_SOCKET, serveMonitor } from './monitor-socket';
import { shimRpcDurations } from './rpc-durations';

function get(socketPath: string, urlPath: string, method = 'GET'): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method, host: 'shim' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An agent whose GetMetrics answers what the test says (text or an error). */
function agentAnswering(answer: () => Promise<string>): AgentClient & { calls: number } {
  const agent = { calls: 0, closed: false, getMetrics: () => { agent.calls++; return answer(); } };
  return agent as unknown as AgentClient & { calls: number };
}

describe('a sandbox monitor endpoint', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'monitor-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves shim, hypervisor and guest families, each sample labelled with the sandbox id', async () => {
    const guestText = [
      '# HELP kata_guest_load Guest load', '# TYPE kata_guest_load gauge', 'kata_guest_load{item="load1",sandbox_id="forged"} 0.25',
      '# TYPE kata_shim_threads gauge', 'kata_shim_threads 99999', // the guest may not speak for the shim
      'kata_agent_total_rss 1234', 'not exposition text',
    ].join('\n');
    const agent = agentAnswering(async () => guestText);
    shimRpcDurations.observe('Create', 12);
    // The test process stands in for QEMU: any live pid the test may read.
    const metrics = new SandboxMetrics({ sandboxId: 'sb1', hypervisorPid: process.pid, helperPids: () => [], agent });
    const monitor = await serveMonitor(dir, metrics, 'virtio-serial:///x/agent.sock', silentLogger());
    try {
      expect(monitor.path).toBe(path.join(dir, MONITOR_SOCKET));
      const res = await get(monitor.path, '/metrics');
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
      const { families, dropped } = parseExposition(res.body);
      expect(dropped).toBe(0);
      const byName = new Map(families.map((f) => [f.name, f]));
      for (const name of ['kata_shim_threads', 'kata_shim_proc_status', 'kata_shim_fds', 'kata_hypervisor_threads', 'kata_hypervisor_proc_stat',
        'kata_guest_load', 'kata_agent_total_rss', 'kata_shim_rpc_durations_histogram_milliseconds']) {
        expect(byName.get(name)?.samples.length).toBeGreaterThan(0);
      }
      for (const f of families) for (const s of f.samples) expect(s.labels.sandbox_id).toBe('sb1');
      expect(byName.get('kata_shim_threads')!.samples[0]!.value).not.toBe(99999);
      expect(byName.get('kata_shim_threads')!.samples).toHaveLength(1);
      expect(byName.get('kata_shim_agent_metrics_dropped_lines_total')!.samples[0]!.value).toBe(3);
      expect(byName.get('kata_shim_agent_metrics_up')!.samples[0]!.value).toBe(1);
      expect(res.body).toMatch(/^kata_shim_rpc_durations_histogram_milliseconds_count\{sandbox_id="sb1",action="Create"\} [1-9]/m);
      expect((await get(monitor.path, '/agent-url')).body).toBe('virtio-serial:///x/agent.sock\n');
      expect((await get(monitor.path, '/nope')).status).toBe(404);
      expect((await get(monitor.path, '/metrics', 'POST')).status).toBe(405);
    } finally {
      await monitor.close();
    }
  });

  it('still serves the host side when the agent fails, and stops asking an agent without GetMetrics', async () => {
    let answer: () => Promise<string> = () => Promise.reject(new TtrpcError(Code.DEADLINE_EXCEEDED, 'timed out'));
    const agent = agentAnswering(() => answer());
    const metrics = new SandboxMetrics({ sandboxId: 'sb2', hypervisorPid: 2 ** 22 + 7, helperPids: () => [], agent });
    const first = parseExposition(await metrics.collect()).families;
    expect(first.find((f) => f.name === 'kata_shim_agent_metrics_up')!.samples[0]!.value).toBe(0);
    expect(first.some((f) => f.name === 'kata_shim_threads')).toBe(true);
    expect(first.some((f) => f.name.startsWith('kata_hypervisor_'))).toBe(false); // that pid does not exist
    answer = () => Promise.reject(new TtrpcError(Code.UNIMPLEMENTED, 'no'));
    await metrics.collect();
    await metrics.collect();
    expect(agent.calls).toBe(2);
  });
});
