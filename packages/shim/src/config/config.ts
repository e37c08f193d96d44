/**
 * The shim's configuration: Kata's TOML layout and key names where they apply
 * ([hypervisor.qemu], [agent.kata], [runtime]), the built-in defaults, and parsing with type checks.
 * Unknown keys are ignored (Kata's files carry many this shim does not use).
 */
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { InvalidArgumentError } from '../errors';

export type Accel = 'auto' | 'kvm' | 'tcg';
export type SharedFs = 'virtio-9p' | 'virtio-fs';

/** [hypervisor.qemu] */
export interface HypervisorConfig {
  path: string;
  /** Guest kernel (vmlinux boots through PVH, vmlinuz as a bzImage). */
  kernel: string;
  /** Initramfs; with `image` it is the small stage-1 initrd that mounts the image. */
  initrd: string;
  /** Read-only root filesystem image attached as virtio-blk (empty: boot from the initrd alone). */
  image: string;
  /** Filesystem type of `image`. */
  rootfsType: string;
  machineType: string;
  /** Firmware for -bios (empty: QEMU's default, SeaBIOS). */
  firmware: string;
  accel: Accel;
  kernelParams: string;
  /** Extra CPU features for `-cpu host,...` (KVM). */
  cpuFeatures: string;
  defaultVcpus: number;
  /** Upper bound on vCPUs (0: the host's CPU count). */
  defaultMaxVcpus: number;
  /** Guest memory in MiB. */
  defaultMemory: number;
  sharedFs: SharedFs;
  /** virtiofsd binary; virtio-fs is used only when this is set and shared_fs = "virtio-fs". */
  virtioFsDaemon: string;
  virtioFsCache: string;
  virtioFsExtraArgs: string[];
  msize9p: number;
  /**
   * Under TCG only: QEMU's translation buffer in MiB (-accel tcg,tb-size); 0: QEMU's default (1 GiB,
   * touched as the guest runs code; here a pod's QEMU filled ~50-110 MiB of it). A smaller buffer
   * saves host memory per pod; when it fills, QEMU flushes it and translates again.
   */
  tcgTbSizeMiB: number;
  /**
   * Kata's reclaim_guest_freed_memory: a virtio-balloon device with free page reporting, so memory
   * the guest frees (a container's, the agent's) is handed back to the host instead of staying in
   * QEMU's resident set.
   */
  reclaimGuestFreedMemory: boolean;
  entropySource: string;
  enableDebug: boolean;
  /** Annotation keys (regular expressions over the part after io.katacontainers.config.hypervisor.) allowed to change settings. */
  enableAnnotations: string[];
  /** Paths `path` may be set to through an annotation. */
  validHypervisorPaths: string[];
}

/** [agent.kata] */
export interface AgentConfig {
  enableDebug: boolean;
  /** Seconds to wait for the agent to answer after the VM starts. */
  dialTimeout: number;
  kernelModules: string[];
  /** Seconds between Health.Check calls (0 disables the periodic check). */
  healthCheckInterval: number;
  /** Seconds a Health.Check may take before the VM is declared dead (a frozen or wedged guest). */
  healthCheckTimeout: number;
  /**
   * Kata's debug console: VMs get a console port (virtio-serial agent.console.0) on which the agent
   * runs a root shell for `kata-ts exec`. A root-equivalent door into every VM: off by default.
   */
  debugConsoleEnabled: boolean;
}

/** [runtime] */
export interface RuntimeConfig {
  enableDebug: boolean;
  /** Seconds CreateContainer may take in the agent. */
  createContainerTimeout: number;
  /** Where per-sandbox state (VM sockets, the shared directory) lives. */
  stateDir: string;
  /**
   * Drop containers' seccomp filters instead of having crun apply them in the guest (Kata's key;
   * off by default, so a RuntimeDefault or Localhost profile binds as it does under runc).
   */
  disableGuestSeccomp: boolean;
}

/** [factory] */
export interface FactoryConfig {
  /**
   * Start sandboxes as clones of a booted template VM (Kata's VM templating): the template's RAM
   * file is mapped copy-on-write and its device state restored, so the guest kernel and agent do
   * not boot again. Used when the sandbox's VM matches the template (9p share, virtio-serial agent
   * channel, default size); other sandboxes boot cold.
   */
  enableTemplate: boolean;
  /** Where templates live (RAM file + device state); a tmpfs keeps them off the disk. */
  templatePath: string;
  /**
   * Warm VMs `kata-ts factory serve` keeps ready (Kata's vm_cache_number): template clones already
   * resumed and warmed up, each handed to one new sandbox. 0: no pool.
   */
  vmCacheNumber: number;
  /** The pool's unix socket (Kata's vm_cache_endpoint); its directory holds the pool VMs. */
  vmCacheEndpoint: string;
}

