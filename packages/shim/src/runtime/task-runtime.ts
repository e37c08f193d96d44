/**
 * The shim's domain: one pod (sandbox VM) and its containers. Task-service handlers call these
 * methods with domain values; this module decides what happens in which order (kata-reference §3):
 * the first container of a pod boots the VM, its init's exit stops the VM, a dead VM ends every
 * task with 255, and Shutdown lets the process go once no container is left. Under containerd's
 * Sandbox API the pod's VM boots before any container (startPod) and outlives them: only
 * ShutdownSandbox (shutdownPod) ends it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Code } from 'ttrpc-ts';
import type { AnyMessage } from '@kata-ts/protocol';
import type { TaskStats } from '../metrics/stats';
import { applyAnnotations } from '../config/annotations';
import type { ShimConfig } from '../config/config';
import { loadConfig, runtimeOptionsFrom } from '../config/load';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, codeOf, messageOf } from '../errors';
import { LimitedLogger, type Logger } from '../framework/logging';
import type { Publisher } from '../framework/publisher';
import type { MountSpec } from '../fs/mount';
import type { StdioPaths } from '../io/host-io';
import { podPlacement, requestedSizing, type ContainerKind } from '../oci/annotations';
import { guestSpec } from '../oci/guest-spec';
import { mirrorSubmounts } from '../oci/submounts';
import { hasCreateHooks, hookState, hooksOf, runCreateHooks, runHooks, type HookState } from '../oci/hooks';
import { readSpec, type OciLinuxResources, type OciProcess, type OciSpec } from '../oci/spec';
import { checkSpecPaths } from '../oci/spec-paths';
import { Container } from './container';
import { TaskEventSink } from './events';
import { Mutex } from './mutex';
import { PhaseClock } from './phase-clock';
import type { PodBootInput, PodHost } from './pod-sandbox';
import type { BootRequest, BootSandbox, PodVm } from './pod-vm';
import { UNKNOWN_EXIT_STATUS, type ExitInfo, type Process } from './process';
import type { ProcessStatus } from './process-state';
import { sandboxDir, writeBundleRecord } from './sandbox-files';
import { vmSizing } from './vm-config';

export interface CreateTaskInput {
  id: string;
  bundle: string;
  rootfs: MountSpec[];
  stdio: StdioPaths;
  /** CreateTaskRequest.options (runtimeoptions.v1.Options carries the configuration path). */
  options?: AnyMessage | null;
}

export interface TaskState {
  id: string;
  bundle: string;
  pid: number;
  status: ProcessStatus;
  stdio: StdioPaths;
  exit?: ExitInfo;
  execId: string;
}

export interface DeletedTask {
  pid: number;
  exitStatus: number;
  exitedAt: Date | undefined;
}

export interface RuntimeDeps {
  namespace: string;
  log: Logger;
  publisher: Publisher;
  bootSandbox: BootSandbox;
  requestExit: () => void;
  /** Write <bundle>/oom on OOM (CRI-O, which has no event address, looks for it). */
  oomFiles: boolean;
  loadConfig?: (options: AnyMessage | null | undefined) => Promise<ShimConfig>;
}

/** SIGKILL: what StopSandbox sends to the pod's containers still running. */
const SIGKILL = 9;

export class TaskRuntime implements PodHost {
  private readonly containers = new Map<string, Container>();
  private vm: PodVm | undefined;
  private readonly events: TaskEventSink;
  private readonly createMutex = new Mutex();
  /**
   * Set when the pod's VM grows with its containers: a sandbox without sizing annotations (e.g.
   * containerd 1.6's CRI) boots at the configured size, and each container's memory limit is then
   * hot-plugged (Kata's default, dynamic sizing). With the annotations the VM is sized at boot.
   */
  private memoryHotplug: { baseMiB: number; limitsMiB: Map<string, number> } | undefined;
  private stopping: Promise<void> | undefined;
  /** The VM was started through the Sandbox API: Task.Shutdown leaves it to ShutdownSandbox. */
  private podHeld = false;
  /**
   * The process is on its way out (Shutdown with no task, SIGTERM): a create still in flight is
   * abandoned. containerd 2.x, restarted while a create was running, finds a shim with no task
   * (Pids: not found), calls it leaked and sends Delete + Shutdown; the VM that create was booting
   * must go with the shim, not outlive it.
   */
  private closing = false;

