/**
 * The one translation between the shim's domain types (OCI JSON shapes, agent/types.ts) and the
 * generated kata.grpc.AgentService messages. Nothing else in the shim touches `agent.*` protobuf types.
 */
import type { pb as kata } from '@kata-ts/protocol/kata';
import type {
  ContainerStats, CreateContainerParams, CreateSandboxParams, ExecProcessParams, GuestDetails, NetInterface, NetRoute, Storage,
} from './types';
import type { OciLinux, OciLinuxResources, OciLinuxSeccomp, OciMount, OciProcess, OciSpec } from '../oci/spec';


const n = (v: number | undefined | null): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const list = <T>(v: T[] | undefined | null): T[] => (Array.isArray(v) ? v : []);

export function processToPb(p: OciProcess): kata.grpc.Process.$Properties {
  return {
    Terminal: !!p.terminal,
    ConsoleSize: p.consoleSize ? { Height: n(p.consoleSize.height), Width: n(p.consoleSize.width) } : null,
    User: {
      UID: n(p.user?.uid),
      GID: n(p.user?.gid),
      AdditionalGids: list(p.user?.additionalGids).map(n),
      Username: p.user?.username ?? '',
    },
    Args: list(p.args),
    Env: list(p.env),
    Cwd: p.cwd ?? '/',
    Capabilities: p.capabilities
      ? {
          Bounding: list(p.capabilities.bounding),
          Effective: list(p.capabilities.effective),
          Inheritable: list(p.capabilities.inheritable),
          Permitted: list(p.capabilities.permitted),
          Ambient: list(p.capabilities.ambient),
        }
      : null,
    Rlimits: list(p.rlimits).map((r) => ({ Type: r.type, Hard: n(r.hard), Soft: n(r.soft) })),
    NoNewPrivileges: !!p.noNewPrivileges,
    ApparmorProfile: p.apparmorProfile ?? '',
    OOMScoreAdj: n(p.oomScoreAdj),
    SelinuxLabel: p.selinuxLabel ?? '',
  };
}

export function resourcesToPb(r: OciLinuxResources): kata.grpc.LinuxResources.$Properties {
  const cpu = r.cpu;
  const mem = r.memory;
  return {
    Devices: list(r.devices).map((d) => ({ Allow: !!d.allow, Type: d.type ?? '', Major: d.major ?? -1, Minor: d.minor ?? -1, Access: d.access ?? '' })),
    Memory: mem
      ? {
          Limit: n(mem.limit), Reservation: n(mem.reservation), Swap: n(mem.swap), Kernel: n(mem.kernel),
          KernelTCP: n(mem.kernelTCP), Swappiness: n(mem.swappiness), DisableOOMKiller: !!mem.disableOOMKiller,
        }
      : null,
    CPU: cpu
      ? {
          Shares: n(cpu.shares), Quota: n(cpu.quota), Period: n(cpu.period), RealtimeRuntime: n(cpu.realtimeRuntime),
          RealtimePeriod: n(cpu.realtimePeriod), Cpus: cpu.cpus ?? '', Mems: cpu.mems ?? '',
        }
      : null,
    Pids: r.pids ? { Limit: n(r.pids.limit) } : null,
    HugepageLimits: list(r.hugepageLimits).map((h) => ({ Pagesize: h.pageSize, Limit: n(h.limit) })),
  };
}

/**
 * The seccomp filter as oci.proto's LinuxSeccomp. An unset errnoRet stays unset (the oneof is
 * absent), so crun's default errno applies rather than errno 0, which would let the syscall "succeed".
 */
export function seccompToPb(s: OciLinuxSeccomp): kata.grpc.LinuxSeccomp.$Properties {
  return {
    DefaultAction: s.defaultAction,
    Architectures: list(s.architectures),
    Flags: list(s.flags),
    Syscalls: list(s.syscalls).map((c) => ({
      Names: list(c.names),
      Action: c.action,
      ...(typeof c.errnoRet === 'number' ? { errnoret: c.errnoRet } : {}),
      Args: list(c.args).map((a) => ({ Index: n(a.index), Value: n(a.value), ValueTwo: n(a.valueTwo), Op: a.op })),
    })),
  };
}

