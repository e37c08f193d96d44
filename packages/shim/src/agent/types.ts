/**
 * Domain types of the shim↔agent conversation. The rest of the shim speaks these; only trans.ts
 * knows the generated protobuf types of grpc.AgentService.
 */
import type { OciLinuxResources, OciProcess, OciSpec } from '../oci/spec';

/** A filesystem the agent mounts in the guest (agent.proto Storage). */
export interface Storage {
  driver: string;
  driverOptions?: string[];
  source: string;
  fstype: string;
  options: string[];
  mountPoint: string;
  /** Kept when the container that brought it goes away. */
  shared?: boolean;
}

export interface KernelModule {
  name: string;
  parameters: string[];
}

export interface CreateSandboxParams {
  sandboxId: string;
  hostname: string;
  dns: string[];
  storages: Storage[];
  sandboxPidns: boolean;
  kernelModules: KernelModule[];
}

export interface CreateContainerParams {
  containerId: string;
  /** The init process's id: equal to containerId, as in Kata. */
  execId: string;
  storages: Storage[];
  /** The spec as the guest must see it (paths already rewritten to guest paths). */
  spec: OciSpec;
  sandboxPidns: boolean;
}

export interface ExecProcessParams {
  containerId: string;
  /** The agent-side exec id (a UUID the shim generates, not containerd's). */
  execId: string;
  process: OciProcess;
}

/** An address of a guest interface (types.IPAddress; the mask is a prefix length). */
export interface NetIpAddress {
  family: 4 | 6;
  address: string;
  prefix: number;
}

/** A guest network interface (types.Interface). */
export interface NetInterface {
  device: string;
  name: string;
  ipAddresses: NetIpAddress[];
  mtu: number;
  /** The MAC the agent finds the link by. */
  hwAddr: string;
  /** Guest PCI path of the NIC ("10": slot 0x10 of the root bus), or "". */
  devicePath: string;
  type: string;
  rawFlags: number;
}

/** A guest route (types.Route); dest "" is the default route. */
export interface NetRoute {
  dest: string;
  gateway: string;
  device: string;
  source: string;
  scope: number;
  family: 4 | 6;
  flags: number;
  mtu: number;
}

/** What the agent reports about itself. */
export interface GuestDetails {
  agentVersion: string;
  memBlockSizeBytes: number;
  storageHandlers: string[];
}

/** A container's cgroup and network statistics as the agent reports them (cgroup v1-shaped, like Kata's). */
export interface ContainerStats {
  cpu: {
    totalUsageNs: number;
    userNs: number;
    kernelNs: number;
    periods: number;
    throttledPeriods: number;
    throttledTimeNs: number;
  };
  memory: {
    cache: number;
    usage: number;
    maxUsage: number;
    limit: number;
    failcnt: number;
    swapUsage: number;
    swapLimit: number;
    /** memory.stat as key → value. */
    stats: Record<string, number>;
  };
  pids: { current: number; limit: number };
  network: Array<{
    name: string;
    rxBytes: number;
    rxPackets: number;
    rxErrors: number;
    rxDropped: number;
    txBytes: number;
    txPackets: number;
    txErrors: number;
    txDropped: number;
  }>;
}

export type { OciLinuxResources, OciProcess, OciSpec };
