/**
 * The pod sandbox of containerd's Sandbox API (`sandboxer = "shim"`): CreateSandbox records what
 * the pod asks for, StartSandbox boots its VM through the task runtime (which owns the VM, so the
 * pod's containers join it with Task.Create), StopSandbox stops containers and VM, WaitSandbox
 * waits for that, ShutdownSandbox lets the shim go. One shim serves one pod: PodSandboxes holds at
 * most one, and every other id is unknown.
 */
import type { AnyMessage } from '@kata-ts/protocol';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../errors';
import type { Logger } from '../framework/logging';
import { netnsPathOf } from '../network/netns';
import { podDnsLines, podSandboxSpec, type PodConfig } from '../oci/pod-sandbox-spec';
import type { OciSpec } from '../oci/spec';
import { Mutex } from './mutex';
import type { PodVm } from './pod-vm';
import { SANDBOX_STATES, type SandboxOps, type SandboxState, type SandboxStatus } from './pod-sandbox-state';
import { UNKNOWN_EXIT_STATUS } from './process';

/** What booting a pod VM without a container needs (TaskRuntime.startPod). */
export interface PodBootInput {
  sandboxId: string;
  /** The sandbox's bundle: it gets the record that lets `delete` clean up after a dead shim. */
  bundle: string;
  spec: OciSpec;
  dns: string[];
  /** Runtime options from `start` (runtimeoptions.v1.Options: the configuration path). */
  options?: AnyMessage | null;
}

/** What a pod sandbox needs from the task runtime, which owns the VM the pod's containers share. */
export interface PodHost {
  startPod(input: PodBootInput): Promise<PodVm>;
  /** Stops the containers (SIGKILL, up to graceMs for their exits), then the VM. */
  stopPod(graceMs: number): Promise<void>;
  /** Stops everything and lets the shim process exit. */
  shutdownPod(): Promise<void>;
}

export interface CreatePodInput {
  sandboxId: string;
  bundle: string;
  netnsPath: string;
  pod: PodConfig;
  annotations: Record<string, string>;
  /** Mounts for a sandbox rootfs: a VM sandbox has none of its own (containerd's CRI sends none). */
  rootfsMounts: number;
}

export interface SandboxExit {
  status: number;
  exitedAt: Date;
}

export interface SandboxInfo {
  id: string;
  status: SandboxStatus;
  /** The hypervisor's pid once started (0 before), as Task.Create reports for a pause container. */
  pid: number;
  createdAt: Date;
  exit?: SandboxExit;
  /** The VM's host directory, once started. */
  dir?: string;
  /** The pod's network namespace ('' for a host-network pod). */
  netnsPath: string;
}

/** StopSandbox without a timeout: how long SIGKILLed containers get to report their exits. */
const DEFAULT_STOP_GRACE_MS = 5_000;

export class PodSandbox {
  readonly createdAt = new Date();
  private state: SandboxState = SANDBOX_STATES.created;
  private vm: PodVm | undefined;
  private exit: SandboxExit | undefined;
  private resolveExit!: (exit: SandboxExit) => void;
  private readonly exited = new Promise<SandboxExit>((resolve) => (this.resolveExit = resolve));
  private readonly mutex = new Mutex();
  private readonly ops: SandboxOps;

  constructor(private readonly boot: PodBootInput, private readonly host: PodHost, private readonly log: Logger) {
    this.ops = {
      description: `sandbox ${boot.sandboxId}`,
      boot: async () => {
        const vm = await this.host.startPod(this.boot);
        this.vm = vm;
        vm.onDeath((reason) => {
          this.log.error({ reason }, 'sandbox VM died');
          this.state.died(this.ops, UNKNOWN_EXIT_STATUS);
        });
      },
      halt: (graceMs) => this.host.stopPod(graceMs),
      transition: (next, exitStatus) => this.transition(next, exitStatus),
    };
  }

  get id(): string {
    return this.boot.sandboxId;
  }

