import path from 'node:path';
import { InvalidArgumentError } from '../errors';
import type { Spec } from '../proto';
import { resolveInside } from '../safe-path';

/** Namespaces a container joins instead of creating (paths of the sandbox container's init). */
export interface SharedNamespaces {
  pid?: string;
  ipc?: string;
  uts?: string;
}

/**
 * Kata's update_container_namespaces: IPC and UTS are the sandbox's, the PID namespace is the
 * sandbox's when sandbox_pidns is set (else a new one), and a mount namespace is always there.
 */
export function adjustNamespaces(spec: Spec, shared: SharedNamespaces): void {
  const linux = (spec.Linux ??= {});
  const list = (linux.Namespaces ?? []).filter((n) => n.Type !== 'pid');
  for (const n of list) {
    if (n.Type === 'ipc' && shared.ipc) n.Path = shared.ipc;
    if (n.Type === 'uts' && shared.uts) n.Path = shared.uts;
  }
  if (!list.some((n) => n.Type === 'mount')) list.push({ Type: 'mount', Path: '' });
  list.push({ Type: 'pid', Path: shared.pid ?? '' });
  linux.Namespaces = list;
  // A container that joins a UTS namespace cannot set its hostname (crun refuses).
  if (list.some((n) => n.Type === 'uts' && n.Path)) spec.Hostname = '';
}

/** A sysctl key: dot-separated names (no '/', no '..'), as /proc/sys/<key with '/' for '.'> is written. */
const SYSCTL_KEY = /^net(\.[A-Za-z0-9_-]+)+$/;

/**
 * Takes the net.* sysctls out of the spec of a container without a network namespace of its own (the
 * shim drops it: every container of the pod shares the guest's) and returns them. crun refuses them
 * there ("requires a new network namespace"); they belong to the guest's namespace, where the agent
 * sets them, as Kata's agent does. nerdctl asks for net.ipv4.ip_unprivileged_port_start = 0.
 */
export function takeGuestNetSysctls(spec: Spec): Record<string, string> {
  const linux = spec.Linux;
  if (!linux?.Sysctl || (linux.Namespaces ?? []).some((n) => n.Type === 'network')) return {};
  const taken: Record<string, string> = {};
  for (const [key, value] of Object.entries(linux.Sysctl)) {
    if (!key.startsWith('net.')) continue;
    if (!SYSCTL_KEY.test(key)) throw new InvalidArgumentError(`sysctl key ${JSON.stringify(key)} is not valid`);
    taken[key] = String(value);
    delete linux.Sysctl[key];
  }
  return taken;
}

/**
 * Checks every path of the spec that the guest would follow: bind-mount sources and overlay directories
 * must stay inside the allowed roots after symlinks are resolved, destinations must be absolute and free of '..'.
 */
export async function validateMounts(spec: Spec, roots: readonly string[]): Promise<void> {
  for (const m of spec.Mounts ?? []) {
    const dest = m.destination ?? '';
    if (!dest.startsWith('/') || dest.split('/').includes('..') || dest.includes('\0')) {
      throw new InvalidArgumentError(`mount destination ${JSON.stringify(dest)} must be absolute without '..'`);
    }
    const isBind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    if (isBind) {
      const resolved = await resolveInside(roots, m.source ?? '', `bind mount source for ${dest}`);
      m.source = resolved;
    }
    if (m.type === 'overlay') m.options = await overlayOptionsInside(m.options ?? [], roots, dest);
  }
}

const OVERLAY_DIR_OPTIONS = new Set(['lowerdir', 'upperdir', 'workdir']);

/** An overlay's directories (lowerdir, upperdir, workdir) resolved, each of them inside the allowed roots. */
async function overlayOptionsInside(options: readonly string[], roots: readonly string[], dest: string): Promise<string[]> {
  const out: string[] = [];
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    if (!OVERLAY_DIR_OPTIONS.has(key)) {
      out.push(option);
      continue;
    }
    // Overlay separates lower directories with ':' and lets a directory name escape one as '\:'.
    const dirs = option.slice(eq + 1).split(/(?<!\\):/);
    const resolved: string[] = [];
    for (const dir of dirs) resolved.push(await resolveInside(roots, dir.replace(/\\:/g, ':'), `overlay ${key} for ${dest}`));
    if (resolved.some((d) => d.includes(':'))) throw new InvalidArgumentError(`overlay ${key} for ${dest} resolves to a path with ':'`);
    out.push(`${key}=${resolved.join(':')}`);
  }
  return out;
}

/** The rootfs path: the spec's (relative paths are below <shared>/<id>/) or <shared>/<id>/rootfs. */
export function rootfsPath(spec: Spec, sharedDir: string, id: string): string {
  const p = spec.Root?.Path ?? '';
  if (!p) return path.join(sharedDir, id, 'rootfs');
  if (!p.startsWith('/')) {
    if (p.split('/').includes('..')) throw new InvalidArgumentError(`rootfs path ${JSON.stringify(p)} has '..'`);
    return path.join(sharedDir, id, p);
  }
  return p;
}
