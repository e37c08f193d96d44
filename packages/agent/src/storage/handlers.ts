import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, UnavailableError } from '../errors';
import type { Storage } from '../proto';
import { mkdirInside } from '../safe-path';
import { ensureFilesystem, mountOnDir } from './mount';
import { findBlockDevice, pciPathToSysfs } from './pci';

export interface StorageEnv {
  /** Roots mount points must stay inside. */
  roots: readonly string[];
  hotplugTimeoutSec: number;
  sysRoot: string;
}

/** Storage drivers this agent handles (reported in GetGuestDetails). */
export const STORAGE_DRIVERS = ['9p', 'virtio-fs', 'ephemeral', 'local', 'blk', 'mmioblk'] as const;

const TAG = /^[A-Za-z0-9_.-]{1,64}$/;
const FSTYPE = /^[a-z0-9]{1,32}$/;

/** What a handler did: the resolved mount point, and whether something was mounted there. */
export interface Mounted {
  mountPoint: string;
  mounted: boolean;
}

/** Validates a storage, creates its mount point inside the allowed roots and mounts it. */
export async function mountStorage(s: Storage, env: StorageEnv): Promise<Mounted> {
  const driver = s.driver ?? '';
  const options = s.options ?? [];
  for (const o of options) if (o.includes('\0')) throw new InvalidArgumentError('storage option contains NUL');
  if (!s.mountPoint) throw new InvalidArgumentError(`storage (${driver}) has no mount point`);
  switch (driver) {
    case '9p':
    case 'virtio-fs': {
      const fstype = driver === '9p' ? '9p' : 'virtiofs';
      if (s.fstype && s.fstype !== fstype) throw new InvalidArgumentError(`${driver} storage with fstype ${s.fstype}`);
      if (!TAG.test(s.source ?? '')) throw new InvalidArgumentError(`invalid ${driver} source ${JSON.stringify(s.source)}`);
      const target = await mkdirInside(env.roots, s.mountPoint, 'storage mount point');
      await mountOnDir(s.source!, target, fstype, options);
      return { mountPoint: target, mounted: true };
    }
    case 'ephemeral': {
      const fstype = s.fstype || 'tmpfs';
      if (fstype !== 'tmpfs' && fstype !== 'hugetlbfs') throw new InvalidArgumentError(`ephemeral storage with fstype ${fstype}`);
      const target = await mkdirInside(env.roots, s.mountPoint, 'storage mount point');
      await mountOnDir(TAG.test(s.source ?? '') ? s.source! : fstype, target, fstype, options);
      return { mountPoint: target, mounted: true };
    }
    case 'local': {
      // A directory, not a mount (Kata: disk-backed emptyDir in the sandbox's rootfs).
      const mode = options.map((o) => /^mode=([0-7]{3,4})$/.exec(o)).find((m) => m)?.[1];
      const target = await mkdirInside(env.roots, s.mountPoint, 'storage mount point');
      if (mode) await fs.chmod(target, parseInt(mode, 8));
      const gid = options.map((o) => /^fsgid=(\d+)$/.exec(o)).find((m) => m)?.[1];
      if (gid) await fs.chown(target, -1, Number(gid));
      return { mountPoint: target, mounted: false };
    }
    case 'blk':
    case 'mmioblk': {
      if (!FSTYPE.test(s.fstype ?? '')) throw new InvalidArgumentError(`invalid block storage fstype ${JSON.stringify(s.fstype)}`);
      const device = await blockDevice(driver, s.source ?? '', env);
      await ensureFilesystem(s.fstype!);
      const target = await mkdirInside(env.roots, s.mountPoint, 'storage mount point');
      await mountOnDir(device, target, s.fstype!, options);
      return { mountPoint: target, mounted: true };
    }
    default:
      throw new InvalidArgumentError(`unknown storage driver ${JSON.stringify(driver)}`);
  }
}

/** /dev path of a block storage: mmioblk names it, blk gives a PCI path. Waits for hotplug. */
async function blockDevice(driver: string, source: string, env: StorageEnv): Promise<string> {
  const deadline = Date.now() + env.hotplugTimeoutSec * 1000;
  if (driver === 'mmioblk' || source.startsWith('/dev/')) {
    if (!/^\/dev\/[a-z][a-z0-9]{0,31}$/.test(source)) throw new InvalidArgumentError(`invalid block device ${JSON.stringify(source)}`);
    for (;;) {
      if (await fs.stat(source).then((st) => st.isBlockDevice(), () => false)) return source;
      if (Date.now() > deadline) throw new UnavailableError(`block device ${source} did not appear`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  for (;;) {
    const dir = await pciPathToSysfs(source, env.sysRoot).catch((err: Error) => {
      if (err instanceof InvalidArgumentError) throw err;
      return undefined;
    });
    const name = dir && (await findBlockDevice(dir));
    if (name) return path.join('/dev', name);
    if (Date.now() > deadline) throw new UnavailableError(`no block device at PCI path ${source}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
