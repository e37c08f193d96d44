/**
 * The spec as the guest must see it, after Kata's constrainGRPCSpec: no hooks, the seccomp filter
 * kept for crun in the guest unless the configuration turns guest seccomp off
 * ([runtime] disable_guest_seccomp), no host devices, no cgroup/network/time namespaces (the VM is the
 * boundary), namespace paths blanked, a PID namespace path (or, for a pod container, none: host PID)
 * turned into sandbox_pidns, resource
 * fields the guest cannot honour dropped, the root at the guest rootfs path, and host bind-mount
 * sources replaced by their paths in the shared directory (the lower directories of an overlay of host
 * directories too: oci/overlay-mount.ts).
 *
 * A container with no UTS namespace of its own (CRI host-network pods: containerd drops the UTS
 * namespace but keeps the pod hostname) runs in the guest's UTS namespace, which the agent already
 * named after the sandbox at CreateSandbox; its hostname is then dropped rather than refused by crun.
 * Any other hostname without a UTS namespace is left for crun to refuse, as runc would.
 */
import { InvalidArgumentError } from '../errors';
import type { ShareAccess } from '../fs/share';
import { isOverlayMount, overlayForGuest } from './overlay-mount';
import type { OciMount, OciSpec } from './spec';

const DROPPED_NAMESPACES = new Set(['cgroup', 'network', 'time']);

/** True for an OCI mount that binds a host path (the ones that must go through the share). */
export function isBindMount(m: OciMount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** Host paths that never cross into the guest: its own /proc, /sys and /dev are used instead. */
function isSystemPath(p: string): boolean {
  return ['/proc', '/sys', '/dev'].some((root) => p === root || p.startsWith(`${root}/`));
}

/** containerd and CRI-O ask for a recursively read-only bind with `rro` alone (no `ro` beside it). */
function shareAccess(options: readonly string[]): ShareAccess {
  if (options.includes('rro')) return 'rro';
  return options.includes('ro') ? 'ro' : 'rw';
}

export interface GuestSpecInput {
  /** Guest path of the container's rootfs. */
  rootfs: string;
  /** The guest's hostname (the sandbox's, set at CreateSandbox). */
  guestHostname: string;
  /** Shares a host path and returns where the guest sees it. */
  shareHostPath: (source: string, destination: string, access: ShareAccess) => Promise<string>;
  /**
   * The guest applies the container's seccomp filter (crun loads it, as runc does on a host);
   * false drops the filter ([runtime] disable_guest_seccomp = true).
   */
  guestSeccomp: boolean;
  /**
   * A later container of a CRI pod (not its sandbox). One of those with no PID namespace at all asks
   * for the host's (CRI-O's HostPID; containerd instead passes the pause container's namespace path):
   * in a VM the nearest thing is the pod's shared PID namespace, never the guest's own, where the agent runs.
   */
  podContainer?: boolean;
}

export interface GuestSpec {
  spec: OciSpec;
  /** The container joins the sandbox's PID namespace. */
  sandboxPidns: boolean;
}

export async function guestSpec(spec: OciSpec, input: GuestSpecInput): Promise<GuestSpec> {
  const out: OciSpec = JSON.parse(JSON.stringify(spec)) as OciSpec;
  delete out.hooks;
  out.root = { path: input.rootfs, readonly: !!spec.root?.readonly };

  const mounts: OciMount[] = [];
  for (const m of out.mounts ?? []) {
    if (isOverlayMount(m)) {
      mounts.push(await overlayForGuest(m, (dir) => input.shareHostPath(dir, m.destination, 'ro')));
      continue;
    }
    if (!isBindMount(m)) {
      mounts.push(m);
      continue;
    }
    if (!m.source || isSystemPath(m.source) || isSystemPath(m.destination)) continue;
    mounts.push({ ...m, source: await input.shareHostPath(m.source, m.destination, shareAccess(m.options ?? [])) });
  }
  out.mounts = mounts;

  let sandboxPidns = false;
  const linux = out.linux;
  if (linux) {
    if (!input.guestSeccomp) delete linux.seccomp;
    else if (linux.seccomp?.listenerPath) {
      // SCMP_ACT_NOTIFY hands syscalls to a seccomp agent on the host, which nothing in the guest can reach.
      throw new InvalidArgumentError(`seccomp listenerPath ${linux.seccomp.listenerPath} is a host socket the guest cannot reach`);
    }
    delete linux.devices;
    const namespaces = [];
    for (const ns of linux.namespaces ?? []) {
      if (DROPPED_NAMESPACES.has(ns.type)) continue;
      if (ns.type === 'pid' && ns.path) {
        sandboxPidns = true;
        continue;
      }
      namespaces.push({ type: ns.type });
    }
    if (input.podContainer && !(linux.namespaces ?? []).some((ns) => ns.type === 'pid')) sandboxPidns = true;
    linux.namespaces = namespaces;
    if (out.hostname && out.hostname === input.guestHostname && !namespaces.some((ns) => ns.type === 'uts')) delete out.hostname;
    const r = linux.resources;
    if (r) {
      delete r.devices;
      delete r.pids;
      delete r.blockIO;
      delete r.network;
      if (r.cpu) {
        delete r.cpu.cpus;
        delete r.cpu.mems;
      }
    }
  }
  return { spec: out, sandboxPidns };
}
