/**
 * The lifecycle of a task process (a container's init or an exec) as explicit state objects, after
 * containerd's runc shim (process/init_state.go, exec_state.go). Each state implements every
 * operation and refuses the ones illegal in it with FailedPrecondition (or NotFound once the
 * process is finished or deleted); legal ones call back into the process and name the next state.
 */
import { FailedPreconditionError, NotFoundError } from '../errors';

export type ProcessStatus = 'created' | 'running' | 'paused' | 'stopped' | 'deleted';

/** What a state may ask of its process. */
export interface ProcessOps {
  readonly description: string;
  launch(): Promise<void>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  signal(signal: number, all: boolean): Promise<void>;
  /**
   * A signal reached a process that was created but never started: from now on its exit must be
   * noticed without a start (runc's created init dies of it too, and CRI-O's stop waits for that exit).
   */
  watchUnstarted(): void;
  remove(): Promise<void>;
  transition(next: ProcessStatus): void;
}

export interface ProcessState {
  readonly status: ProcessStatus;
  start(p: ProcessOps): Promise<void>;
  pause(p: ProcessOps): Promise<void>;
  resume(p: ProcessOps): Promise<void>;
  kill(p: ProcessOps, signal: number, all: boolean): Promise<void>;
  delete(p: ProcessOps): Promise<void>;
  /** The process ended (or was declared dead with its VM). */
  exited(p: ProcessOps): void;
}

const SIGKILL = 9;
const SIGTERM = 15;

function refuse(p: ProcessOps, action: string, status: ProcessStatus): never {
  throw new FailedPreconditionError(`cannot ${action} ${p.description} in ${status} state`);
}

class CreatedState implements ProcessState {
  readonly status = 'created' as const;
  async start(p: ProcessOps): Promise<void> {
    await p.launch();
    p.transition('running');
  }
  async pause(p: ProcessOps): Promise<void> {
    refuse(p, 'pause', this.status);
  }
  async resume(p: ProcessOps): Promise<void> {
    refuse(p, 'resume', this.status);
  }
  async kill(p: ProcessOps, signal: number, all: boolean): Promise<void> {
    await p.signal(signal, all);
    // Signal 0 only asks whether the process exists.
    if (signal !== 0) p.watchUnstarted();
  }
  async delete(p: ProcessOps): Promise<void> {
    await p.remove();
    p.transition('deleted');
  }
  exited(p: ProcessOps): void {
    p.transition('stopped');
  }
}

class RunningState implements ProcessState {
  readonly status = 'running' as const;
  async start(p: ProcessOps): Promise<void> {
    refuse(p, 'start', this.status);
  }
  async pause(p: ProcessOps): Promise<void> {
    await p.freeze();
    p.transition('paused');
  }
  async resume(p: ProcessOps): Promise<void> {
    refuse(p, 'resume', this.status);
  }
  async kill(p: ProcessOps, signal: number, all: boolean): Promise<void> {
    await p.signal(signal, all);
  }
  async delete(p: ProcessOps): Promise<void> {
    refuse(p, 'delete', this.status);
  }
  exited(p: ProcessOps): void {
    p.transition('stopped');
  }
}

class PausedState implements ProcessState {
  readonly status = 'paused' as const;
  async start(p: ProcessOps): Promise<void> {
    refuse(p, 'start', this.status);
  }
  async pause(p: ProcessOps): Promise<void> {
    refuse(p, 'pause', this.status);
  }
  async resume(p: ProcessOps): Promise<void> {
    await p.thaw();
    p.transition('running');
  }
  async kill(p: ProcessOps, signal: number, all: boolean): Promise<void> {
    await p.signal(signal, all);
  }
  async delete(p: ProcessOps): Promise<void> {
    refuse(p, 'delete', this.status);
  }
  exited(p: ProcessOps): void {
    p.transition('stopped');
  }
}

class StoppedState implements ProcessState {
  readonly status = 'stopped' as const;
  async start(p: ProcessOps): Promise<void> {
    refuse(p, 'start', this.status);
  }
  async pause(p: ProcessOps): Promise<void> {
    refuse(p, 'pause', this.status);
  }
  async resume(p: ProcessOps): Promise<void> {
    refuse(p, 'resume', this.status);
  }
  async kill(p: ProcessOps, signal: number): Promise<void> {
    // Kata answers OK to SIGKILL/SIGTERM on a finished process (containerd's kill-then-delete races it).
    if (signal === SIGKILL || signal === SIGTERM) return;
    throw new NotFoundError(`${p.description}: process already finished`);
  }
  async delete(p: ProcessOps): Promise<void> {
    await p.remove();
    p.transition('deleted');
  }
  exited(): void {}
}

class DeletedState implements ProcessState {
  readonly status = 'deleted' as const;
  private gone(p: ProcessOps): never {
    throw new NotFoundError(`${p.description} has been deleted`);
  }
  async start(p: ProcessOps): Promise<void> {
    this.gone(p);
  }
  async pause(p: ProcessOps): Promise<void> {
    this.gone(p);
  }
  async resume(p: ProcessOps): Promise<void> {
    this.gone(p);
  }
  async kill(p: ProcessOps): Promise<void> {
    this.gone(p);
  }
  async delete(p: ProcessOps): Promise<void> {
    this.gone(p);
  }
  exited(): void {}
}

/** The single instance of each state, by status. */
export const STATES: Record<ProcessStatus, ProcessState> = {
  created: new CreatedState(),
  running: new RunningState(),
  paused: new PausedState(),
  stopped: new StoppedState(),
  deleted: new DeletedState(),
};
