/**
 * The lifecycle of a pod sandbox driven through containerd's Sandbox API (shim sandboxer), as
 * explicit state objects like process-state.ts: created (CreateSandbox) → ready (StartSandbox booted
 * the VM) → stopped (StopSandbox, or the VM died). Each state answers every operation and refuses
 * the illegal ones with FailedPrecondition; legal ones call back into the sandbox and name the next
 * state. ShutdownSandbox is not a state: it stops the sandbox and then forgets it.
 */
import { FailedPreconditionError } from '../errors';

export type SandboxStatus = 'created' | 'ready' | 'stopped';

/** What a state may ask of its sandbox. */
export interface SandboxOps {
  readonly description: string;
  /** Boots the pod's VM. */
  boot(): Promise<void>;
  /** Stops the pod's containers (up to graceMs for their exits) and its VM. */
  halt(graceMs: number): Promise<void>;
  /** Moves to `next`; reaching stopped records the exit (status) and wakes WaitSandbox. */
  transition(next: SandboxStatus, exitStatus?: number): void;
}

export interface SandboxState {
  readonly status: SandboxStatus;
  start(s: SandboxOps): Promise<void>;
  stop(s: SandboxOps, graceMs: number): Promise<void>;
  /** The VM ended on its own (hypervisor exit, agent gone). */
  died(s: SandboxOps, exitStatus: number): void;
}

function refuse(s: SandboxOps, action: string, status: SandboxStatus): never {
  throw new FailedPreconditionError(`cannot ${action} ${s.description} in ${status} state`);
}

class CreatedState implements SandboxState {
  readonly status = 'created' as const;
  async start(s: SandboxOps): Promise<void> {
    // A failed boot leaves the sandbox created: containerd shuts it down (or may try again).
    await s.boot();
    s.transition('ready');
  }
  async stop(s: SandboxOps): Promise<void> {
    // Nothing runs yet; stopping only means it never will.
    s.transition('stopped', 0);
  }
  died(): void {
    // No VM exists in this state.
  }
}

class ReadyState implements SandboxState {
  readonly status = 'ready' as const;
  async start(s: SandboxOps): Promise<void> {
    refuse(s, 'start', this.status);
  }
  async stop(s: SandboxOps, graceMs: number): Promise<void> {
    await s.halt(graceMs);
    s.transition('stopped', 0);
  }
  died(s: SandboxOps, exitStatus: number): void {
    s.transition('stopped', exitStatus);
  }
}

class StoppedState implements SandboxState {
  readonly status = 'stopped' as const;
  async start(s: SandboxOps): Promise<void> {
    refuse(s, 'start', this.status);
  }
  async stop(): Promise<void> {
    // Stopping is idempotent (CRI's StopPodSandbox is).
  }
  died(): void {
    // Already stopped; the first exit stands.
  }
}

export const SANDBOX_STATES: Record<SandboxStatus, SandboxState> = {
  created: new CreatedState(),
  ready: new ReadyState(),
  stopped: new StoppedState(),
};
