/**
 * Where VM templates live and who makes them. A template is a directory named after its key (a hash
 * of everything that must be identical between the template VM and its clones: QEMU, kernel, initrd,
 * image, kernel parameters, size, device kinds) holding `memory` (the guest RAM file), `state` (the
 * device state) and `ready` (written last). Many shims may want the same template at once: one makes
 * it under a lock file, the others wait for `ready`. A lock whose owner died is taken over.
 */
import { createHash } from 'node:crypto';
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../framework/logging';
import type { VmSpec } from './hypervisor';
import { pidAlive } from '../framework/pid-alive';

/** Bumped when the layout or the way templates are made changes: old ones are then ignored. */
const TEMPLATE_FORMAT = 3;
/** Templates kept besides the one in use (the newest by last use). */
const KEEP_OTHERS = 1;
const POLL_MS = 100;

export interface TemplateFiles {
  key: string;
  dir: string;
  memory: string;
  state: string;
}

/** path + size + mtime: a file replaced by a reinstall gives a new key. */
function identity(file: string | undefined): string {
  if (!file) return '';
  try {
    const st = statSync(file);
    return `${file}:${st.size}:${st.mtimeMs}`;
  } catch {
    return `${file}:missing`;
  }
}

/**
 * The key of the template a VM spec would clone. Per-VM paths (its directory, sockets, shared
 * directory) and its name are left out: they are not part of the guest's state.
 */
export function templateKey(spec: VmSpec, qemuBinary: string): string {
  const facts = {
    format: TEMPLATE_FORMAT,
    qemu: identity(qemuBinary),
    accel: spec.accel,
    vcpus: spec.vcpus,
    memoryMiB: spec.memoryMiB,
    kernel: identity(spec.kernel),
    initrd: identity(spec.initrd),
    firmware: identity(spec.firmware),
    image: identity(spec.image),
    kernelParams: spec.kernelParams,
    agentChannel: spec.agentChannel.kind,
    share: spec.share.kind === 'virtio-9p' ? `9p:${spec.share.msize}` : spec.share.kind,
    cpuFeatures: spec.cpuFeatures,
    hotplugPorts: spec.hotplugPorts ?? 0,
    maxMemoryMiB: spec.maxMemoryMiB ?? 0,
    memorySlots: spec.memorySlots ?? 0,
    // Only when on, so the keys of existing templates without the device stay as they were.
    ...(spec.freePageReporting ? { freePageReporting: true } : {}),
    // The log port is a device of the guest: templates made before it existed have another key.
    ...(spec.logSocket ? { logPort: true } : {}),
    // So is the debug console's port: a clone or pool VM has it exactly when its template had it.
    ...(spec.consoleSocket ? { consolePort: true } : {}),
  };
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex').slice(0, 32);
}

export class TemplateStore {
  constructor(private readonly root: string, private readonly log: Logger) {}

  files(key: string): TemplateFiles {
    const dir = path.join(this.root, key);
    return { key, dir, memory: path.join(dir, 'memory'), state: path.join(dir, 'state') };
  }

