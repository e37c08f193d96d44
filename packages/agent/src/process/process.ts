import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { FailedPreconditionError, UnavailableError } from '../errors';
import { OutputBuffer } from './output-buffer';
import { Runner, RunnerEvent, RunnerOptions } from './runner';

/** Where a process is in its life. */
export type ProcessPhase = 'created' | 'running' | 'exited';

/** Exit status reported when the runner vanished without telling (as Kata's shim reports errors). */
export const UNKNOWN_EXIT_STATUS = 255;

/** Raised when crun refused to create or exec the process; the message is crun's own. */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
}

export interface LaunchOptions extends RunnerOptions {
  /** Exec id; '' for the container's init process. */
  execId: string;
  tty: boolean;
  outputBufferBytes: number;
  /** Give up waiting for crun after this long. */
  launchTimeoutMs?: number;
}

/**
 * A process of a container (its init or an exec), driven through a kata-runner: its pid, its
 * phase, bounded stdout/stderr buffers, stdin, the pty size and its exit status.
 */
export class ContainerProcess {
  readonly execId: string;
  readonly tty: boolean;
  readonly stdout: OutputBuffer;
  readonly stderr: OutputBuffer;
  /** crun's diagnostics with a terminal (the process's own output goes through the pty). */
  private readonly diagnostics: OutputBuffer | null;
  private phaseValue: ProcessPhase = 'created';
  private pidValue = 0;
  private exitValue: number | undefined;
  private stdinClosed = false;
  private readonly exitWaiters: Array<(status: number) => void> = [];

  private constructor(
    private readonly runner: Runner,
    options: LaunchOptions,
  ) {
    this.execId = options.execId;
    this.tty = options.tty;
    this.stdout = new OutputBuffer(runner.stdout, options.outputBufferBytes);
    if (options.tty) {
      this.stderr = new OutputBuffer(null, options.outputBufferBytes);
      this.diagnostics = new OutputBuffer(runner.stderr, 64 * 1024);
    } else {
      this.stderr = new OutputBuffer(runner.stderr, options.outputBufferBytes);
      this.diagnostics = null;
    }
    runner.on('status', (e: RunnerEvent) => {
      if (e.kind === 'exit') this.setExited(e.status);
    });
    runner.on('runner-exit', () => this.setExited(UNKNOWN_EXIT_STATUS));
  }

  /** Starts the runner and waits until crun created the process (its pid is known) or failed. */
  static async launch(options: LaunchOptions): Promise<ContainerProcess> {
    const runner = new Runner(options);
    const proc = new ContainerProcess(runner, options);
    const timeoutMs = options.launchTimeoutMs ?? 60_000;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const outcome = await new Promise<RunnerEvent | 'gone'>((resolve, reject) => {
        runner.on('status', (e: RunnerEvent) => {
          if (e.kind === 'pid' || e.kind === 'fail') resolve(e);
        });
        runner.once('runner-exit', () => resolve('gone'));
        ac.signal.addEventListener('abort', () => reject(new LaunchError(`crun did not finish within ${timeoutMs} ms`)));
      });
      if (outcome !== 'gone' && outcome.kind === 'pid') {
        proc.pidValue = outcome.pid;
        return proc;
      }
      // crun failed: its message is on the stderr it shared with the process.
      const errOut = proc.diagnostics ?? proc.stderr;
      await errOut.waitEnded(2000);
      const text = errOut.peekText().trim() || 'no message';
      throw new LaunchError(`${options.command.slice(0, 4).join(' ')} failed: ${text}`);
    } catch (err) {
      proc.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  get pid(): number {
    return this.pidValue;
  }

  get phase(): ProcessPhase {
    return this.phaseValue;
  }

  /** The exit status once known (code, or 128+signal). */
  get exitStatus(): number | undefined {
    return this.exitValue;
  }

  /** Marks a created process as running (after `crun start`). */
  markRunning(): void {
    if (this.phaseValue === 'created') this.phaseValue = 'running';
  }

  /** Resolves with the exit status once the process exited. */
  wait(signal?: AbortSignal): Promise<number> {
    if (this.exitValue !== undefined) return Promise.resolve(this.exitValue);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.exitWaiters.indexOf(done);
        if (i >= 0) this.exitWaiters.splice(i, 1);
        reject(Object.assign(new Error('wait cancelled'), { code: 'ABORT_ERR' }));
      };
      const done = (status: number): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(status);
      };
      this.exitWaiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sends a signal; a process that is already gone is not an error (ESRCH ignored, as Kata). */
  signal(sig: number): void {
    if (this.exitValue !== undefined || this.pidValue <= 0) return;
    try {
      process.kill(this.pidValue, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** True when the process installed a handler for `sig` (from /proc/<pid>/status SigCgt). */
  catchesSignal(sig: number): boolean {
    try {
      const status = readFileSync(`/proc/${this.pidValue}/status`, 'utf8');
      const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
      if (!m) return false;
      return ((BigInt(`0x${m[1]}`) >> BigInt(sig - 1)) & 1n) === 1n;
    } catch {
      return false;
    }
  }

  /** Writes to stdin and resolves with the number of bytes accepted, after the pipe took them. */
  async write(data: Uint8Array): Promise<number> {
    if (this.stdinClosed) throw new FailedPreconditionError(`stdin of process ${this.label} is closed`);
    const stdin = this.runner.stdin;
    if (stdin.destroyed || !stdin.writable) throw new FailedPreconditionError(`stdin of process ${this.label} is gone`);
    if (!stdin.write(data)) {
      await Promise.race([once(stdin, 'drain'), once(stdin, 'close')]);
    }
    return data.length;
  }

  /** Closes stdin (the process reads EOF); idempotent. */
  closeStdin(): void {
    if (this.stdinClosed) return;
    this.stdinClosed = true;
    this.runner.stdin.end();
  }

  /** Sets the terminal size. */
  resize(rows: number, cols: number): void {
    if (!this.tty) throw new UnavailableError(`process ${this.label} has no tty`);
    if (this.exitValue !== undefined) return;
    this.runner.resize(rows, cols);
  }

  /** Stops the runner (which kills the process) and drops buffered output. */
  destroy(): void {
    this.runner.kill();
    this.stdout.discard();
    this.stderr.discard();
    this.diagnostics?.discard();
    this.runner.stdin.destroy();
  }

  private get label(): string {
    return this.execId === '' ? 'init' : this.execId;
  }

  private setExited(status: number): void {
    if (this.exitValue !== undefined) return;
    this.exitValue = status;
    this.phaseValue = 'exited';
    for (const w of this.exitWaiters.splice(0)) w(status);
  }
}
