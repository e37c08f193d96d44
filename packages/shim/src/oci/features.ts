/**
 * The OCI runtime features document (runtime-spec features.md) of kata-ts: what a client may put in a
 * spec. containerd 2.x reads it from `-info` (RuntimeInfo.features) and CRI-O from the `features`
 * command, and both decide from its mount options whether the handler takes recursive read-only
 * mounts (`rro`; the share makes every host mount below a volume read-only and crun in the guest
 * applies `rro` there). No `linux` section: in particular no idmapped mounts and no user namespaces,
 * which the guest path does not carry, so neither client offers them.
 */

/** The mount options the guest's crun (1.8.1) accepts and the share carries. */
const MOUNT_OPTIONS = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'lazytime', 'mand', 'noatime', 'nodev',
  'nodiratime', 'noexec', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'private', 'rbind', 'rdev',
  'rdiratime', 'relatime', 'remount', 'rexec', 'rnoatime', 'rnodev', 'rnodiratime', 'rnoexec', 'rnorelatime',
  'rnostrictatime', 'rnosuid', 'ro', 'rprivate', 'rrelatime', 'rro', 'rrw', 'rshared', 'rslave', 'rstrictatime', 'rsuid',
  'runbindable', 'rw', 'shared', 'slave', 'strictatime', 'suid', 'sync', 'tmpcopyup', 'unbindable',
] as const;

export interface RuntimeFeatures {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  annotations: Record<string, string>;
}

export function runtimeFeatures(version: string): RuntimeFeatures {
  return {
    ociVersionMin: '1.0.0',
    // The agent writes newer specs as 1.1.0 for the guest's crun (packages/agent container/oci.ts).
    ociVersionMax: '1.2.1',
    // The host hooks oci/hooks.ts runs (createContainer and startContainer would have to run in the guest).
    hooks: ['prestart', 'createRuntime', 'poststart', 'poststop'],
    mountOptions: [...MOUNT_OPTIONS],
    annotations: { 'io.github.kata-ts.version': version },
  };
}
