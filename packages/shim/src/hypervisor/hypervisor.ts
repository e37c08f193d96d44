/**
 * What the sandbox needs from a hypervisor driver. QEMU implements it today (qemu.ts); Cloud
 * Hypervisor and Firecracker drivers can implement it later (their agent channel is hybrid vsock).
 */
import type { Duplex } from 'node:stream';

/** How the shim reaches the agent. */
export type AgentChannel =
  /**
   * qemuListens: QEMU serves the socket (a warm pool VM, whose agent changes hands), else the
   * shim listens and QEMU connects.
   */
  | { kind: 'virtio-serial'; socketPath: string; qemuListens?: boolean }
  | { kind: 'vsock'; cid: number; port: number };

/** How the sandbox's shared directory reaches the guest (mount tag kataShared). */
export type ShareDevice =
  | { kind: 'virtio-9p'; hostPath: string; msize: number }
  | { kind: 'virtio-fs'; socketPath: string };

/** A NIC of the VM: a virtio-net device on a tap that already exists in the pod netns. */
export interface NicSpec {
  id: string;
  tap: string;
  mac: string;
  /** vhost-net (only when /dev/vhost-net was probed usable). */
  vhost: boolean;
  /** Slot on the guest's root PCI bus (the agent finds the NIC by it). */
  pciSlot: number;
}

/** Everything needed to boot one sandbox VM. */
export interface VmSpec {
  sandboxId: string;
  /** Directory for this VM's sockets and pid file (0700, created by the caller). */
  dir: string;
  accel: 'kvm' | 'tcg';
  /** TCG's translation buffer in MiB (0 or none: QEMU's default). */
  tcgTbSizeMiB?: number;
  /** A virtio-balloon with free page reporting (the guest hands freed memory back). */
  freePageReporting?: boolean;
  vcpus: number;
  memoryMiB: number;
  /** Upper bound for memory hot-plug (MiB) and the DIMM slots for it; none: no hot-plug. */
  maxMemoryMiB?: number;
  memorySlots?: number;
  kernel: string;
  initrd?: string;
  /** -bios image (empty: QEMU's default firmware). */
  firmware?: string;
  /** Read-only root filesystem image attached as /dev/vda. */
  image?: string;
  kernelParams: string[];
  agentChannel: AgentChannel;
  share: ShareDevice;
  /** Extra CPU features for `-cpu host,...` under KVM. */
  cpuFeatures: string;
  entropySource: string;
  /** The pod's NICs (none: no network device at all). */
  nics?: NicSpec[];
  /** The pod network namespace QEMU runs in when it has NICs (their taps live there). */
  netnsPath?: string;
  /**
   * Guest RAM in a file, for VM templates: `shared` maps it MAP_SHARED (the template VM writes the
   * file), otherwise it is a private copy-on-write view of it (a clone: the file never changes).
   */
  memoryFile?: { path: string; shared: boolean };
  /** Start paused, waiting for device state (a clone of a template; see migration.ts). */
  incoming?: boolean;
  /** QMP socket QEMU listens on (templates and clones need it). */
  qmpSocket?: string;
  /**
   * The guest's log port (virtio-serial agent.log.0): QEMU serves this socket and the shim reads the
   * agent's log lines from it. None: no log port (the agent logs to the console).
   */
  logSocket?: string;
  /**
   * The debug console's port (virtio-serial agent.console.0, [agent.kata] debug_console_enabled):
   * QEMU serves this socket, the guest agent runs a root shell for whoever connects. None: no port.
   */
  consoleSocket?: string;
  /** Empty PCIe root ports for NIC hot-plug (template VMs and their clones; see nic-hotplug.ts). */
  hotplugPorts?: number;
}

/** How a hypervisor process ended. */
export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Hypervisor {
  /** Launches the VM; resolves once the hypervisor runs and the agent channel is being set up. */
  start(): Promise<void>;
  /** The byte stream to the guest agent (each call may dial anew). */
  connectAgent(timeoutMs: number): Promise<Duplex>;
  /** The guest's log stream (the agent's log lines), when the VM has a log port. */
  connectLog?(timeoutMs: number): Promise<Duplex | undefined>;
  /** The debug console's stream (kata-ts exec), when the VM has the console port. */
  connectConsole?(timeoutMs: number): Promise<Duplex | undefined>;
  /** The hypervisor's host pid (reported as every task's pid, as Kata does). */
  readonly pid: number;
  /** QEMU's -name when it is not sandbox-<sandbox id> (an adopted pool VM): how cleanup recognises it. */
  readonly name?: string;
  /** Settles when the hypervisor process has ended, however it ended. */
  readonly exited: Promise<VmExit>;
  /** Host pids of helper processes (virtiofsd) that must die with the VM. */
  helperPids(): number[];
  /** The hypervisor's last words (stderr lines), for error messages. */
  diagnostics(): string[];
  /** Hot-plugs `mib` MiB of guest RAM (one DIMM); the guest still has to online it. */
  addMemory(mib: number): Promise<void>;
  /** Kills the hypervisor and waits for it to end. Idempotent. */
  stop(): Promise<void>;
}