export interface ShimConfig {
  hypervisor: HypervisorConfig;
  agent: AgentConfig;
  runtime: RuntimeConfig;
  factory: FactoryConfig;
  /** The file it came from, or "built-in defaults". */
  source: string;
}

/** Where the installer puts the guest image and kernel. */
export const ASSET_DIR = '/usr/share/kata-ts';

/** The configuration used when no file exists. */
export function defaultConfig(): ShimConfig {
  return {
    hypervisor: {
      path: '/usr/bin/qemu-system-x86_64',
      kernel: `${ASSET_DIR}/vmlinux`,
      initrd: `${ASSET_DIR}/kata-initrd.img`,
      image: '',
      rootfsType: 'erofs',
      machineType: 'q35',
      firmware: '',
      accel: 'auto',
      kernelParams: '',
      cpuFeatures: 'pmu=off',
      defaultVcpus: 1,
      defaultMaxVcpus: 0,
      defaultMemory: 512,
      sharedFs: 'virtio-9p',
      virtioFsDaemon: '',
      virtioFsCache: 'auto',
      virtioFsExtraArgs: [],
      msize9p: 512 * 1024,
      tcgTbSizeMiB: 0,
      reclaimGuestFreedMemory: false,
      entropySource: '/dev/urandom',
      enableDebug: false,
      enableAnnotations: [],
      validHypervisorPaths: [],
    },
    agent: { enableDebug: false, dialTimeout: 45, kernelModules: [], healthCheckInterval: 5, healthCheckTimeout: 15, debugConsoleEnabled: false },
    runtime: { enableDebug: false, createContainerTimeout: 60, stateDir: '/run/kata-ts', disableGuestSeccomp: false },
    factory: { enableTemplate: true, templatePath: '/run/kata-ts/template', vmCacheNumber: 0, vmCacheEndpoint: '/run/kata-ts/vm-cache/cache.sock' },
    source: 'built-in defaults',
  };
}

type Table = Record<string, unknown>;

function table(parent: Table | undefined, key: string): Table | undefined {
  const value = parent?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Table) : undefined;
}

/** Reads typed values out of one TOML table, naming the key in errors. */
class TableReader {
  constructor(private readonly t: Table | undefined, private readonly where: string) {}

  private bad(key: string, want: string): never {
    throw new InvalidArgumentError(`${this.where}.${key}: expected ${want}`);
  }

  string(key: string, fallback: string): string {
    const v = this.t?.[key];
    if (v === undefined) return fallback;
    return typeof v === 'string' ? v : this.bad(key, 'a string');
  }

  number(key: string, fallback: number, min = 0): number {
    const v = this.t?.[key];
    if (v === undefined) return fallback;
    const n = typeof v === 'bigint' ? Number(v) : v;
    return typeof n === 'number' && Number.isFinite(n) && n >= min ? n : this.bad(key, `a number >= ${min}`);
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.t?.[key];
    if (v === undefined) return fallback;
    return typeof v === 'boolean' ? v : this.bad(key, 'true or false');
  }

  strings(key: string, fallback: string[]): string[] {
    const v = this.t?.[key];
    if (v === undefined) return fallback;
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : this.bad(key, 'an array of strings');
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const v = this.string(key, fallback);
    return (allowed as readonly string[]).includes(v) ? (v as T) : this.bad(key, `one of ${allowed.join(', ')}`);
  }
}

