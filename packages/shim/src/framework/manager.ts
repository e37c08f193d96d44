/**
 * What the shim framework (flags, start, delete, serve) needs from a runtime. The framework knows
 * containerd's binary contract; the runtime (kata/manager.ts) knows pods, VMs and agents.
 */
import type { CallContext, ServiceImplementation, TtrpcError } from 'ttrpc-ts';
import type { AnyMessage } from '@kata-ts/protocol';
import type { SandboxService, TaskService } from '@kata-ts/protocol/containerd';
import type { ShimFlags } from './flags';
import type { Logger } from './logging';
import type { Publisher } from './publisher';

/** Which shim serves a container. */
export interface ShimGroup {
  /** Id hashed into the socket address: the container's own, or its pod's sandbox id. */
  groupId: string;
  /** True when this container starts a new shim (a sandbox or a single container); false to reuse the pod's. */
  ownsShim: boolean;
  /**
   * Run a new daemon in a mount namespace of its own (propagation slave), so every mount it makes
   * disappears with it and its VM, whatever way they end. False when the caller mounts rootfs and
   * volumes itself after the shim started, in places that do not propagate (CRI-O): the daemon
   * must then see the caller's mount namespace, as upstream Kata's shim always does.
   */
  privateMountNamespace: boolean;
}

/** What the `delete` action reports (it becomes a DeleteResponse). */
export interface CleanupResult {
  pid: number;
  exitStatus: number;
  exitedAt: Date;
}

/** What serve mode gets to build the task service. */
export interface ServeContext {
  flags: ShimFlags;
  log: Logger;
  publisher: Publisher;
  /** Asks the shim process to stop serving and exit (after Shutdown). */
  requestExit: () => void;
  /** The runtime options `start` was given (containerd's handler options), passed down to serve mode. */
  runtimeOptions?: AnyMessage;
}

/** A running task service and how to stop it. */
export interface ShimService {
  task: ServiceImplementation<typeof TaskService>;
  /** containerd 2.x's Sandbox API (shim sandboxer), when the runtime offers it. */
  sandbox?: ServiceImplementation<typeof SandboxService>;
  /** The server's one error→status mapping, for every service on it (see ServerOptions.toStatus). */
  toStatus: (err: unknown, ctx: CallContext) => TtrpcError;
  /** Stops everything the service owns (VM, mounts, files); called once before exit. */
  close(): Promise<void>;
}

export interface ShimManager {
  /** Runtime name, e.g. io.containerd.kata.v2. */
  readonly name: string;
  readonly version: string;
  readonly revision: string;
  /** Decides the shim group from the container's bundle (cwd of `start`). */
  group(bundle: string, id: string): Promise<ShimGroup>;
  /** The `delete` action: clean up after a container whose shim may be gone. Must be idempotent and quick. */
  cleanup(flags: ShimFlags, bundle: string, log: Logger): Promise<CleanupResult>;
  /** Builds the task service in serve mode. */
  createService(ctx: ServeContext): Promise<ShimService>;
  /**
   * A VM for a new daemon to adopt (a warm pool VM), claimed in `start` because the daemon must be
   * started inside that VM's mount namespace; undefined: none (the daemon boots or clones its own).
   */
  claimVm?(bundle: string, id: string, options: AnyMessage | undefined): Promise<ClaimedVm | undefined>;
}

/** What claimVm hands the daemon. */
export interface ClaimedVm {
  /** Environment for the daemon (how it finds the VM, or why it got none). */
  env: Record<string, string>;
  /** A process in the mount namespace the daemon must run in (the VM's QEMU); none: no VM was claimed. */
  mountNamespacePid?: number;
}
