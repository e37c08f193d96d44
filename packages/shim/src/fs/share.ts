/**
 * A sandbox's shared directory, the host side of the guest's kataShared filesystem (9p or
 * virtio-fs), laid out as Kata does:
 *   <root>/mounts/   real mounts (container rootfs, volumes); a shared mount point
 *   <root>/shared/   a read-only bind of mounts/ (slave, so new mounts appear in it): what the guest sees
 * The guest can therefore write only inside the rootfs and writable volumes, never create or
 * replace entries at the top of the share. The guest mounts the share at GUEST_SHARE_DIR.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../framework/logging';
import { bindMount, mount, mountPoints, mountTable, remountReadonly, setPropagation, submountsOf, unmount, type MountSpec, type Submount } from './mount';
import { removeTree } from './safe-remove';
import { InvalidArgumentError } from '../errors';

/**
 * How a host path is shared: read-write, read-only (the top mount only: host mounts below keep their
 * own state, as a runc `ro` bind does), or recursively read-only (`rro`: every mount below too).
 */
export type ShareAccess = 'rw' | 'ro' | 'rro';

/** Where the agent mounts the share in the guest. */
export const GUEST_SHARE_DIR = '/run/kata-containers/shared/containers';

/** The guest path of a container's rootfs. */
export function guestRootfs(containerId: string): string {
  return `${GUEST_SHARE_DIR}/${containerId}/rootfs`;
}

export class SandboxShare {
  readonly mountsDir: string;
  /** The directory handed to the hypervisor. */
  readonly sharedDir: string;
  /** Mount targets per container, in mount order. */
  private readonly mounted = new Map<string, string[]>();
  /** Per container: the mounts below each shared host path, by the path the guest sees. */
  private readonly submounts = new Map<string, Map<string, Submount[]>>();
  private ready = false;

  /** premade: the directories and their binds exist already (a warm pool VM's, see pool/pool-launch.ts). */
  constructor(readonly root: string, private readonly log: Logger, private readonly options: { premade?: boolean } = {}) {
    this.mountsDir = path.join(root, 'mounts');
    this.sharedDir = path.join(root, 'shared');
  }

  /** Creates the two directories and the read-only propagation bind between them. */
  async setup(): Promise<void> {
    if (this.options.premade) {
      const mounts = new Set(await mountPoints());
      if (!mounts.has(this.mountsDir) || !mounts.has(this.sharedDir)) throw new Error(`the share in ${this.root} is not set up in this mount namespace`);
      this.ready = true;
      return;
    }
    await fs.mkdir(this.mountsDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.sharedDir, { recursive: true, mode: 0o700 });
    await bindMount(this.mountsDir, this.mountsDir);
    await setPropagation(this.mountsDir, 'shared');
    await bindMount(this.mountsDir, this.sharedDir);
    await remountReadonly(this.sharedDir);
    await setPropagation(this.sharedDir, 'slave');
    this.ready = true;
  }

  private track(containerId: string, target: string): void {
    const list = this.mounted.get(containerId) ?? [];
    list.push(target);
    this.mounted.set(containerId, list);
  }

  /**
   * Mounts a container's root filesystem at mounts/<id>/rootfs: containerd's snapshot mounts
   * (usually one overlay), or else a bind of the spec's host rootfs directory. Returns the guest path.
   */
  async mountRootfs(containerId: string, mounts: readonly MountSpec[], hostRootfs: string | undefined): Promise<string> {
    const target = path.join(this.mountsDir, containerId, 'rootfs');
    await fs.mkdir(target, { recursive: true, mode: 0o755 });
    if (mounts.length > 0) {
      for (const m of mounts) {
        const at = m.target ? await submountTarget(target, m.target) : target;
        await mount(m, at);
        this.track(containerId, at);
      }
    } else if (hostRootfs) {
      await bindMount(hostRootfs, target, { recursive: true });
      this.track(containerId, target);
    } else {
      throw new Error(`container ${containerId} has neither rootfs mounts nor a root path`);
    }
    return guestRootfs(containerId);
  }

