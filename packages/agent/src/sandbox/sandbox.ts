import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Cgroup } from '../cgroup/cgroup';
import type { AgentConfig } from '../config';
import { Container, ContainerContext } from '../container/container';
import { specToOci } from '../container/oci';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors';
import type { Logger } from '../logging';
import type { KernelModule, Spec, Storage } from '../proto';
import { resolveInside } from '../safe-path';
import { StorageManager } from '../storage/manager';
import type { SystemOps } from '../system/system';
import { validateId } from '../validate';
import { OomQueue } from './oom-queue';
import { adjustNamespaces, rootfsPath, takeGuestNetSysctls, validateMounts, SharedNamespaces } from './spec';

export interface CreateSandboxParams {
  sandboxId: string;
  hostname: string;
  dns: string[];
  storages: Storage[];
  sandboxPidns: boolean;
  kernelModules: KernelModule[];
}

export interface CreateContainerParams {
  id: string;
  spec: Spec;
  storages: Storage[];
  sandboxPidns: boolean;
}

/**
 * The pod as the guest sees it: sandbox-wide settings (hostname, DNS, storages, PID namespace), the
 * containers, and the OOM events waiting for the host.
 */
export class Sandbox {
  private sandboxId = '';
  private created = false;
  private sandboxPidns = false;
  private sandboxStorages: string[] = [];
  private readonly containers = new Map<string, Container>();
  /** Ids being created or removed right now: a second request for them is refused. */
  private readonly busy = new Set<string>();
  private readonly containerStorages = new Map<string, string[]>();
  readonly oom = new OomQueue();
  private readonly log: Logger;

  constructor(
    private readonly config: AgentConfig,
    private readonly ctx: Omit<ContainerContext, 'onOom'>,
    private readonly storage: StorageManager,
    private readonly system: SystemOps,
    private readonly cgroupV2: boolean,
    log: Logger,
  ) {
    this.log = log.child({ subsystem: 'sandbox' });
  }

  get id(): string {
    return this.sandboxId;
  }

  get containerCount(): number {
    return this.containers.size;
  }