  constructor(private readonly deps: RuntimeDeps) {
    this.events = new TaskEventSink(deps.publisher);
  }

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError(`container ${id} not found`);
    return c;
  }

  private process(id: string, execId: string): Process {
    return this.container(id).process(execId);
  }

  /** Create: the pod's first container boots the VM; every container gets its rootfs shared and CreateContainer. */
  create(input: CreateTaskInput): Promise<number> {
    return this.createMutex.run(() => this.doCreate(input));
  }

  private async doCreate(input: CreateTaskInput): Promise<number> {
    const { id, bundle } = input;
    this.refuseWhileClosing(id);
    if (this.stopping) throw new FailedPreconditionError(`sandbox ${this.vm?.id ?? ''} is stopping`);
    if (this.containers.has(id)) throw new AlreadyExistsError(`container ${id} already exists`);
    const spec = await readSpec(bundle);
    checkSpecPaths(spec);
    const placement = podPlacement(spec, id);
    const log = this.deps.log.child({ sandbox: placement.sandboxId, container: id });
    const phases = new PhaseClock();
    let bootedHere = false;
    let vm: PodVm;
    if (placement.kind === 'pod-container') {
      if (!this.vm || this.vm.id !== placement.sandboxId) throw new NotFoundError(`sandbox ${placement.sandboxId} is not served by this shim`);
      vm = this.vm;
    } else {
      if (this.vm) throw new FailedPreconditionError(`this shim already serves sandbox ${this.vm.id}`);
      // The hooks run before the VM exists (its NICs come from what they set up): no pid yet.
      const createHooks = hasCreateHooks(spec)
        ? (netnsPath: string | undefined) => runCreateHooks(spec, hookState(spec, { id, bundle, status: 'creating', pid: 0, netnsPath }), log)
        : undefined;
      vm = await this.bootVm({ sandboxId: id, bundle, kind: placement.kind, spec, options: input.options, createHooks }, log);
      bootedHere = true;
      phases.mark('bootMs');
    }
    vm.ensureAlive();
    try {
      this.refuseWhileClosing(id);
      if (!bootedHere) await runCreateHooks(spec, hookState(spec, { id, bundle, status: 'creating', pid: vm.pid }), log);
      if (!bootedHere) await writeBundleRecord(bundle, { sandboxId: vm.id, sandboxDir: vm.dir, ownsSandbox: false });
      if (placement.kind === 'pod-container') await this.growForMemoryLimit(vm, id, requestedSizing(spec, 'pod-container').memoryMiB);
      const rootfsGuest = await vm.share.mountRootfs(id, input.rootfs, input.rootfs.length ? undefined : hostRootPath(bundle, spec.root?.path));
      phases.mark('rootfsMs');
      const guest = await guestSpec(spec, {
        rootfs: rootfsGuest,
        guestHostname: vm.hostname,
        guestSeccomp: vm.guestSeccomp,
        podContainer: placement.kind === 'pod-container',
        shareHostPath: (source, destination, access) => vm.share.shareHostPath(id, source, destination, access),
      });
      mirrorSubmounts(guest.spec, (guestPath) => vm.share.submountsOf(id, guestPath));
      // The guest shares a pod PID namespace through the pod's pause container; a Sandbox API pod has none.
      if (guest.sandboxPidns && this.podHeld) {
        throw new FailedPreconditionError(`container ${id} asks to share the pod's PID namespace, which kata-ts does not provide to a pod created through the Sandbox API (no pause container holds one)`);
      }
      phases.mark('specMs');
      await vm.agent.createContainer({ containerId: id, execId: id, storages: [], spec: guest.spec, sandboxPidns: guest.sandboxPidns });
      phases.mark('agentCreateMs');
      this.refuseWhileClosing(id);
    } catch (err) {
      log.error({ err: messageOf(err) }, 'create failed');
      this.memoryHotplug?.limitsMiB.delete(id);
      await vm.share.releaseContainer(id).catch(() => undefined);
      if (bootedHere) await this.stopVm();
      throw err;
    }
    const container = new Container({
      id, bundle, kind: placement.kind, spec, rootfs: input.rootfs, stdio: input.stdio, namespace: this.deps.namespace,
      pid: vm.pid, agent: vm.agent, events: this.events, log: new LimitedLogger(log),
      onInitExit: (c) => this.onInitExit(c),
    });
    this.containers.set(id, container);
    this.events.create(id, bundle, input.rootfs, input.stdio, vm.pid);
    log.info({ kind: placement.kind, ...phases.done() }, 'container created');
    return vm.pid;
  }

  /** A create that started before the shim began to exit ends with an error (its VM and share are undone). */
  private refuseWhileClosing(id: string): void {
    if (this.closing) throw new FailedPreconditionError(`container ${id} not created: the shim is shutting down`);
  }

  /**
   * Loads the configuration (runtime options, then allowed annotations) and boots the pod's VM. The
   * bundle says which sandbox it owns before the VM starts: if this process dies mid-boot,
   * containerd's `delete` in that bundle must still find the VM to take down.
   */
  private async bootVm(req: { sandboxId: string; bundle: string; kind: ContainerKind; spec: OciSpec; options?: AnyMessage | null; dns?: string[]; createHooks?: BootRequest['createHooks'] }, log: Logger): Promise<PodVm> {
    const loaded = await (this.deps.loadConfig ?? ((o) => loadConfig(runtimeOptionsFrom(o))))(req.options);
    const { config, rejected } = applyAnnotations(loaded, req.spec.annotations);
    for (const r of rejected) log.warn(r, 'annotation ignored');
    await writeBundleRecord(req.bundle, { sandboxId: req.sandboxId, sandboxDir: sandboxDir(config.runtime.stateDir, req.sandboxId), ownsSandbox: true });
    log.info({ config: config.source }, 'booting sandbox VM');
    const vm = await this.deps.bootSandbox({ sandboxId: req.sandboxId, kind: req.kind, spec: req.spec, config, dns: req.dns, createHooks: req.createHooks });
    this.vm = vm;
    const requested = requestedSizing(req.spec, req.kind);
    if (req.kind === 'sandbox' && requested.memoryMiB === 0) {
      this.memoryHotplug = { baseMiB: vmSizing(config, requested).memoryMiB, limitsMiB: new Map() };
    }
    vm.onDeath((reason) => this.onVmDeath(reason));
    void this.watchOom(vm);
    return vm;
  }

  /** Sandbox API: boots the pod's VM before any container; the pod's containers then join it. */
  startPod(input: PodBootInput): Promise<PodVm> {
    return this.createMutex.run(async () => {
      if (this.stopping) throw new FailedPreconditionError(`sandbox ${this.vm?.id ?? input.sandboxId} is stopping`);
      if (this.vm) throw new FailedPreconditionError(`this shim already serves sandbox ${this.vm.id}`);
      const log = this.deps.log.child({ sandbox: input.sandboxId });
      const vm = await this.bootVm({ sandboxId: input.sandboxId, bundle: input.bundle, kind: 'sandbox', spec: input.spec, options: input.options, dns: input.dns }, log);
      this.podHeld = true;
      return vm;
    });
  }

  /** Sandbox API: SIGKILL to the containers still running, up to graceMs for their exits, then the VM. */
  async stopPod(graceMs: number): Promise<void> {
    const vm = this.vm;
    if (!vm) return;
    if (graceMs > 0 && vm.alive && !this.stopping) {
      const live = [...this.containers.values()].map((c) => c.init).filter((p) => p.status === 'running' || p.status === 'paused');
      await Promise.all(live.map((p) => p.kill(SIGKILL, true).catch((err: Error) => this.deps.log.warn({ container: p.id, err: err.message }, 'kill failed'))));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise((r) => (timer = setTimeout(r, graceMs)));
      await Promise.race([Promise.all(live.map((p) => p.wait().catch(() => undefined))), grace]);
      clearTimeout(timer);
    }
    await this.stopVm();
  }

  /** Sandbox API: stops everything (containers left are reported dead) and lets the process exit. */
  async shutdownPod(): Promise<void> {
    this.podHeld = false;
    await this.stopVm();
    this.deps.requestExit();
  }

  async start(id: string, execId: string): Promise<number> {
    const p = this.process(id, execId);
    await p.start();
    this.deps.log.info({ container: id, exec: execId || undefined }, 'process started');
    // A failing poststart hook is only logged (runtime-spec).
    if (!execId) await this.runHostHooks(id, 'poststart', 'running', p.pid);
    return p.pid;
  }

  exec(id: string, execId: string, processSpec: OciProcess, stdio: StdioPaths): void {
    this.container(id).addExec(execId, processSpec, stdio);
  }

  async kill(id: string, execId: string, signal: number, all: boolean): Promise<void> {
    await this.process(id, execId).kill(signal, all);
  }

  wait(id: string, execId: string): Promise<ExitInfo> {
    return this.process(id, execId).wait();
  }

  state(id: string, execId: string): TaskState {
    const c = this.container(id);
    const p = c.process(execId);
    return { id: p.id, bundle: c.bundle, pid: p.pid, status: p.status, stdio: p.stdio, exit: p.exit, execId };
  }

  /** Kata reports the hypervisor as the one host process of a task. */
  pids(id: string): number[] {
    return [this.process(id, '').pid];
  }

  async pause(id: string): Promise<void> {
    await this.container(id).pause();
  }

  async resume(id: string): Promise<void> {
    await this.container(id).resume();
  }

  async resizePty(id: string, execId: string, width: number, height: number): Promise<void> {
    await this.process(id, execId).resizePty(width, height);
  }

  async closeIO(id: string, execId: string, stdin: boolean): Promise<void> {
    if (stdin) await this.process(id, execId).closeStdin();
  }

  async update(id: string, resources: OciLinuxResources): Promise<void> {
    const c = this.container(id);
    const vm = this.requireVm();
    // A raised memory limit in a dynamically sized pod grows the VM first, as at create.
    const limit = resources.memory?.limit;
    if (c.kind === 'pod-container' && typeof limit === 'number' && limit > 0) await this.growForMemoryLimit(vm, id, Math.ceil(limit / 1048576));
    await vm.agent.updateContainer(id, resources);
  }

  async stats(id: string): Promise<TaskStats> {
    const c = this.container(id);
    const vm = this.requireVm();
    return { container: await vm.agent.statsContainer(id), oomKills: c.oomKills };
  }

  /** Delete: an exec returns its exit; init also leaves the guest and the share, and the task is gone. */
  async delete(id: string, execId: string): Promise<DeletedTask> {
    const c = this.container(id);
    const p = c.process(execId);
    if (execId) {
      await p.delete();
      return { pid: p.pid, exitStatus: p.exit?.status ?? 0, exitedAt: p.exit?.exitedAt };
    }
    // The sandbox's own container takes the VM and the whole share with it (already on the way if
    // init exited); a pod container leaves the guest and gives its rootfs back.
    if (c.kind !== 'pod-container' && p.status !== 'running' && p.status !== 'paused') await this.stopVm();
    await p.delete();
    if (c.kind === 'pod-container') {
      await this.vm?.share.releaseContainer(id).catch((err: Error) => this.deps.log.warn({ container: id, err: err.message }, 'releasing the rootfs failed'));
    }
    // After the container (and, for its own VM, the VM and the netns) is gone; a failure is only logged.
    await this.runHostHooks(id, 'poststop', 'stopped', p.pid);
    this.containers.delete(id);
    this.memoryHotplug?.limitsMiB.delete(id);
    const result = { pid: p.pid, exitStatus: p.exit?.status ?? 0, exitedAt: p.exit?.exitedAt };
    this.events.delete(id, result.pid, result.exitStatus, result.exitedAt);
    return result;
  }

  connect(): { shimPid: number; taskPid: number } {
    return { shimPid: process.pid, taskPid: this.vm?.pid ?? 0 };
  }

  /**
   * Shutdown: a no-op while containers remain, or while the Sandbox API holds the pod (containerd
   * calls it after each container's Delete); otherwise stop the VM and let the process exit.
   */
  async shutdown(): Promise<void> {
    if (this.containers.size > 0 || this.podHeld) return;
    // A create in flight is abandoned; close() waits for it to undo itself before the VM is stopped.
    this.closing = true;
    await this.stopVm();
    this.deps.requestExit();
  }

  /** Stops everything (the process is exiting), once a create in flight has given up. */
  async close(): Promise<void> {
    this.closing = true;
    await this.createMutex.run(async () => undefined);
    await this.stopVm();
    for (const c of this.containers.values()) c.markAllExited(UNKNOWN_EXIT_STATUS);
  }

  /** Runs a container's poststart or poststop hooks; failures are logged, not returned. */
  private async runHostHooks(id: string, kind: 'poststart' | 'poststop', status: HookState['status'], pid: number): Promise<void> {
    const c = this.container(id);
    const hooks = hooksOf(c.spec, kind);
    if (hooks.length === 0) return;
    const log = this.deps.log.child({ container: id });
    await runHooks(hooks, hookState(c.spec, { id, bundle: c.bundle, status, pid }), log).catch((err: Error) => log.warn({ err: err.message }, `${kind} hook failed`));
  }

  /** Records a pod container's (raised) memory limit and grows a dynamically sized VM to fit them all. */
  private async growForMemoryLimit(vm: PodVm, id: string, limitMiB: number): Promise<void> {
    const hotplug = this.memoryHotplug;
    if (!hotplug || limitMiB <= (hotplug.limitsMiB.get(id) ?? 0)) return;
    hotplug.limitsMiB.set(id, limitMiB);
    await vm.ensureMemory(hotplug.baseMiB + [...hotplug.limitsMiB.values()].reduce((a, b) => a + b, 0));
  }

  private requireVm(): PodVm {
    if (!this.vm) throw new FailedPreconditionError('no sandbox');
    this.vm.ensureAlive();
    return this.vm;
  }

  /** The sandbox's own container ended: report, then take the VM down (Kata's wait()). */
  private onInitExit(c: Container): void {
    if (c.kind === 'pod-container') return;
    void this.stopVm();
  }

  private onVmDeath(reason: string): void {
    this.deps.log.error({ reason }, 'VM died; every task exits with 255');
    for (const c of this.containers.values()) c.markAllExited(UNKNOWN_EXIT_STATUS);
    void this.stopVm();
  }

  /** Stops the VM once; processes still alive afterwards are reported dead. */
  private stopVm(): Promise<void> {
    if (!this.vm) return Promise.resolve();
    const vm = this.vm;
    this.stopping ??= (async () => {
      await vm.stop().catch((err: Error) => this.deps.log.error({ err: err.message }, 'stopping the VM failed'));
      for (const c of this.containers.values()) c.markAllExited(UNKNOWN_EXIT_STATUS);
    })();
    return this.stopping;
  }

  /** GetOOMEvent loop: TaskOOM (and, for CRI-O, <bundle>/oom) per OOM-killed container, at most once a second each. */
  private async watchOom(vm: PodVm): Promise<void> {
    while (vm.alive && !this.stopping) {
      try {
        const id = await vm.agent.getOOMEvent();
        const c = this.containers.get(id);
        if (!c) continue;
        if (!c.recordOomKill()) continue;
        this.events.oom(id);
        if (this.deps.oomFiles) await fs.writeFile(path.join(c.bundle, 'oom'), '').catch(() => undefined);
      } catch (err) {
        if (vm.agent.closed || !vm.alive) return;
        if (codeOf(err) === Code.UNIMPLEMENTED) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

/** The spec's root path, relative to the bundle unless absolute. */
function hostRootPath(bundle: string, root: string | undefined): string | undefined {
  if (!root) return undefined;
  return path.isAbsolute(root) ? root : path.join(bundle, root);
}