  /**
   * Shares a host path (an OCI bind mount's source) as mounts/<id>-<16 hex>-<basename>; a
   * read-only volume is read-only on the host side too. Returns the path the guest sees.
   */
  async shareHostPath(containerId: string, source: string, destination: string, access: ShareAccess): Promise<string> {
    const name = `${containerId}-${randomBytes(8).toString('hex')}-${path.basename(destination) || 'root'}`;
    const target = path.join(this.mountsDir, name);
    const st = await fs.stat(source);
    if (st.isDirectory()) await fs.mkdir(target, { mode: 0o755 });
    else await fs.writeFile(target, '', { flag: 'wx', mode: 0o644 });
    await bindMount(source, target, { readonly: access !== 'rw', recursive: true });
    this.track(containerId, target);
    // A recursive bind remounted read-only covers the top mount alone: each mount below gets its own remount.
    if (access === 'rro' && st.isDirectory()) {
      for (const sub of submountsOf(await mountTable(), target)) if (!sub.readonly) await remountReadonly(path.join(target, sub.path));
    }
    const guestPath = `${GUEST_SHARE_DIR}/${name}`;
    // The guest sees the whole tree as one 9p filesystem: it cannot tell where a host mount below
    // the source begins, so the spec must say (see oci/submounts.ts).
    const below = st.isDirectory() ? submountsOf(await mountTable(), target) : [];
    if (below.length > 0) {
      const perContainer = this.submounts.get(containerId) ?? new Map<string, Submount[]>();
      perContainer.set(guestPath, below);
      this.submounts.set(containerId, perContainer);
    }
    return guestPath;
  }

  /** The host mounts below a path shareHostPath returned (relative, parents first); none if unknown. */
  submountsOf(containerId: string, guestPath: string): readonly Submount[] {
    return this.submounts.get(containerId)?.get(guestPath) ?? [];
  }

  /** Unmounts everything mounted for a container and removes its entries. */
  async releaseContainer(containerId: string): Promise<void> {
    const targets = this.mounted.get(containerId) ?? [];
    this.mounted.delete(containerId);
    this.submounts.delete(containerId);
    for (const target of [...targets].reverse()) {
      await unmount(target).catch((err: Error) => this.log.warn({ target, err: err.message }, 'unmount failed'));
    }
    for (const target of new Set(targets)) {
      const left = await removeTree(target).catch(() => [target]);
      if (left.length > 0) this.log.warn({ left }, 'left in the share');
    }
    await fs.rmdir(path.join(this.mountsDir, containerId)).catch(() => undefined);
  }

  /** Releases every container, takes the share apart and removes both directories. */
  async teardown(): Promise<void> {
    for (const id of [...this.mounted.keys()]) await this.releaseContainer(id);
    if (this.ready) {
      await unmount(this.sharedDir).catch((err: Error) => this.log.warn({ err: err.message }, 'unmount of the share failed'));
      await unmount(this.mountsDir).catch((err: Error) => this.log.warn({ err: err.message }, 'unmount of the share failed'));
      this.ready = false;
    }
    for (const dir of [this.sharedDir, this.mountsDir]) {
      const left = await removeTree(dir).catch((err: Error) => [`${dir}: ${err.message}`]);
      if (left.length > 0) this.log.warn({ left }, 'share directory not fully removed');
    }
  }
}

/**
 * Where a containerd sub-mount (Mount.target) goes below the rootfs: the path is walked one component at a
 * time and a symlink anywhere on it is refused. The rootfs is the image's (and, once visible in the share,
 * the guest's to write): mount(8) would follow a link the image or the guest planted there and mount on a
 * host path (Kata's CVE-2020-2026). The mounts of one rootfs are made before the agent is asked to create
 * the container, so nothing in the guest has a reason to touch it yet; a guest racing to swap a component
 * between this check and mount(8) is not covered here (mount(8) takes a path).
 */
export async function submountTarget(rootfs: string, target: string): Promise<string> {
  const rel = path.normalize(`/${target}`).split('/').filter(Boolean);
  let at = rootfs;
  for (const name of rel) {
    at = path.join(at, name);
    const st = await fs.lstat(at).catch(() => undefined);
    if (st?.isSymbolicLink()) throw new InvalidArgumentError(`rootfs mount target ${JSON.stringify(target)} goes through a symlink at ${JSON.stringify(at)}`);
  }
  return at;
}

