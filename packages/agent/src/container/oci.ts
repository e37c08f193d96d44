// Kata's grpc.Spec (oci.proto, PascalCase fields, zero values for "unset") → OCI runtime-spec JSON
// (config.json as crun reads it). Fields the guest must not take from the host are dropped here:
// hooks (Kata runs guest hooks from its own path, never host-supplied ones).
import type { LinuxResources, OciProcess, Spec } from '../proto';

type Json = Record<string, unknown>;

/** Drops undefined, empty strings, empty arrays and empty objects. */
function compact<T extends Json>(o: T): T {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    out[k] = v;
  }
  return out as T;
}

const nz = (n: number | null | undefined): number | undefined => (n ? n : undefined);
const list = <T>(a: T[] | null | undefined): T[] => a ?? [];

/** The OCI "process" object. */
export function processToOci(p: OciProcess): Json {
  const caps = p.Capabilities;
  return compact({
    terminal: p.Terminal || undefined,
    consoleSize: p.ConsoleSize && (p.ConsoleSize.Height || p.ConsoleSize.Width)
      ? { height: p.ConsoleSize.Height ?? 0, width: p.ConsoleSize.Width ?? 0 }
      : undefined,
    user: {
      uid: p.User?.UID ?? 0,
      gid: p.User?.GID ?? 0,
      ...(list(p.User?.AdditionalGids).length ? { additionalGids: p.User!.AdditionalGids } : {}),
      ...(p.User?.Username ? { username: p.User.Username } : {}),
    },
    args: list(p.Args),
    env: list(p.Env),
    cwd: p.Cwd || '/',
    capabilities: caps
      ? compact({
        bounding: list(caps.Bounding), effective: list(caps.Effective), inheritable: list(caps.Inheritable),
        permitted: list(caps.Permitted), ambient: list(caps.Ambient),
      })
      : undefined,
    rlimits: list(p.Rlimits).map((r) => ({ type: r.Type, hard: r.Hard ?? 0, soft: r.Soft ?? 0 })),
    noNewPrivileges: p.NoNewPrivileges || undefined,
    apparmorProfile: p.ApparmorProfile,
    oomScoreAdj: p.OOMScoreAdj || undefined,
    selinuxLabel: p.SelinuxLabel,
  });
}

/** The OCI "linux.resources" object. */
export function resourcesToOci(r: LinuxResources | null | undefined): Json | undefined {
  if (!r) return undefined;
  const m = r.Memory;
  const c = r.CPU;
  const out = compact({
    devices: list(r.Devices).map((d) => compact({
      allow: !!d.Allow, type: d.Type, major: d.Major ? d.Major : undefined, minor: d.Minor ? d.Minor : undefined, access: d.Access,
    })),
    memory: m ? compact({
      limit: nz(m.Limit), reservation: nz(m.Reservation), swap: nz(m.Swap), swappiness: nz(m.Swappiness),
      disableOOMKiller: m.DisableOOMKiller || undefined,
    }) : undefined,
    cpu: c ? compact({
      shares: nz(c.Shares), quota: nz(c.Quota), period: nz(c.Period), realtimeRuntime: nz(c.RealtimeRuntime),
      realtimePeriod: nz(c.RealtimePeriod), cpus: c.Cpus, mems: c.Mems,
    }) : undefined,
    pids: r.Pids?.Limit ? { limit: r.Pids.Limit } : undefined,
    hugepageLimits: list(r.HugepageLimits).map((h) => ({ pageSize: h.Pagesize, limit: h.Limit ?? 0 })),
  });
  return Object.keys(out).length ? out : undefined;
}

/** The whole config.json, with root.path and cgroupsPath set by the agent. */
/** Newest runtime-spec the guest's crun (Debian 12's 1.8.1) accepts: it refuses 1.2 and later outright. */
export const GUEST_CRUN_OCI_VERSION = '1.1.0';

/**
 * The ociVersion written for crun. containerd 2.x stamps specs 1.2.x ("unknown version specified" from
 * crun 1.8.1); nothing the agent writes needs more than 1.1, so newer versions are written as 1.1.0 and
 * older ones are kept.
 */
export function ociVersionForCrun(version: string | null | undefined): string {
  const m = /^(\d+)\.(\d+)\./.exec(version ?? '');
  if (!m) return GUEST_CRUN_OCI_VERSION;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major === 1 && minor <= 1 ? version! : GUEST_CRUN_OCI_VERSION;
}

export function specToOci(spec: Spec, rootPath: string, cgroupsPath: string | undefined): Json {
  const l = spec.Linux ?? {};
  const idmap = (m: { HostID?: number | null; ContainerID?: number | null; Size?: number | null }) => ({
    containerID: m.ContainerID ?? 0, hostID: m.HostID ?? 0, size: m.Size ?? 0,
  });
  const seccomp = l.Seccomp && l.Seccomp.DefaultAction
    ? compact({
      defaultAction: l.Seccomp.DefaultAction,
      architectures: list(l.Seccomp.Architectures),
      flags: list(l.Seccomp.Flags),
      syscalls: list(l.Seccomp.Syscalls).map((s) => compact({
        names: list(s.Names), action: s.Action,
        errnoRet: s.errnoret ?? undefined,
        args: list(s.Args).map((a) => compact({ index: a.Index ?? 0, value: a.Value ?? 0, valueTwo: nz(a.ValueTwo), op: a.Op })),
      })),
    })
    : undefined;
  const linux = compact({
    uidMappings: list(l.UIDMappings).map(idmap),
    gidMappings: list(l.GIDMappings).map(idmap),
    sysctl: l.Sysctl && Object.keys(l.Sysctl).length ? l.Sysctl : undefined,
    resources: resourcesToOci(l.Resources),
    cgroupsPath,
    namespaces: list(l.Namespaces).map((n) => compact({ type: n.Type, path: n.Path })),
    devices: list(l.Devices).map((d) => compact({
      path: d.Path, type: d.Type, major: d.Major ?? 0, minor: d.Minor ?? 0, fileMode: nz(d.FileMode),
      uid: d.UID ?? undefined, gid: d.GID ?? undefined,
    })),
    seccomp,
    rootfsPropagation: l.RootfsPropagation,
    maskedPaths: list(l.MaskedPaths),
    readonlyPaths: list(l.ReadonlyPaths),
    mountLabel: l.MountLabel,
  });
  return compact({
    ociVersion: ociVersionForCrun(spec.Version),
    process: processToOci(spec.Process ?? {}),
    root: { path: rootPath, readonly: !!spec.Root?.Readonly },
    hostname: spec.Hostname,
    mounts: list(spec.Mounts).map((m) => compact({ destination: m.destination, source: m.source, type: m.type, options: list(m.options) })),
    annotations: spec.Annotations && Object.keys(spec.Annotations).length ? spec.Annotations : undefined,
    // Always the default persona: crun applies it before the process starts, so flags crun itself ran
    // with (ADDR_NO_RANDOMIZE under AgentConfig.crunFixedLayout) never reach the workload.
    linux: { ...linux, personality: { domain: 'LINUX' } },
  });
}