  /**
   * The template's RAM file is the guest memory of every clone: nobody else may write it. The root
   * must be a real directory of ours, closed to others (it may sit on a shared tmpfs).
   */
  private async secureRoot(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    const st = await fs.lstat(this.root);
    const uid = process.getuid?.() ?? 0;
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
      throw new Error(`template directory ${this.root} must be a directory owned by uid ${uid} with mode 0700`);
    }
  }

  private async isReady(files: TemplateFiles): Promise<boolean> {
    try {
      await fs.access(path.join(files.dir, 'ready'));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The ready template for `key`; when there is none, `make(workDir)` builds one in workDir (it must
   * leave `memory` and `state` there) and the store publishes it. Waits at most waitMs for another
   * shim that is making it; `onWait` hears the maker's pid once, when the wait begins.
   */
  async obtain(key: string, make: (workDir: string) => Promise<void>, waitMs: number, onWait?: (ownerPid: number) => void): Promise<TemplateFiles> {
    await this.secureRoot();
    const files = this.files(key);
    const lock = `${files.dir}.lock`;
    const deadline = Date.now() + waitMs;
    let waiting = false;
    for (;;) {
      if (await this.isReady(files)) {
        // Its last use orders the templates for pruning.
        const now = new Date();
        await fs.utimes(path.join(files.dir, 'ready'), now, now).catch(() => undefined);
        return files;
      }
      let handle: fs.FileHandle | undefined;
      try {
        handle = await fs.open(lock, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (handle) {
        try {
          await handle.writeFile(String(process.pid));
          await handle.close();
          await this.make(files, make);
          await this.prune(key);
          return files;
        } finally {
          await fs.rm(lock, { force: true });
        }
      }
      const owner = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
      if (owner > 0 && !pidAlive(owner)) {
        this.log.warn({ lock, owner }, 'taking over the lock of a template maker that died');
        await fs.rm(lock, { force: true });
        continue;
      }
      if (Date.now() >= deadline) throw new Error(`timed out waiting for template ${key} made by pid ${owner || 'unknown'}`);
      if (!waiting) {
        waiting = true;
        this.log.info({ key, owner }, 'waiting for the VM template another process is making');
        onWait?.(owner);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private async make(files: TemplateFiles, make: (workDir: string) => Promise<void>): Promise<void> {
    const work = `${files.dir}.work-${process.pid}`;
    await fs.rm(work, { recursive: true, force: true });
    await fs.rm(files.dir, { recursive: true, force: true });
    await fs.mkdir(work, { mode: 0o700 });
    const started = Date.now();
    try {
      await make(work);
      await fs.access(path.join(work, 'memory'));
      await fs.access(path.join(work, 'state'));
      // Only the two files clones need go in; sockets and the empty share stay behind in work.
      await fs.mkdir(files.dir, { mode: 0o700 });
      await fs.rename(path.join(work, 'memory'), files.memory);
      await fs.rename(path.join(work, 'state'), files.state);
      await fs.writeFile(path.join(files.dir, 'ready'), JSON.stringify({ madeBy: process.pid, at: new Date().toISOString() }));
      this.log.info({ key: files.key, ms: Date.now() - started, dir: files.dir }, 'VM template made');
    } catch (err) {
      await fs.rm(files.dir, { recursive: true, force: true });
      throw err;
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }

  /** Removes a template that failed to restore (it is made anew on next use). */
  async discard(key: string): Promise<void> {
    await fs.rm(this.files(key).dir, { recursive: true, force: true });
  }

  /**
   * Keeps the store bounded: templates of older configurations go (running clones keep their RAM
   * mapping: an unlinked file lives on until its last user ends).
   */
  private async prune(keep: string): Promise<void> {
    const entries = await fs.readdir(this.root, { withFileTypes: true });
    const others: Array<{ key: string; used: number }> = [];
    for (const e of entries) {
      const work = /^[0-9a-f]{32}\.work-(\d+)$/.exec(e.name);
      if (work && !pidAlive(Number(work[1]))) await fs.rm(path.join(this.root, e.name), { recursive: true, force: true });
      if (!e.isDirectory() || e.name === keep || !/^[0-9a-f]{32}$/.test(e.name)) continue;
      const used = await fs.stat(path.join(this.root, e.name, 'ready')).then((st) => st.mtimeMs, () => 0);
      others.push({ key: e.name, used });
    }
    others.sort((a, b) => b.used - a.used);
    for (const old of others.slice(KEEP_OTHERS)) {
      if (await fs.access(path.join(this.root, `${old.key}.lock`)).then(() => true, () => false)) continue;
      await this.discard(old.key);
      this.log.info({ key: old.key }, 'old VM template removed');
    }
  }
}
