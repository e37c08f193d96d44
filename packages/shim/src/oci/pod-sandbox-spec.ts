/**
 * A pod sandbox created through containerd's Sandbox API has no pause container and so no OCI spec:
 * CreateSandbox brings the CRI's PodSandboxConfig and the pod's netns path instead. This turns them
 * into the spec the VM boot already understands (hostname, annotations with the CRI's sandbox sizing
 * keys, the network namespace) plus CreateSandbox's dns lines, so a pod booted either way gets the
 * same VM.
 */
import { CONTAINER_TYPE_KEYS, SANDBOX_ID_KEYS, SandboxSizing } from './annotations';
import type { OciSpec } from './spec';

/** The parts of a CRI PodSandboxConfig the shim uses (translated from the wire at the service). */
export interface PodConfig {
  hostname: string;
  /** The pod's annotations (all of them: the configuration's annotation allow-list decides what counts). */
  annotations: Record<string, string>;
  dns?: { servers: string[]; searches: string[]; options: string[] };
  /** linux.resources: what the CRI would have put in the sandbox sizing annotations of a pause container. */
  resources?: { cpuPeriod: number; cpuQuota: number; cpuShares: number; memoryLimitInBytes: number };
}

export interface PodSandboxSpecInput {
  sandboxId: string;
  pod: PodConfig;
  /** The pod's network namespace ('' for a host-network pod: no NIC). */
  netnsPath: string;
  /** CreateSandboxRequest.annotations, on top of the pod's. */
  annotations?: Record<string, string>;
}

/** The spec a pause container of this pod would have carried, as far as booting the VM goes. */
export function podSandboxSpec(input: PodSandboxSpecInput): OciSpec {
  const { pod } = input;
  const annotations: Record<string, string> = { ...pod.annotations, ...input.annotations };
  // Set last: derived from the request, never taken from what a pod author wrote.
  annotations[CONTAINER_TYPE_KEYS[0]] = 'sandbox';
  annotations[SANDBOX_ID_KEYS[0]] = input.sandboxId;
  for (const key of Object.values(SandboxSizing)) delete annotations[key];
  const r = pod.resources;
  if (r) {
    annotations[SandboxSizing.cpuPeriod] = String(r.cpuPeriod);
    annotations[SandboxSizing.cpuQuota] = String(r.cpuQuota);
    annotations[SandboxSizing.cpuShares] = String(r.cpuShares);
    annotations[SandboxSizing.memory] = String(r.memoryLimitInBytes);
  }
  return {
    ociVersion: '1.1.0',
    hostname: pod.hostname,
    annotations,
    linux: { namespaces: input.netnsPath ? [{ type: 'network', path: input.netnsPath }] : [] },
  };
}

/** resolv.conf lines for CreateSandbox (Kata's dns list), as the CRI would have written the file. */
export function podDnsLines(dns: PodConfig['dns']): string[] {
  if (!dns) return [];
  const lines = dns.servers.filter(Boolean).map((s) => `nameserver ${s}`);
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(' ')}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(' ')}`);
  return lines;
}
