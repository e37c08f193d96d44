import { createHash } from 'node:crypto';
import { promises as fs, watch, FSWatcher } from 'node:fs';
import path from 'node:path';
import { constants as os } from 'node:os';
import { Cgroup } from '../cgroup/cgroup';
import { AlreadyExistsError, NotFoundError, UnavailableError } from '../errors';
import type { Logger } from '../logging';
import { ContainerProcess } from '../process/process';
import type { CgroupStats, LinuxResources, OciProcess } from '../proto';
import { Crun } from './crun';
import { processToOci } from './oci';
import { CREATED, ContainerState, StateHost, STOPPED } from './state';

/** What every container of a sandbox shares. */
export interface ContainerContext {
  crun: Crun;
  runner: string;
  drainMs: number;
  outputBufferBytes: number;
  log: Logger;
  /** Called when the kernel OOM-killed a process of this container. */
  onOom(containerId: string): void;
}

export interface ContainerParams {
  id: string;
  /** Bundle directory (config.json is written there already). */
  bundleDir: string;
  tty: boolean;
  cgroup: Cgroup | null;
  /** Register an OOM watch at start (Kata: every container but the sandbox's own). */
  watchOom: boolean;
}

/** Waiting for a container to stop took longer than allowed. */
export class StopTimeoutError extends UnavailableError {}

/**
 * A container in the guest: its crun bundle, its init process, its exec processes, its cgroup and its
 * lifecycle state (container/state.ts).
 */
export class Container implements StateHost {
  readonly id: string;
  readonly bundleDir: string;
  readonly cgroup: Cgroup | null;
  readonly init: ContainerProcess;
  private readonly execs = new Map<string, ContainerProcess>();
  private state: ContainerState = CREATED;
  private oomWatcher: FSWatcher | null = null;
  private oomSeen = 0;
  private readonly log: Logger;

  private constructor(
    private readonly ctx: ContainerContext,
    private readonly params: ContainerParams,
    init: ContainerProcess,
  ) {
    this.id = params.id;
    this.bundleDir = params.bundleDir;
    this.cgroup = params.cgroup;
    this.init = init;
    this.log = ctx.log.child({ container: params.id });
    void init.wait().then((status) => {
      this.log.info({ status }, 'init process exited');
      this.state.exited(this);
    });
  }

  /** Runs `crun create` through a runner: the init process exists (pid known) but has not started. */
  static async create(ctx: ContainerContext, params: ContainerParams): Promise<Container> {
    const pidFile = path.join(params.bundleDir, 'init.pid');
    const consoleSocket = params.tty ? await consoleSocketPath(params.bundleDir, 'init.console.sock') : undefined;
    const init = await ContainerProcess.launch({
      runner: ctx.runner,
      command: ctx.crun.createCommand(params.id, params.bundleDir, pidFile, consoleSocket),
      fixedLayout: ctx.crun.fixedLayout,
      pidFile,
      consoleSocket,
      drainMs: ctx.drainMs,
      execId: '',
      tty: params.tty,
      outputBufferBytes: ctx.outputBufferBytes,
    });
    return new Container(ctx, params, init);
  }

  get stateName(): ContainerState['name'] {
    return this.state.name;
  }

  transition(to: ContainerState): void {
    this.log.debug({ from: this.state.name, to: to.name }, 'state');
    // An init that exited during a transition wins: the container is stopped.
    this.state = this.init.exitStatus !== undefined ? STOPPED : to;
  }

  start(): Promise<void> {
    return this.state.start(this);
  }

  pause(): Promise<void> {
    return this.state.pause(this);
  }

  resume(): Promise<void> {
    return this.state.resume(this);
  }

  async doStart(): Promise<void> {
    // The OOM baseline is read while the init still waits, so a kill right after start is not missed.
    const baseline = this.params.watchOom && this.cgroup ? await this.cgroup.oomKills().catch(() => 0) : 0;
    await this.ctx.crun.start(this.id);
    this.init.markRunning();
    if (this.params.watchOom) await this.watchOom(baseline);
  }

  async doPause(): Promise<void> {
    if (this.cgroup && (await this.cgroup.exists())) await this.cgroup.freeze();
    else await this.ctx.crun.pause(this.id);
  }

  async doResume(): Promise<void> {
    if (this.cgroup && (await this.cgroup.exists())) await this.cgroup.thaw();
    else await this.ctx.crun.resume(this.id);
  }

  /** The init process ('') or an exec process. */
  process(execId: string): ContainerProcess {
    if (execId === '') return this.init;
    const p = this.execs.get(execId);
    if (!p) throw new NotFoundError(`process ${execId} not found in container ${this.id}`);
    return p;
  }