/** Parses configuration TOML over the defaults. */
export function parseConfig(text: string, source: string): ShimConfig {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    throw new InvalidArgumentError(`${source}: ${(err as Error).message}`);
  }
  const d = defaultConfig();
  const h = new TableReader(table(table(doc, 'hypervisor'), 'qemu'), 'hypervisor.qemu');
  const a = new TableReader(table(table(doc, 'agent'), 'kata'), 'agent.kata');
  const r = new TableReader(table(doc, 'runtime'), 'runtime');
  const f = new TableReader(table(doc, 'factory'), 'factory');
  const dh = d.hypervisor;
  return {
    hypervisor: {
      path: h.string('path', dh.path),
      kernel: h.string('kernel', dh.kernel),
      initrd: h.string('initrd', dh.initrd),
      image: h.string('image', dh.image),
      rootfsType: h.string('rootfs_type', dh.rootfsType),
      machineType: h.oneOf('machine_type', 'q35', ['q35']),
      firmware: h.string('firmware', dh.firmware),
      accel: h.oneOf<Accel>('accel', dh.accel, ['auto', 'kvm', 'tcg']),
      kernelParams: h.string('kernel_params', dh.kernelParams),
      cpuFeatures: h.string('cpu_features', dh.cpuFeatures),
      defaultVcpus: h.number('default_vcpus', dh.defaultVcpus, 1),
      defaultMaxVcpus: h.number('default_maxvcpus', dh.defaultMaxVcpus),
      defaultMemory: h.number('default_memory', dh.defaultMemory, 64),
      sharedFs: h.oneOf<SharedFs>('shared_fs', dh.sharedFs, ['virtio-9p', 'virtio-fs']),
      virtioFsDaemon: h.string('virtio_fs_daemon', dh.virtioFsDaemon),
      virtioFsCache: h.string('virtio_fs_cache', dh.virtioFsCache),
      virtioFsExtraArgs: h.strings('virtio_fs_extra_args', dh.virtioFsExtraArgs),
      msize9p: h.number('msize_9p', dh.msize9p, 4096),
      tcgTbSizeMiB: Math.floor(h.number('tcg_tb_size', dh.tcgTbSizeMiB)),
      reclaimGuestFreedMemory: h.bool('reclaim_guest_freed_memory', dh.reclaimGuestFreedMemory),
      entropySource: h.string('entropy_source', dh.entropySource),
      enableDebug: h.bool('enable_debug', dh.enableDebug),
      enableAnnotations: h.strings('enable_annotations', dh.enableAnnotations),
      validHypervisorPaths: h.strings('valid_hypervisor_paths', dh.validHypervisorPaths),
    },
    agent: {
      enableDebug: a.bool('enable_debug', d.agent.enableDebug),
      dialTimeout: a.number('dial_timeout', d.agent.dialTimeout, 1),
      kernelModules: a.strings('kernel_modules', d.agent.kernelModules),
      healthCheckInterval: a.number('health_check_interval', d.agent.healthCheckInterval),
      healthCheckTimeout: a.number('health_check_timeout', d.agent.healthCheckTimeout, 1),
      debugConsoleEnabled: a.bool('debug_console_enabled', d.agent.debugConsoleEnabled),
    },
    runtime: {
      enableDebug: r.bool('enable_debug', d.runtime.enableDebug),
      createContainerTimeout: r.number('create_container_timeout', d.runtime.createContainerTimeout, 1),
      stateDir: r.string('state_dir', d.runtime.stateDir),
      disableGuestSeccomp: r.bool('disable_guest_seccomp', d.runtime.disableGuestSeccomp),
    },
    factory: {
      enableTemplate: f.bool('enable_template', d.factory.enableTemplate),
      templatePath: f.string('template_path', d.factory.templatePath),
      vmCacheNumber: Math.floor(f.number('vm_cache_number', d.factory.vmCacheNumber)),
      vmCacheEndpoint: f.string('vm_cache_endpoint', d.factory.vmCacheEndpoint),
    },
    source,
  };
}

/** The configuration as a TOML document with Kata's key names (parseConfig reads it back unchanged). */
export function configDocument(config: ShimConfig): Record<string, Record<string, unknown>> {
  const h = config.hypervisor;
  const a = config.agent;
  const r = config.runtime;
  return {
    hypervisor: {
      qemu: {
        path: h.path, kernel: h.kernel, initrd: h.initrd, image: h.image, rootfs_type: h.rootfsType,
        machine_type: h.machineType, firmware: h.firmware, accel: h.accel, kernel_params: h.kernelParams,
        cpu_features: h.cpuFeatures, default_vcpus: h.defaultVcpus, default_maxvcpus: h.defaultMaxVcpus,
        default_memory: h.defaultMemory, shared_fs: h.sharedFs, virtio_fs_daemon: h.virtioFsDaemon,
        virtio_fs_cache: h.virtioFsCache, virtio_fs_extra_args: h.virtioFsExtraArgs, msize_9p: h.msize9p,
        tcg_tb_size: h.tcgTbSizeMiB, reclaim_guest_freed_memory: h.reclaimGuestFreedMemory, entropy_source: h.entropySource, enable_debug: h.enableDebug, enable_annotations: h.enableAnnotations,
        valid_hypervisor_paths: h.validHypervisorPaths,
      },
    },
    agent: {
      kata: {
        enable_debug: a.enableDebug, dial_timeout: a.dialTimeout, kernel_modules: a.kernelModules,
        health_check_interval: a.healthCheckInterval, health_check_timeout: a.healthCheckTimeout,
        debug_console_enabled: a.debugConsoleEnabled,
      },
    },
    runtime: {
      enable_debug: r.enableDebug, create_container_timeout: r.createContainerTimeout, state_dir: r.stateDir,
      disable_guest_seccomp: r.disableGuestSeccomp,
    },
    factory: { enable_template: config.factory.enableTemplate, template_path: config.factory.templatePath, vm_cache_number: config.factory.vmCacheNumber, vm_cache_endpoint: config.factory.vmCacheEndpoint },
  };
}

/** configDocument as TOML text. */
export function configToml(config: ShimConfig): string {
  return stringifyToml(configDocument(config));
}