function linuxToPb(l: OciLinux): kata.grpc.Linux.$Properties {
  return {
    UIDMappings: list(l.uidMappings).map((m) => ({ HostID: n(m.hostID), ContainerID: n(m.containerID), Size: n(m.size) })),
    GIDMappings: list(l.gidMappings).map((m) => ({ HostID: n(m.hostID), ContainerID: n(m.containerID), Size: n(m.size) })),
    Sysctl: l.sysctl ?? {},
    Resources: l.resources ? resourcesToPb(l.resources) : null,
    CgroupsPath: l.cgroupsPath ?? '',
    Namespaces: list(l.namespaces).map((ns) => ({ Type: ns.type, Path: ns.path ?? '' })),
    Devices: list(l.devices).map((d) => ({
      Path: d.path, Type: d.type, Major: n(d.major), Minor: n(d.minor), FileMode: n(d.fileMode), UID: n(d.uid), GID: n(d.gid),
    })),
    Seccomp: l.seccomp ? seccompToPb(l.seccomp) : null,
    RootfsPropagation: l.rootfsPropagation ?? '',
    MaskedPaths: list(l.maskedPaths),
    ReadonlyPaths: list(l.readonlyPaths),
    MountLabel: l.mountLabel ?? '',
  };
}

function mountToPb(m: OciMount): kata.grpc.Mount.$Properties {
  return { destination: m.destination, source: m.source ?? '', type: m.type ?? '', options: list(m.options) };
}

/** The guest-side spec (already constrained by the caller) as oci.proto's Spec; hooks never cross. */
export function specToPb(spec: OciSpec): kata.grpc.Spec.$Properties {
  return {
    Version: spec.ociVersion ?? '',
    Process: spec.process ? processToPb(spec.process) : null,
    Root: spec.root ? { Path: spec.root.path, Readonly: !!spec.root.readonly } : null,
    Hostname: spec.hostname ?? '',
    Mounts: list(spec.mounts).map(mountToPb),
    Annotations: spec.annotations ?? {},
    Linux: spec.linux ? linuxToPb(spec.linux) : null,
  };
}

export function storageToPb(s: Storage): kata.grpc.Storage.$Properties {
  return {
    driver: s.driver,
    driverOptions: s.driverOptions ?? [],
    source: s.source,
    fstype: s.fstype,
    options: s.options,
    mountPoint: s.mountPoint,
    shared: !!s.shared,
  };
}

export function createSandboxToPb(p: CreateSandboxParams): kata.grpc.CreateSandboxRequest.$Properties {
  return {
    hostname: p.hostname,
    dns: p.dns,
    storages: p.storages.map(storageToPb),
    sandboxPidns: p.sandboxPidns,
    sandboxId: p.sandboxId,
    kernelModules: p.kernelModules.map((m) => ({ name: m.name, parameters: m.parameters })),
  };
}

export function createContainerToPb(p: CreateContainerParams): kata.grpc.CreateContainerRequest.$Properties {
  return {
    containerId: p.containerId,
    execId: p.execId,
    storages: p.storages.map(storageToPb),
    OCI: specToPb(p.spec),
    sandboxPidns: p.sandboxPidns,
  };
}

export function execProcessToPb(p: ExecProcessParams): kata.grpc.ExecProcessRequest.$Properties {
  return { containerId: p.containerId, execId: p.execId, process: processToPb(p.process) };
}

