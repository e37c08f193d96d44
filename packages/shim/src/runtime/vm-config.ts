/**
 * From configuration, the pod's sizing and the host to one VM's spec: vCPUs and memory (configured
 * defaults plus what the sandbox-sizing annotations or the container's limits ask, capped by
 * default_maxvcpus and the host), the agent channel (vhost-vsock when /dev/vhost-vsock exists,
 * else virtio-serial), the share (virtio-fs when a daemon is configured, else 9p).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { CONSOLE_SOCKET, LOG_SOCKET } from '../hypervisor/qemu-args';
import path from 'node:path';
import type { ShimConfig } from '../config/config';
import type { AgentChannel, ShareDevice, VmSpec } from '../hypervisor/hypervisor';
import { kernelParams } from '../hypervisor/kernel-params';
import { NIC_HOTPLUG_PORTS } from '../hypervisor/nic-hotplug';
import type { Sizing } from '../oci/annotations';

export const AGENT_VSOCK_PORT = 1024;
/** DIMM slots for memory hot-plug (Kata's default memory_slots). */
export const MEMORY_SLOTS = 10;

export interface VmSizing {
  vcpus: number;
  memoryMiB: number;
}

export function vmSizing(config: ShimConfig, requested: Sizing, hostCpus = os.cpus().length): VmSizing {
  const h = config.hypervisor;
  const max = Math.min(h.defaultMaxVcpus > 0 ? h.defaultMaxVcpus : hostCpus, hostCpus);
  return {
    vcpus: Math.max(1, Math.min(h.defaultVcpus + requested.vcpus, max)),
    memoryMiB: h.defaultMemory + requested.memoryMiB,
  };
}

/** vhost-vsock when the host has it, else virtio-serial. */
export function chooseAgentChannel(vmDir: string, hasVhostVsock = existsSync('/dev/vhost-vsock')): AgentChannel {
  if (hasVhostVsock) {
    // CIDs 0-2 are reserved; a clash makes QEMU fail and the sandbox creation report it.
    const cid = 3 + Math.floor(Math.random() * 0x7fff_fff0);
    return { kind: 'vsock', cid, port: AGENT_VSOCK_PORT };
  }
  return { kind: 'virtio-serial', socketPath: path.join(vmDir, 'agent.sock') };
}

export function shareDevice(config: ShimConfig, vmDir: string, sharedDir: string): ShareDevice {
  const h = config.hypervisor;
  if (h.sharedFs === 'virtio-fs' && h.virtioFsDaemon) return { kind: 'virtio-fs', socketPath: path.join(vmDir, 'vhost-fs.sock') };
  return { kind: 'virtio-9p', hostPath: sharedDir, msize: h.msize9p };
}

export interface VmSpecInput {
  config: ShimConfig;
  sandboxId: string;
  sandboxDir: string;
  sharedDir: string;
  accel: 'kvm' | 'tcg';
  sizing: VmSizing;
  agentChannel: AgentChannel;
}

export function buildVmSpec(input: VmSpecInput): VmSpec {
  const { config } = input;
  const h = config.hypervisor;
  const vmDir = path.join(input.sandboxDir, 'vm');
  const debug = h.enableDebug || config.runtime.enableDebug;
  return {
    sandboxId: input.sandboxId,
    dir: vmDir,
    accel: input.accel,
    tcgTbSizeMiB: h.tcgTbSizeMiB || undefined,
    freePageReporting: h.reclaimGuestFreedMemory || undefined,
    vcpus: input.sizing.vcpus,
    memoryMiB: input.sizing.memoryMiB,
    // Pods grow by hot-plugged DIMMs as containers with memory limits join (up to the host's memory).
    maxMemoryMiB: Math.max(input.sizing.memoryMiB, Math.floor(os.totalmem() / 1048576)),
    memorySlots: MEMORY_SLOTS,
    qmpSocket: path.join(vmDir, 'qmp.sock'),
    logSocket: path.join(vmDir, LOG_SOCKET),
    consoleSocket: config.agent.debugConsoleEnabled ? path.join(vmDir, CONSOLE_SOCKET) : undefined,
    kernel: h.kernel,
    initrd: h.initrd || undefined,
    firmware: h.firmware || undefined,
    image: h.image || undefined,
    kernelParams: kernelParams({ debug, agentDebug: config.agent.enableDebug, rootfsType: h.image ? h.rootfsType : undefined, user: h.kernelParams, tcg: input.accel === 'tcg' }),
    agentChannel: input.agentChannel,
    share: shareDevice(config, vmDir, input.sharedDir),
    cpuFeatures: h.cpuFeatures,
    entropySource: h.entropySource,
    // Template VMs (and so every VM that may be one or clone one) carry ports to hot-plug NICs into.
    hotplugPorts: config.factory.enableTemplate ? NIC_HOTPLUG_PORTS : 0,
  };
}
