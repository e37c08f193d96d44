/**
 * A container of the pod: its init process and its execs, in the sandbox's VM. It wires each
 * process to the agent (StartContainer / ExecProcess, Pause/Resume, RemoveContainer) and orders
 * exit events as containerd requires: an exec's exit when it happens, init's exit last (after the
 * execs that were running have been reported, or a bounded wait).
 */
import { randomUUID } from 'node:crypto';
import type { AgentClient } from '../agent/agent-client';
import type { OciProcess, OciSpec } from '../oci/spec';
import type { ContainerKind } from '../oci/annotations';
import type { LimitedLogger } from '../framework/logging';
import type { MountSpec } from '../fs/mount';
import type { StdioPaths } from '../io/host-io';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, codeOf } from '../errors';
import { Code } from 'ttrpc-ts';
import { Process, type ExitInfo } from './process';
import type { TaskEventSink } from './events';

/** How long init's exit event waits for running execs to report theirs. */
const EXEC_EXIT_GRACE_MS = 5_000;
/** How long RemoveContainer lets the agent wait for the processes to die. */
const REMOVE_TIMEOUT_SEC = 10;
/**
 * At most one TaskOOM event per container in this long: the guest decides how often GetOOMEvent answers,
 * and each event costs containerd a status update (and CRI-O an oom file). More kills are only counted.
 */
const OOM_EVENT_INTERVAL_MS = 1_000;

export interface ContainerInit {
  id: string;
  bundle: string;
  kind: ContainerKind;
  spec: OciSpec;
  rootfs: MountSpec[];
  stdio: StdioPaths;
  namespace: string;
  pid: number;
  agent: AgentClient;
  events: TaskEventSink;
  /** Rate-limited: what it logs comes from the agent. */
  log: LimitedLogger;
  /** Runs after init's exit event went out (the sandbox owner's exit stops the VM). */
  onInitExit: (c: Container) => void;
}

export class Container {
  readonly init: Process;
  private readonly execs = new Map<string, Process>();
  /** OOM kills the agent reported for this container (container_oom_events_total in CRI metrics). */
  private oomKillCount = 0;
  private lastOomEventAt = -Infinity;

  constructor(private readonly c: ContainerInit) {
    const { agent, events } = c;
    this.init = new Process({
      id: c.id,
      containerId: c.id,
      agentExecId: c.id,
      isInit: true,
      stdio: c.stdio,
      namespace: c.namespace,
      pid: c.pid,
      agent,
      log: c.log,
      hooks: {
        launch: () => agent.startContainer(c.id),
        remove: () => this.removeFromGuest(),
        freeze: async () => {
          await agent.pauseContainer(c.id);
          events.paused(c.id);
        },
        thaw: async () => {
          await agent.resumeContainer(c.id);
          events.resumed(c.id);
        },
        started: (p) => events.start(c.id, p.pid),
        exited: (p, exit) => void this.reportInitExit(p, exit),
      },
    });
  }

  get id(): string {
    return this.c.id;
  }

  get bundle(): string {
    return this.c.bundle;
  }

  get oomKills(): number {
    return this.oomKillCount;
  }

  /** Counts an OOM kill the agent reported (GetOOMEvent); true when it is to be published (rate-limited). */
  recordOomKill(now = Date.now()): boolean {
    this.oomKillCount++;
    if (now - this.lastOomEventAt < OOM_EVENT_INTERVAL_MS) return false;
    this.lastOomEventAt = now;
    return true;
  }

  get kind(): ContainerKind {
    return this.c.kind;
  }

  get spec(): OciSpec {
    return this.c.spec;
  }

  get rootfs(): MountSpec[] {
    return this.c.rootfs;
  }

  /** The process with containerd's exec id ("" = init). */
  process(execId: string): Process {
    if (!execId) return this.init;
    const p = this.execs.get(execId);
    if (!p) throw new NotFoundError(`exec ${execId} of container ${this.c.id} not found`);
    return p;
  }

  /** Every process, execs first (the order in which a dead VM's exits are reported). */
  processes(): Process[] {
    return [...this.execs.values(), this.init];
  }

  /** Registers an exec (Exec RPC); it runs on Start. */
  addExec(execId: string, processSpec: OciProcess, stdio: StdioPaths): void {
    if (this.execs.has(execId)) throw new AlreadyExistsError(`exec ${execId} of container ${this.c.id} already exists`);
    if (this.init.exit) throw new FailedPreconditionError(`container ${this.c.id} has stopped`);
    const { agent, events } = this.c;
    const agentExecId = randomUUID();
    const exec = new Process({
      id: execId,
      containerId: this.c.id,
      agentExecId,
      isInit: false,
      stdio,
      namespace: this.c.namespace,
      pid: this.c.pid,
      agent,
      log: this.c.log,
      hooks: {
        launch: async () => {
          if (this.init.status !== 'running') throw new FailedPreconditionError(`container ${this.c.id} is not running`);
          await agent.execProcess({ containerId: this.c.id, execId: agentExecId, process: { ...processSpec, terminal: stdio.terminal } });
        },
        remove: async () => {
          this.execs.delete(execId);
        },
        freeze: () => Promise.reject(new FailedPreconditionError('an exec cannot be paused on its own')),
        thaw: () => Promise.reject(new FailedPreconditionError('an exec cannot be resumed on its own')),
        started: (p) => events.execStarted(this.c.id, execId, p.pid),
        exited: (p, exit) => events.exit(this.c.id, execId, p.pid, exit.status, exit.exitedAt),
      },
    });
    this.execs.set(execId, exec);
    events.execAdded(this.c.id, execId);
  }

  /** Pause/Resume act on the whole container through init's state. */
  pause(): Promise<void> {
    return this.init.pause();
  }

  resume(): Promise<void> {
    return this.init.resume();
  }

  /** Declares every process that has not exited dead (its VM is gone). */
  markAllExited(status: number): void {
    for (const p of this.processes()) p.markExited(status);
  }

  private async reportInitExit(p: Process, exit: ExitInfo): Promise<void> {
    this.c.log.info({ container: this.c.id, status: exit.status }, 'container exited');
    const running = [...this.execs.values()].filter((e) => e.status === 'running' || e.status === 'paused');
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise((r) => (timer = setTimeout(r, EXEC_EXIT_GRACE_MS)));
      await Promise.race([Promise.all(running.map((e) => e.wait())), grace]);
      clearTimeout(timer);
    }
    this.c.events.exit(this.c.id, this.c.id, p.pid, exit.status, exit.exitedAt);
    this.c.onInitExit(this);
  }

  /**
   * RemoveContainer in the guest; a container the agent no longer knows is fine. The sandbox's own
   * container skips it: its whole VM is being destroyed.
   */
  private async removeFromGuest(): Promise<void> {
    if (this.c.kind !== 'pod-container') return;
    try {
      await this.c.agent.removeContainer(this.c.id, REMOVE_TIMEOUT_SEC);
    } catch (err) {
      const code = codeOf(err);
      if (code === Code.NOT_FOUND || code === Code.UNAVAILABLE || this.c.agent.closed) return;
      throw err;
    }
  }
}