  /** CreateSandbox: hostname, DNS, kernel modules, sandbox storages, PID namespace sharing. */
  async create(p: CreateSandboxParams): Promise<void> {
    if (this.created) throw new AlreadyExistsError(`sandbox ${this.sandboxId || '(unnamed)'} already created`);
    if (p.sandboxId) validateId(p.sandboxId, 'sandbox id');
    if (p.hostname && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(p.hostname)) {
      throw new InvalidArgumentError(`invalid hostname ${JSON.stringify(p.hostname.slice(0, 80))}`);
    }
    for (const d of p.dns) {
      if (!/^[\x20-\x7e]{1,256}$/.test(d)) throw new InvalidArgumentError('invalid dns entry');
    }
    for (const m of p.kernelModules) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(m.name ?? '')) throw new InvalidArgumentError(`invalid kernel module name ${JSON.stringify(m.name)}`);
    }
    this.created = true;
    try {
      await this.system.loadModules(p.kernelModules);
      if (p.hostname) await this.system.setHostname(p.hostname);
      if (p.dns.length) await this.system.setDns(p.dns, path.join(this.config.sandboxDir, 'resolv.conf'));
      this.sandboxStorages = await this.storage.acquire(p.storages);
    } catch (err) {
      this.created = false;
      throw err;
    }
    this.sandboxId = p.sandboxId;
    this.sandboxPidns = p.sandboxPidns;
    this.log.info({ sandbox: p.sandboxId, storages: this.sandboxStorages.length }, 'sandbox created');
  }

  /** The container with this id, or NOT_FOUND. */
  get(id: string): Container {
    validateId(id);
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError(`container ${id} not found`);
    return c;
  }

  list(): Container[] {
    return [...this.containers.values()];
  }

  /** CreateContainer: storages, bundle, crun create. Leaves nothing behind when it fails. */
  async createContainer(p: CreateContainerParams): Promise<Container> {
    const id = validateId(p.id);
    if (this.containers.has(id) || this.busy.has(id)) throw new AlreadyExistsError(`container ${id} already exists`);
    this.busy.add(id);
    const undo: Array<() => Promise<void>> = [];
    try {
      const spec = p.spec;
      if (!spec.Process || !(spec.Process.Args ?? []).length) throw new InvalidArgumentError('spec has no process args');
      const storageKeys = await this.storage.acquire(p.storages);
      undo.push(() => this.storage.release(storageKeys));
      const rootfs = await resolveInside(this.config.storageRoots, rootfsPath(spec, this.config.sharedDir, id), 'rootfs');
      const st = await fs.stat(rootfs).catch(() => null);
      if (!st?.isDirectory()) throw new NotFoundError(`rootfs ${rootfs} of container ${id} does not exist`);
      await validateMounts(spec, this.config.storageRoots);
      adjustNamespaces(spec, await this.sharedNamespaces(id, p.sandboxPidns || this.sandboxPidns));
      for (const [key, value] of Object.entries(takeGuestNetSysctls(spec))) await this.system.setSysctl(key, value);
      const bundleDir = path.join(this.config.stateDir, 'containers', id);
      await fs.rm(bundleDir, { recursive: true, force: true });
      await fs.mkdir(bundleDir, { recursive: true, mode: 0o700 });
      undo.push(() => fs.rm(bundleDir, { recursive: true, force: true }));
      const cgroupsPath = `/${this.config.cgroupParent}/${id}`;
      await fs.writeFile(path.join(bundleDir, 'config.json'), JSON.stringify(specToOci(spec, rootfs, cgroupsPath)), { mode: 0o600 });
      undo.push(() => this.ctx.crun.delete(id));
      const cgroup = this.cgroupV2 ? new Cgroup(path.join(this.config.cgroupRoot, this.config.cgroupParent, id)) : null;
      const container = await Container.create(
        { ...this.ctx, onOom: (cid) => this.oom.push(cid) },
        { id, bundleDir, tty: !!spec.Process.Terminal, cgroup, watchOom: id !== this.sandboxId },
      );
      this.containers.set(id, container);
      this.containerStorages.set(id, storageKeys);
      this.log.info({ container: id, pid: container.init.pid }, 'container created');
      return container;
    } catch (err) {
      for (const u of undo.reverse()) await u().catch(() => undefined);
      throw err;
    } finally {
      this.busy.delete(id);
    }
  }

  /** RemoveContainer: kill, wait (timeout s, 0 = forever), delete, release its storages. */
  async removeContainer(id: string, timeoutSec: number): Promise<void> {
    const c = this.get(id);
    if (this.busy.has(id)) throw new FailedPreconditionError(`container ${id} is being removed`);
    this.busy.add(id);
    try {
      await c.remove(timeoutSec);
      this.containers.delete(id);
      await this.storage.release(this.containerStorages.get(id) ?? []);
      this.containerStorages.delete(id);
      this.log.info({ container: id }, 'container removed');
    } finally {
      this.busy.delete(id);
    }
  }

  /**
   * DestroySandbox: every container killed and removed, every storage unmounted. When the VM powers
   * off next, the containers are only killed (all at once) and waited for: crun's state and the
   * bundles are on the guest's tmpfs and go with it, and under TCG a `crun delete` per container
   * costs a process each. Storages are unmounted either way (that flushes the 9p share).
   */
  async destroy(opts: { poweringOff?: boolean } = {}): Promise<void> {
    if (opts.poweringOff) {
      await Promise.all([...this.containers.entries()].map(([id, c]) => c.stop(10).catch((err: Error) => {
        this.log.warn({ container: id, err: err.message }, 'stop during destroy failed');
        c.destroy();
      })));
      this.containers.clear();
      this.containerStorages.clear(); // releaseAll below unmounts them with the rest
    }
    for (const id of [...this.containers.keys()]) {
      await this.removeContainer(id, 10).catch((err: Error) => {
        this.log.warn({ container: id, err: err.message }, 'remove during destroy failed');
        this.containers.get(id)?.destroy();
        this.containers.delete(id);
      });
    }
    await this.storage.releaseAll();
    this.oom.close();
    this.created = false;
  }

  private async sharedNamespaces(id: string, pidns: boolean): Promise<SharedNamespaces> {
    const sandbox = this.sandboxId && id !== this.sandboxId ? this.containers.get(this.sandboxId) : undefined;
    const alive = sandbox && sandbox.init.exitStatus === undefined ? sandbox.init.pid : 0;
    const shared: SharedNamespaces = {};
    if (alive) {
      shared.ipc = `/proc/${alive}/ns/ipc`;
      shared.uts = `/proc/${alive}/ns/uts`;
    }
    if (pidns && this.sandboxId && id !== this.sandboxId) {
      if (!alive) throw new FailedPreconditionError('sandbox PID namespace requested but the sandbox container is not running');
      shared.pid = `/proc/${alive}/ns/pid`;
    }
    return shared;
  }
}