/** The agent's StatsContainerResponse as domain stats. */
export function statsFromPb(r: kata.grpc.StatsContainerResponse.$Properties): ContainerStats {
  const cg = r.cgroupStats ?? {};
  const cpu = cg.cpuStats ?? {};
  const mem = cg.memoryStats ?? {};
  const stats: Record<string, number> = {};
  for (const [k, v] of Object.entries(mem.stats ?? {})) stats[k] = n(Number(v));
  return {
    cpu: {
      totalUsageNs: n(cpu.cpuUsage?.totalUsage),
      userNs: n(cpu.cpuUsage?.usageInUsermode),
      kernelNs: n(cpu.cpuUsage?.usageInKernelmode),
      periods: n(cpu.throttlingData?.periods),
      throttledPeriods: n(cpu.throttlingData?.throttledPeriods),
      throttledTimeNs: n(cpu.throttlingData?.throttledTime),
    },
    memory: {
      cache: n(mem.cache),
      usage: n(mem.usage?.usage),
      maxUsage: n(mem.usage?.maxUsage),
      limit: n(mem.usage?.limit),
      failcnt: n(mem.usage?.failcnt),
      swapUsage: n(mem.swapUsage?.usage),
      swapLimit: n(mem.swapUsage?.limit),
      stats,
    },
    pids: { current: n(cg.pidsStats?.current), limit: n(cg.pidsStats?.limit) },
    network: list(r.networkStats).map((s) => ({
      name: s.name ?? '',
      rxBytes: n(s.rxBytes), rxPackets: n(s.rxPackets), rxErrors: n(s.rxErrors), rxDropped: n(s.rxDropped),
      txBytes: n(s.txBytes), txPackets: n(s.txPackets), txErrors: n(s.txErrors), txDropped: n(s.txDropped),
    })),
  };
}

/**
 * A WaitProcess status as the host may pass it on: an exit code or 128+signal, 0..255. The guest
 * decides its own exits, but not the host's types: a status outside that range (a hostile -1 would
 * reach containerd as 4294967295) is refused, and the caller records the status as unknown.
 */
export function exitStatusFromPb(status: number | null | undefined): number {
  const s = status ?? 0;
  if (!Number.isInteger(s) || s < 0 || s > 255) throw new Error(`the guest reported exit status ${s}, outside 0..255`);
  return s;
}

export function guestDetailsFromPb(r: kata.grpc.GuestDetailsResponse.$Properties): GuestDetails {
  return {
    agentVersion: r.agentDetails?.version ?? '',
    memBlockSizeBytes: n(r.memBlockSizeBytes),
    storageHandlers: list(r.agentDetails?.storageHandlers),
  };
}

/** types.IPFamily: v4 = 0, v6 = 1. */
const family = (f: number | null | undefined): 4 | 6 => (f === 1 ? 6 : 4);

export function interfaceToPb(i: NetInterface): kata.types.Interface.$Properties {
  return {
    device: i.device,
    name: i.name,
    IPAddresses: i.ipAddresses.map((a) => ({ family: a.family === 6 ? 1 : 0, address: a.address, mask: String(a.prefix) })),
    mtu: i.mtu,
    hwAddr: i.hwAddr,
    devicePath: i.devicePath,
    type: i.type,
    rawFlags: i.rawFlags,
  };
}

export function interfaceFromPb(i: kata.types.Interface.$Properties): NetInterface {
  return {
    device: i.device ?? '',
    name: i.name ?? '',
    ipAddresses: list(i.IPAddresses).map((a) => ({ family: family(a.family), address: a.address ?? '', prefix: Number(a.mask) || 0 })),
    mtu: n(Number(i.mtu)),
    hwAddr: i.hwAddr ?? '',
    devicePath: i.devicePath ?? '',
    type: i.type ?? '',
    rawFlags: n(i.rawFlags),
  };
}

export function routeToPb(r: NetRoute): kata.types.Route.$Properties {
  return {
    dest: r.dest, gateway: r.gateway, device: r.device, source: r.source, scope: r.scope,
    family: r.family === 6 ? 1 : 0, flags: r.flags, mtu: r.mtu,
  };
}

export function routeFromPb(r: kata.types.Route.$Properties): NetRoute {
  return {
    dest: r.dest ?? '', gateway: r.gateway ?? '', device: r.device ?? '', source: r.source ?? '', scope: n(r.scope),
    family: family(r.family), flags: n(r.flags), mtu: n(r.mtu),
  };
}
