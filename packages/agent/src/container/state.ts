import { FailedPreconditionError } from '../errors';

/** What a state needs from its container to carry out a transition. */
export interface StateHost {
  readonly id: string;
  doStart(): Promise<void>;
  doPause(): Promise<void>;
  doResume(): Promise<void>;
  transition(to: ContainerState): void;
}

/**
 * One state of a container's life. Every state answers every operation: legal ones do the work and
 * move the container on, illegal ones refuse with FAILED_PRECONDITION (runc shim's init_state.go).
 */
export abstract class ContainerState {
  abstract readonly name: 'created' | 'running' | 'paused' | 'stopped';

  async start(c: StateHost): Promise<void> {
    throw this.refuse(c, 'start');
  }

  async pause(c: StateHost): Promise<void> {
    throw this.refuse(c, 'pause');
  }

  async resume(c: StateHost): Promise<void> {
    throw this.refuse(c, 'resume');
  }

  /** Exec needs a live container. */
  checkExec(c: StateHost): void {
    throw this.refuse(c, 'exec in');
  }

  /** Resources can change while the container exists and has not stopped. */
  checkUpdate(c: StateHost): void {
    throw this.refuse(c, 'update');
  }

  /** The init process exited. */
  exited(c: StateHost): void {
    c.transition(STOPPED);
  }

  protected refuse(c: StateHost, what: string): FailedPreconditionError {
    return new FailedPreconditionError(`cannot ${what} container ${c.id} in ${this.name} state`);
  }
}

class CreatedState extends ContainerState {
  readonly name = 'created';

  override async start(c: StateHost): Promise<void> {
    await c.doStart();
    c.transition(RUNNING);
  }

  override checkUpdate(): void {}
}

class RunningState extends ContainerState {
  readonly name = 'running';

  override async pause(c: StateHost): Promise<void> {
    await c.doPause();
    c.transition(PAUSED);
  }

  override checkExec(): void {}
  override checkUpdate(): void {}
}

class PausedState extends ContainerState {
  readonly name = 'paused';

  override async resume(c: StateHost): Promise<void> {
    await c.doResume();
    c.transition(RUNNING);
  }

  override checkUpdate(): void {}
}

class StoppedState extends ContainerState {
  readonly name = 'stopped';

  override exited(): void {}
}

export const CREATED: ContainerState = new CreatedState();
export const RUNNING: ContainerState = new RunningState();
export const PAUSED: ContainerState = new PausedState();
export const STOPPED: ContainerState = new StoppedState();
