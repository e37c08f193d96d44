/** What `kata-ts check` learns about the host, as plain data (evaluate.ts judges it; tests inject it). */
import type { Accel, AccelDecision, SharedFs } from '@kata-ts/shim';
import type { LookupEntry } from '../config-lookup';

export interface PathFact {
  path: string;
  exists: boolean;
}

/** Versions read from the guest image's manifest.json. */
export interface ImageVersions {
  format?: string;
  kernel?: string;
  node?: string;
  crun?: string;
  /** sha256 of the agent bundle in the image. */
  agent?: string;
}

export interface HostFacts {
  config: { source: string; error?: string; lookup: LookupEntry[] };
  qemu: { path: string; version?: string; error?: string };
  accel: {
    configured: Accel;
    /** /dev/kvm exists and is readable and writable. */
    kvmDevice: boolean;
    decision?: AccelDecision;
    /** Where the probe's answer is cached. */
    cacheFile: string;
    /** Why the probe was not run. */
    skipped?: string;
    error?: string;
  };
  agentChannel: { kind: 'vsock' | 'virtio-serial'; vhostVsock: boolean };
  share: { configured: SharedFs; kind: 'virtio-9p' | 'virtio-fs'; daemon: string; daemonExists: boolean };
  image: { kernel: PathFact; initrd?: PathFact; image?: PathFact };
  manifest: { path: string; versions?: ImageVersions; error?: string };
  shim: { path?: string; version?: string; error?: string };
  templates: {
    enabled: boolean;
    path: string;
    /** Why this configuration's default sandbox cannot be a template clone (templates then unused). */
    unusable?: string;
    /** Templates ready on disk: key, when made, bytes of RAM file actually allocated. */
    ready: Array<{ key: string; madeAt: string; ramBytes: number }>;
  };
}
