/**
 * A PodVm for unit tests: the real KataAgentClient talking to a FakeAgent, a share that only
 * records what it was asked, and a death that tests trigger.
 */
import { KataAgentClient, type AgentClient } from '../agent/agent-client';
import { UnavailableError } from '../errors';
import type { MountSpec, Submount } from '../fs/mount';
import type { ShareAccess } from '../fs/share';
import type { BootRequest, PodVm, ShareLike } from '../runtime/pod-vm';
import type { FakeAgent } from './fake-agent';

export class RecordingShare implements ShareLike {
  readonly rootfs = new Map<string, { mounts: readonly MountSpec[]; hostRootfs?: string }>();
  readonly shared: Array<{ containerId: string; source: string; destination: string; access: ShareAccess }> = [];
  readonly released: string[] = [];

  async mountRootfs(containerId: string, mounts: readonly MountSpec[], hostRootfs: string | undefined): Promise<string> {
    this.rootfs.set(containerId, { mounts, hostRootfs });
    return `/run/kata-containers/shared/containers/${containerId}/rootfs`;
  }

  async shareHostPath(containerId: string, source: string, destination: string, access: ShareAccess): Promise<string> {
    this.shared.push({ containerId, source, destination, access });
    return `/run/kata-containers/shared/containers/${containerId}-x-vol`;
  }

  /** What submountsOf answers, by guest path (tests fill it). */
  readonly submounts = new Map<string, Submount[]>();

  submountsOf(_containerId: string, guestPath: string): readonly Submount[] {
    return this.submounts.get(guestPath) ?? [];
  }

  async releaseContainer(containerId: string): Promise<void> {
    this.released.push(containerId);
  }
}

export class FakeVm implements PodVm {
  readonly share = new RecordingShare();
  readonly pid = 4242;
  stopped = 0;
  private deathListeners: Array<(reason: string) => void> = [];
  private dead: string | undefined;

  constructor(readonly id: string, readonly dir: string, readonly agent: AgentClient, readonly request: BootRequest) {}

  get hostname(): string {
    return this.request.spec.hostname ?? '';
  }

  get guestSeccomp(): boolean {
    return !this.request.config.runtime.disableGuestSeccomp;
  }

  static async boot(agent: FakeAgent, req: BootRequest, dir = '/nonexistent/sandbox'): Promise<FakeVm> {
    const client = new KataAgentClient(await agent.connect());
    await client.createSandbox({ sandboxId: req.sandboxId, hostname: req.spec.hostname ?? '', dns: [], storages: [], sandboxPidns: false, kernelModules: [] });
    const vm = new FakeVm(req.sandboxId, dir, client, req);
    client.onClose(() => vm.die('agent channel closed'));
    return vm;
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  onDeath(listener: (reason: string) => void): void {
    if (this.dead !== undefined) listener(this.dead);
    else this.deathListeners.push(listener);
  }

  /** Every ensureMemory request, in order. */
  readonly memoryRequests: number[] = [];

  async ensureMemory(totalMiB: number): Promise<void> {
    this.memoryRequests.push(totalMiB);
  }

  ensureAlive(): void {
    if (this.dead !== undefined) throw new UnavailableError(`dead: ${this.dead}`);
  }

  die(reason: string): void {
    if (this.dead !== undefined || this.stopped > 0) return;
    this.dead = reason;
    for (const l of this.deathListeners.splice(0)) l(reason);
  }

  async stop(): Promise<void> {
    this.stopped++;
    if (this.stopped === 1 && this.alive) await this.agent.destroySandbox().catch(() => undefined);
    this.agent.close();
  }
}
