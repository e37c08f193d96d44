import { netnsPathOf } from '../network/netns';
import { podPlacement, requestedSizing } from './annotations';
import { podDnsLines, podSandboxSpec } from './pod-sandbox-spec';

describe('the boot spec of a Sandbox API pod', () => {
  it('carries the netns, hostname and the CRI sandbox sizing keys derived from linux.resources', () => {
    const spec = podSandboxSpec({
      sandboxId: 'pod',
      netnsPath: '/var/run/netns/cni-1',
      pod: { hostname: 'h', annotations: { a: '1' }, resources: { cpuPeriod: 100000, cpuQuota: 150000, cpuShares: 2, memoryLimitInBytes: 3 << 20 } },
    });
    expect(netnsPathOf(spec)).toBe('/var/run/netns/cni-1');
    expect(spec.hostname).toBe('h');
    expect(podPlacement(spec, 'pod')).toEqual({ kind: 'sandbox', sandboxId: 'pod' });
    expect(requestedSizing(spec, 'sandbox')).toEqual({ vcpus: 2, memoryMiB: 3 });
    expect(spec.annotations?.a).toBe('1');
  });

  it('never takes sizing or placement keys from what the pod author wrote; no netns, no network namespace', () => {
    const spec = podSandboxSpec({
      sandboxId: 'pod',
      netnsPath: '',
      pod: { hostname: '', annotations: { 'io.kubernetes.cri.sandbox-memory': String(1 << 30), 'io.kubernetes.cri.container-type': 'container' } },
      annotations: { 'io.kubernetes.cri.sandbox-id': 'other' },
    });
    expect(requestedSizing(spec, 'sandbox')).toEqual({ vcpus: 0, memoryMiB: 0 });
    expect(podPlacement(spec, 'pod')).toEqual({ kind: 'sandbox', sandboxId: 'pod' });
    expect(netnsPathOf(spec)).toBeUndefined();
  });

  it('writes the dns config as resolv.conf lines', () => {
    expect(podDnsLines({ servers: ['10.0.0.10', ''], searches: ['a', 'b'], options: ['ndots:5'] })).toEqual(['nameserver 10.0.0.10', 'search a b', 'options ndots:5']);
    expect(podDnsLines({ servers: [], searches: [], options: [] })).toEqual([]);
    expect(podDnsLines(undefined)).toEqual([]);
  });
});
