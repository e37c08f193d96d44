import type { Logger } from '../logging';
import type { Storage } from '../proto';
import { mountStorage, StorageEnv } from './handlers';
import { umount } from './mount';

interface Entry {
  refs: number;
  mounted: boolean;
  shared: boolean;
}

/**
 * Storages by resolved mount point, reference-counted: the same mount point asked for twice is mounted
 * once; it is unmounted when its last user releases it, unless it is `shared` (Kata: survives
 * container removal until the sandbox goes).
 */
export class StorageManager {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly env: StorageEnv,
    private readonly log: Logger,
  ) {}

  /** Mounts every storage, or none: on a failure the ones mounted by this call are released. */
  async acquire(storages: Storage[]): Promise<string[]> {
    const taken: string[] = [];
    try {
      for (const s of storages) taken.push(await this.acquireOne(s));
    } catch (err) {
      await this.release(taken);
      throw err;
    }
    return taken;
  }

  async release(keys: string[], force = false): Promise<void> {
    for (const key of [...keys].reverse()) {
      const e = this.entries.get(key);
      if (!e) continue;
      e.refs--;
      if (e.refs > 0 || (e.shared && !force)) continue;
      this.entries.delete(key);
      if (e.mounted) await umount(key).catch((err: Error) => this.log.warn({ mountPoint: key, err: err.message }, 'umount failed'));
    }
  }

  /** Unmounts everything (DestroySandbox). */
  async releaseAll(): Promise<void> {
    const keys = [...this.entries.keys()];
    for (const k of keys) {
      const e = this.entries.get(k)!;
      e.refs = 1;
    }
    await this.release(keys, true);
  }

  private async acquireOne(s: Storage): Promise<string> {
    const { mountPoint, mounted } = await this.mountIfNew(s);
    const e = this.entries.get(mountPoint);
    if (e) {
      e.refs++;
      return mountPoint;
    }
    this.entries.set(mountPoint, { refs: 1, mounted, shared: !!s.shared });
    this.log.info({ driver: s.driver, mountPoint }, 'storage mounted');
    return mountPoint;
  }

  private async mountIfNew(s: Storage): Promise<{ mountPoint: string; mounted: boolean }> {
    for (const [key] of this.entries) {
      if (key === s.mountPoint) return { mountPoint: key, mounted: false };
    }
    return mountStorage(s, this.env);
  }
}