  /** Starts an extra process in the running container (`crun exec -d`). */
  async exec(execId: string, spec: OciProcess): Promise<void> {
    this.state.checkExec(this);
    if (this.execs.has(execId)) throw new AlreadyExistsError(`process ${execId} already exists in container ${this.id}`);
    const dir = path.join(this.bundleDir, 'exec', execId);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const processFile = path.join(dir, 'process.json');
    await fs.writeFile(processFile, JSON.stringify(processToOci(spec)), { mode: 0o600 });
    const pidFile = path.join(dir, 'pid');
    const consoleSocket = spec.Terminal ? await consoleSocketPath(this.bundleDir, path.join('exec', execId, 'console.sock')) : undefined;
    // Reserve the id while crun runs, so a concurrent duplicate is refused.
    this.execs.set(execId, null as unknown as ContainerProcess);
    try {
      const proc = await ContainerProcess.launch({
        runner: this.ctx.runner,
        command: this.ctx.crun.execCommand(this.id, processFile, pidFile, consoleSocket),
        fixedLayout: this.ctx.crun.fixedLayout,
        pidFile,
        consoleSocket,
        drainMs: this.ctx.drainMs,
        execId,
        tty: !!spec.Terminal,
        outputBufferBytes: this.ctx.outputBufferBytes,
      });
      proc.markRunning();
      this.execs.set(execId, proc);
    } catch (err) {
      this.execs.delete(execId);
      await fs.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Kata's SignalProcess: exec id '' with SIGKILL kills every process of the container; SIGTERM to an
   * init that has no SIGTERM handler becomes SIGKILL (a pid-namespace init ignores unhandled signals).
   */
  async signal(execId: string, sig: number): Promise<void> {
    if (execId === '' && sig === os.signals.SIGKILL) {
      await this.killAll();
      return;
    }
    const proc = this.process(execId);
    if (proc === this.init && sig === os.signals.SIGTERM && !proc.catchesSignal(sig)) {
      this.log.info('init has no SIGTERM handler: sending SIGKILL');
      sig = os.signals.SIGKILL;
    }
    proc.signal(sig);
  }

  /** Waits for a process to exit; an exec process is forgotten afterwards (Kata: "like waitpid"). */
  async wait(execId: string, signal?: AbortSignal): Promise<number> {
    const proc = this.process(execId);
    const status = await proc.wait(signal);
    if (execId !== '' && this.execs.get(execId) === proc) {
      this.execs.delete(execId);
      // Whatever output the host did not read before waiting is dropped, as Kata drops the streams.
      setTimeout(() => proc.destroy(), this.ctx.drainMs * 2).unref();
    }
    return status;
  }

  async stats(): Promise<CgroupStats> {
    if (!this.cgroup || !(await this.cgroup.exists())) throw new UnavailableError(`container ${this.id} has no cgroup`);
    return this.cgroup.stats();
  }

  async update(resources: LinuxResources): Promise<void> {
    this.state.checkUpdate(this);
    if (!this.cgroup || !(await this.cgroup.exists())) throw new UnavailableError(`container ${this.id} has no cgroup`);
    await this.cgroup.update(resources);
  }

  /** Pids of the container's processes. */
  async pids(): Promise<number[]> {
    if (this.cgroup && (await this.cgroup.exists())) return this.cgroup.pids();
    return [this.init, ...this.execs.values()].filter((p) => p && p.exitStatus === undefined).map((p) => p.pid);
  }

  /**
   * Kills everything, waits for the init to be gone (timeoutSec, 0 = no limit), deletes the crun
   * container and the bundle. Safe to call in any state.
   */
  async remove(timeoutSec: number): Promise<void> {
    await this.stop(timeoutSec);
    await this.ctx.crun.delete(this.id).catch((err: Error) => this.log.warn({ err: err.message }, 'crun delete failed'));
    await fs.rm(this.bundleDir, { recursive: true, force: true });
  }

  /**
   * Kills everything and waits for the init to be gone (timeoutSec, 0 = no limit), then drops the
   * process handles; crun's state and the bundle stay (remove() deletes them).
   */
  async stop(timeoutSec: number): Promise<void> {
    if (this.init.exitStatus === undefined) {
      await this.killAll();
      const exited = this.init.wait();
      if (timeoutSec > 0) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutSec * 1000)));
        const r = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (r === 'timeout') throw new StopTimeoutError(`container ${this.id} did not stop within ${timeoutSec}s`);
      } else {
        await exited;
      }
    }
    this.destroy();
  }

  /** Drops every process handle and watcher (their runners kill what is left). */
  destroy(): void {
    this.oomWatcher?.close();
    this.oomWatcher = null;
    for (const p of this.execs.values()) p?.destroy();
    this.execs.clear();
    this.init.destroy();
  }

  private async killAll(): Promise<void> {
    if (this.cgroup && (await this.cgroup.exists())) {
      await this.cgroup.killAll();
      return;
    }
    // No cgroup to enumerate: killing the pid-namespace init takes the namespace down with it.
    for (const p of this.execs.values()) p?.signal(os.signals.SIGKILL);
    this.init.signal(os.signals.SIGKILL);
  }

  /** Watches memory.events (inotify) and reports every new oom_kill (Kata: cgroup v2 notifier). */
  private async watchOom(baseline: number): Promise<void> {
    const cg = this.cgroup;
    if (!cg || !(await cg.exists())) return;
    const file = path.join(cg.dir, 'memory.events');
    if (!(await fs.stat(file).then(() => true, () => false))) return;
    this.oomSeen = baseline;
    const check = (): void => {
      void cg.oomKills().then((n) => {
        if (n > this.oomSeen) {
          this.oomSeen = n;
          this.log.warn({ oomKills: n }, 'OOM kill in container');
          this.ctx.onOom(this.id);
        }
      }, () => undefined);
    };
    try {
      this.oomWatcher = watch(file, { persistent: false }, check);
      this.oomWatcher.on('error', () => undefined);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot watch memory.events');
    }
    check();
  }
}

/** Longest console socket path kept in the bundle (a unix socket path must fit sun_path, 108 bytes). */
const SOCKET_PATH_MAX = 100;

/**
 * Where a process's console socket goes: in its bundle, or, when that path is too long for a unix
 * socket (nerdctl's ids are 64 hex digits), as <state>/tty/<hash>.sock. kata-runner removes it once
 * crun has handed over the terminal.
 */
async function consoleSocketPath(bundleDir: string, relative: string): Promise<string> {
  const inBundle = path.join(bundleDir, relative);
  if (Buffer.byteLength(inBundle) <= SOCKET_PATH_MAX) return inBundle;
  const dir = path.join(bundleDir, '..', '..', 'tty');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `${createHash('sha256').update(inBundle).digest('hex').slice(0, 16)}.sock`);
}
