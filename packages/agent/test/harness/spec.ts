import type { pb } from '@kata-ts/protocol/kata';

type Spec = pb.grpc.Spec.$Properties;

/** The namespaces a Kata host leaves in a spec (no network, no cgroup, no pid: see kata-reference §1.7). */
const NAMESPACES = [{ Type: 'mount' }, { Type: 'ipc' }, { Type: 'uts' }];

/** An OCI spec in Kata's wire form for a busybox process, as the shim would send it. */
export function busyboxSpec(args: string[], opts: { terminal?: boolean; rootPath?: string; mounts?: Spec['Mounts']; env?: string[] } = {}): Spec {
  return {
    Version: '1.0.2',
    Process: {
      Terminal: !!opts.terminal,
      User: { UID: 0, GID: 0 },
      Args: args,
      Env: opts.env ?? ['PATH=/bin', 'TERM=xterm'],
      Cwd: '/',
      Capabilities: {
        Bounding: ['CAP_KILL', 'CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE'],
        Effective: ['CAP_KILL', 'CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE'],
        Permitted: ['CAP_KILL', 'CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE'],
      },
      NoNewPrivileges: true,
    },
    Root: { Path: opts.rootPath ?? '', Readonly: false },
    Hostname: 'busybox',
    Mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ...(opts.mounts ?? []),
    ],
    Linux: {
      Namespaces: NAMESPACES.map((n) => ({ ...n })),
      MaskedPaths: ['/proc/kcore', '/proc/keys'],
      ReadonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
