/**
 * The view of a sandbox VM the task runtime works with, so tests can put a fake (a fake agent over
 * a socket, a share that only records) where production boots QEMU (boot.ts).
 */
import type { AgentClient } from '../agent/agent-client';
import type { ShimConfig } from '../config/config';
import type { MountSpec, Submount } from '../fs/mount';
import type { ShareAccess } from '../fs/share';
import type { ContainerKind } from '../oci/annotations';
import type { OciSpec } from '../oci/spec';

export interface ShareLike {
  mountRootfs(containerId: string, mounts: readonly MountSpec[], hostRootfs: string | undefined): Promise<string>;
  shareHostPath(containerId: string, source: string, destination: string, access: ShareAccess): Promise<string>;
  /** The host mounts below a path shareHostPath returned for the container (relative, parents first). */
  submountsOf(containerId: string, guestPath: string): readonly Submount[];
  releaseContainer(containerId: string): Promise<void>;
}

export interface PodVm {
  readonly id: string;
  /** Host directory of the sandbox (recorded in bundles for `delete`). */
  readonly dir: string;
  /** The hypervisor's pid. */
  readonly pid: number;
  /** The guest's own hostname (CreateSandbox's), which containers without a UTS namespace see. */
  readonly hostname: string;
  /** crun in the guest applies containers' seccomp filters ([runtime] disable_guest_seccomp unset). */
  readonly guestSeccomp: boolean;
  readonly agent: AgentClient;
  readonly share: ShareLike;
  readonly alive: boolean;
  onDeath(listener: (reason: string) => void): void;
  ensureAlive(): void;
  /** Grows the VM's memory to at least totalMiB (hot-plug); never shrinks it. */
  ensureMemory(totalMiB: number): Promise<void>;
  stop(): Promise<void>;
}

export interface BootRequest {
  sandboxId: string;
  kind: ContainerKind;
  /** The first container's spec (sizing annotations, hostname). */
  spec: OciSpec;
  config: ShimConfig;
  /** CreateSandbox's dns lines when known up front (Sandbox API); else read from the spec's resolv.conf mount. */
  dns?: string[];
  /**
   * The first container's host hooks (prestart, createRuntime), run once its network namespace exists
   * and before it is scanned for the VM's NICs. With them, a spec that asks for a new network namespace
   * gets one (nerdctl's hook puts the container's CNI interfaces there).
   */
  createHooks?: (netnsPath: string | undefined) => Promise<void>;
}

export type BootSandbox = (req: BootRequest) => Promise<PodVm>;