  /**
   * StartSandbox: boots the VM. Also returns the spec the VM was booted from, for containerd to keep
   * as the sandbox's (its NRI reads annotations from it, and logs an error per call when none is kept).
   */
  async start(): Promise<{ pid: number; createdAt: Date; spec: OciSpec }> {
    await this.mutex.run(() => this.state.start(this.ops));
    return { pid: this.vm?.pid ?? 0, createdAt: this.createdAt, spec: this.boot.spec };
  }

  /** StopSandbox: timeoutSecs bounds the wait for the containers' exits (0: a default). */
  stop(timeoutSecs: number): Promise<void> {
    const graceMs = timeoutSecs > 0 ? timeoutSecs * 1000 : DEFAULT_STOP_GRACE_MS;
    return this.mutex.run(() => this.state.stop(this.ops, graceMs));
  }

  /** WaitSandbox: resolves once the sandbox has stopped, however it stopped. */
  wait(): Promise<SandboxExit> {
    return this.exited;
  }

  info(): SandboxInfo {
    return {
      id: this.id, status: this.state.status, pid: this.vm?.pid ?? 0, createdAt: this.createdAt, exit: this.exit, dir: this.vm?.dir,
      netnsPath: netnsPathOf(this.boot.spec) ?? '',
    };
  }

  /** ShutdownSandbox: stops whatever still runs without waiting on containers, then lets the shim exit. */
  async shutdown(): Promise<void> {
    await this.mutex.run(() => this.state.stop(this.ops, 0));
    await this.host.shutdownPod();
  }

  private transition(next: SandboxStatus, exitStatus = 0): void {
    this.log.info({ from: this.state.status, to: next }, 'sandbox state');
    this.state = SANDBOX_STATES[next];
    if (next === 'stopped' && !this.exit) {
      this.exit = { status: exitStatus, exitedAt: new Date() };
      this.resolveExit(this.exit);
    }
  }
}

/** The one pod sandbox this shim serves through the Sandbox API, looked up by id. */
export class PodSandboxes {
  private current: PodSandbox | undefined;

  constructor(private readonly host: PodHost, private readonly log: Logger, private readonly runtimeOptions?: AnyMessage | null) {}

  /** CreateSandbox: records the pod; its VM boots on start. */
  create(input: CreatePodInput): PodSandbox {
    if (this.current) {
      if (this.current.id === input.sandboxId) throw new AlreadyExistsError(`sandbox ${input.sandboxId} already exists`);
      throw new FailedPreconditionError(`this shim already serves sandbox ${this.current.id}`);
    }
    const spec = podSandboxSpec({ sandboxId: input.sandboxId, pod: input.pod, netnsPath: input.netnsPath, annotations: input.annotations });
    const log = this.log.child({ sandbox: input.sandboxId });
    const boot: PodBootInput = { sandboxId: input.sandboxId, bundle: input.bundle, spec, dns: podDnsLines(input.pod.dns), options: this.runtimeOptions };
    this.current = new PodSandbox(boot, this.host, log);
    if (input.rootfsMounts > 0) log.warn({ mounts: input.rootfsMounts }, 'sandbox rootfs mounts ignored: the VM is the sandbox');
    log.info({
      netns: input.netnsPath || undefined, hostname: input.pod.hostname,
      podAnnotations: Object.keys(input.pod.annotations).length, requestAnnotations: Object.keys(input.annotations).length,
    }, 'sandbox created (Sandbox API: no pause container)');
    return this.current;
  }

  /** The sandbox with this id; NotFound for any other. */
  get(id: string): PodSandbox {
    const sb = this.current;
    if (!sb || sb.id !== id) throw new NotFoundError(`sandbox ${id} not found`);
    return sb;
  }

  /** ShutdownSandbox: the sandbox is stopped and forgotten; the shim exits. */
  async shutdown(id: string): Promise<void> {
    const sb = this.get(id);
    await sb.shutdown();
    this.current = undefined;
  }
}
