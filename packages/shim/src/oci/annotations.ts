/**
 * What the OCI annotations say about a container's place in a pod (CRI, CRI-O and docker keys, in
 * Kata's order: oci.ContainerType / SandboxID), and how big the pod's VM should be.
 */
import type { OciSpec } from './spec';

/** Container type and sandbox keys, first present wins (src/runtime/pkg/oci/utils.go). */
export const CONTAINER_TYPE_KEYS = ['io.kubernetes.cri.container-type', 'io.kubernetes.cri-o.ContainerType', 'io.kubernetes.docker.type'] as const;
export const SANDBOX_ID_KEYS = ['io.kubernetes.cri.sandbox-id', 'io.kubernetes.cri-o.SandboxID', 'io.kubernetes.sandbox.id'] as const;

/** CRI-O's container-type key: CRI-O sets it on every container it creates (and never sets io.kubernetes.cri.*). */
export const CRIO_CONTAINER_TYPE_KEY = 'io.kubernetes.cri-o.ContainerType';

/** CRI sandbox sizing annotations (set on the pause container). */
export const SandboxSizing = {
  cpuPeriod: 'io.kubernetes.cri.sandbox-cpu-period',
  cpuQuota: 'io.kubernetes.cri.sandbox-cpu-quota',
  cpuShares: 'io.kubernetes.cri.sandbox-cpu-shares',
  memory: 'io.kubernetes.cri.sandbox-memory',
} as const;

/**
 * sandbox: the pod's first (pause) container, which creates the VM; pod-container: a later
 * container of a pod; single: no pod annotations (ctr run, nerdctl run), a pod of its own.
 */
export type ContainerKind = 'sandbox' | 'pod-container' | 'single';

export interface PodPlacement {
  kind: ContainerKind;
  /** The pod's sandbox id (the container's own id for sandbox and single containers). */
  sandboxId: string;
}

function firstAnnotation(spec: OciSpec, keys: readonly string[]): string | undefined {
  const annotations = spec.annotations ?? {};
  for (const key of keys) {
    const value = annotations[key];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** Where a container belongs, from its annotations. */
export function podPlacement(spec: OciSpec, containerId: string): PodPlacement {
  const type = firstAnnotation(spec, CONTAINER_TYPE_KEYS);
  if (type === 'sandbox' || type === 'podsandbox') return { kind: 'sandbox', sandboxId: containerId };
  if (type === 'container') {
    const sandboxId = firstAnnotation(spec, SANDBOX_ID_KEYS);
    if (sandboxId && sandboxId !== containerId) return { kind: 'pod-container', sandboxId };
  }
  return { kind: 'single', sandboxId: containerId };
}

/** True for a container created by CRI-O (which hands the shim an already-mounted rootfs path). */
export function isCrioContainer(spec: OciSpec): boolean {
  return !!spec.annotations?.[CRIO_CONTAINER_TYPE_KEY];
}

/** Extra vCPUs and MiB a pod or container asks for, on top of the configured VM defaults. */
export interface Sizing {
  vcpus: number;
  memoryMiB: number;
}

function positive(value: string | number | undefined): number {
  const n = typeof value === 'number' ? value : Number(value ?? NaN);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function sizingOf(quota: number, period: number, memoryBytes: number): Sizing {
  return {
    vcpus: quota > 0 && period > 0 ? Math.ceil(quota / period) : 0,
    memoryMiB: memoryBytes > 0 ? Math.ceil(memoryBytes / (1 << 20)) : 0,
  };
}

/**
 * Kata's CalculateSandboxSizing (pods: the CRI sandbox annotations) or CalculateContainerSizing
 * (single containers: the spec's own CPU quota and memory limit).
 */
export function requestedSizing(spec: OciSpec, kind: ContainerKind): Sizing {
  if (kind === 'sandbox') {
    const a = spec.annotations ?? {};
    return sizingOf(positive(a[SandboxSizing.cpuQuota]), positive(a[SandboxSizing.cpuPeriod]), positive(a[SandboxSizing.memory]));
  }
  const r = spec.linux?.resources;
  return sizingOf(positive(r?.cpu?.quota), positive(r?.cpu?.period), positive(r?.memory?.limit));
}
