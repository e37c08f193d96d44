/**
 * One task process in the guest: a container's init or an exec. It owns the lifecycle state, the
 * stdio pump and the exit record. After it starts, a watcher waits for all output to drain, then
 * for WaitProcess, and records the exit (status and host time) exactly once; a VM that dies
 * records 255 for every process still alive.
 */
import type { AgentClient } from '../agent/agent-client';
import type { LimitedLogger } from '../framework/logging';
import { openHostIo, type StdioPaths } from '../io/host-io';
import { ProcessIo } from '../io/process-io';
import { Mutex } from './mutex';
import { STATES, type ProcessOps, type ProcessState, type ProcessStatus } from './process-state';

export interface ExitInfo {
  status: number;
  exitedAt: Date;
}

/** Exit status reported when the real one cannot be known (the VM or agent died). */
export const UNKNOWN_EXIT_STATUS = 255;

/** What a process needs from its container. */
export interface ProcessHooks {
  /** Runs the process in the guest: StartContainer (init) or ExecProcess (exec). */
  launch(): Promise<void>;
  /** Agent-side removal when the process is deleted (RemoveContainer for init; nothing for an exec). */
  remove(): Promise<void>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Called once the process runs (the start event goes out from here, before any exit). */
  started(p: Process): void;
  /** Called once, when the exit is recorded. */
  exited(p: Process, exit: ExitInfo): void;
}

export interface ProcessInit {
  /** containerd's id for it: the container id for init, the exec id for an exec. */
  id: string;
  containerId: string;
  /** The agent's id for it: the container id for init, a shim-made UUID for an exec. */
  agentExecId: string;
  isInit: boolean;
  stdio: StdioPaths;
  namespace: string;
  /** Reported as the process's pid (the hypervisor's, as Kata does). */
  pid: number;
  agent: AgentClient;
  hooks: ProcessHooks;
  /** For lines the guest can trigger (agent errors): rate-limited. */
  log: LimitedLogger;
}

export class Process {
  private state: ProcessState = STATES.created;
  private exitInfo: ExitInfo | undefined;
  private io: ProcessIo | undefined;
  private pendingSize: { width: number; height: number } | undefined;
  private stdinClosedEarly = false;
  private watchingUnstarted = false;
  private readonly mutex = new Mutex();
  private resolveExit!: (e: ExitInfo) => void;
  private readonly exitPromise = new Promise<ExitInfo>((resolve) => (this.resolveExit = resolve));
  private readonly ops: ProcessOps;

  constructor(private readonly init: ProcessInit) {
    this.ops = {
      description: init.isInit ? `container ${init.containerId}` : `exec ${init.id} of container ${init.containerId}`,
      launch: () => this.launch(),
      freeze: () => init.hooks.freeze(),
      thaw: () => init.hooks.thaw(),
      signal: (signal) => this.signal(signal),
      watchUnstarted: () => this.watchUnstarted(),
      remove: () => init.hooks.remove(),
      transition: (next) => {
        // An exit recorded while an operation was in flight (the VM died) wins over its outcome.
        if (this.exitInfo && (next === 'running' || next === 'paused')) return;
        this.state = STATES[next];
      },
    };
  }

  get id(): string {
    return this.init.id;
  }

  get isInit(): boolean {
    return this.init.isInit;
  }

  get status(): ProcessStatus {
    return this.state.status;
  }

  get pid(): number {
    return this.init.pid;
  }

  get stdio(): StdioPaths {
    return this.init.stdio;
  }

  /** The recorded exit, once there is one. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  start(): Promise<void> {
    return this.mutex.run(async () => {
      await this.state.start(this.ops);
      // A VM that died during the start has already reported this process's exit: no start after it.
      if (this.exitInfo) return;
      // The start event is queued before the watcher can record (and publish) an exit.
      this.init.hooks.started(this);
      if (this.io) void this.watch(this.io);
    });
  }

  pause(): Promise<void> {
    return this.mutex.run(() => this.state.pause(this.ops));
  }

  resume(): Promise<void> {
    return this.mutex.run(() => this.state.resume(this.ops));
  }

  /** Not serialised with the others: a kill must get through while a start hangs. */
  kill(signal: number, all: boolean): Promise<void> {
    return this.state.kill(this.ops, signal, all);
  }

  delete(): Promise<void> {
    return this.mutex.run(() => this.state.delete(this.ops));
  }

  /** Resolves with the exit once the process has ended. */
  wait(): Promise<ExitInfo> {
    return this.exitPromise;
  }

  async resizePty(width: number, height: number): Promise<void> {
    if (!this.io) {
      this.pendingSize = { width, height };
      return;
    }
    await this.init.agent.ttyWinResize(this.init.containerId, this.init.agentExecId, height, width);
  }

  async closeStdin(): Promise<void> {
    if (this.io) await this.io.closeStdin();
    else this.stdinClosedEarly = true;
  }

  /** Records the exit (first caller wins) and wakes waiters; later calls do nothing. */
  markExited(status: number): void {
    if (this.exitInfo) return;
    const exit = { status, exitedAt: new Date() };
    this.exitInfo = exit;
    this.state.exited(this.ops);
    this.io?.close();
    this.init.hooks.exited(this, exit);
    this.resolveExit(exit);
  }

  private async launch(): Promise<void> {
    const { init } = this;
    const host = await openHostIo(init.stdio, { containerId: init.containerId, namespace: init.namespace });
    try {
      await init.hooks.launch();
    } catch (err) {
      host.close();
      throw err;
    }
    this.io = new ProcessIo(init.agent, init.containerId, init.agentExecId, host, init.stdio.terminal, init.log);
    if (this.pendingSize) {
      const { width, height } = this.pendingSize;
      await init.agent.ttyWinResize(init.containerId, init.agentExecId, height, width).catch((err: Error) => init.log.debug({ process: this.id, err: err.message }, 'initial resize failed'));
    }
    if (this.stdinClosedEarly) await this.io.closeStdin();
  }

  /** Output first, then the exit: the agent forgets the process in WaitProcess. */
  private async watch(io: ProcessIo): Promise<void> {
    await io.drained;
    this.markExited(await this.waitStatus());
  }

  /** WaitProcess's status, or UNKNOWN_EXIT_STATUS when it cannot be had. */
  private async waitStatus(): Promise<number> {
    try {
      return await this.init.agent.waitProcess(this.init.containerId, this.init.agentExecId);
    } catch (err) {
      this.init.log.warn({ process: this.id, err: (err as Error).message }, 'WaitProcess failed; exit status unknown');
      return UNKNOWN_EXIT_STATUS;
    }
  }

  /** Only an init exists in the guest before its start (an exec is launched by its start). */
  private watchUnstarted(): void {
    if (!this.init.isInit || this.watchingUnstarted) return;
    this.watchingUnstarted = true;
    void this.waitUnstarted();
  }

  private async waitUnstarted(): Promise<void> {
    const status = await this.waitStatus();
    // It survived the signal and was started meanwhile: its output still goes out before its exit.
    if (this.io) await this.io.drained;
    this.markExited(status);
  }

  private async signal(signal: number): Promise<void> {
    // Signal 0 only asks whether the process exists (CRI-O's IsContainerAlive for vm runtimes, as `kill -0`):
    // the state that let it through (created, running, paused) says it does, and the agent takes 1..64 only.
    if (signal === 0) return;
    // Init is addressed as "" (with SIGKILL: every process of the container), as Kata's shim does.
    const execId = this.init.isInit ? '' : this.init.agentExecId;
    await this.init.agent.signalProcess(this.init.containerId, execId, signal);
  }
}
