import { execFile } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/** Result of one crun invocation that failed: its exit code and what it printed. */
export class CrunError extends Error {
  override readonly name = 'CrunError';
  constructor(readonly args: string[], readonly exitCode: number | null, readonly output: string) {
    super(`crun ${args.join(' ')}: ${output.trim() || `exit ${exitCode}`}`);
  }
}

export interface CrunOptions {
  binary: string;
  /** crun's state directory (--root). */
  root: string;
  noPivot: boolean;
  /** Load crun at the same addresses every run (see AgentConfig.crunFixedLayout). */
  fixedLayout?: boolean;
  /** The kata-runner, which starts crun at fixed addresses for the verbs run here (`kata-runner fixed`). */
  runner?: () => string;
}

/**
 * Command lines for crun. create and exec run under a kata-runner (they own the process's stdio);
 * the other verbs run here and resolve when crun is done.
 */
export class Crun {
  constructor(private readonly options: CrunOptions) {}

  get binary(): string {
    return this.options.binary;
  }

  /** Whether the runner starts crun without address randomization (kata-runner --fixed-layout). */
  get fixedLayout(): boolean {
    return this.options.fixedLayout ?? false;
  }

  private global(): string[] {
    return ['--root', this.options.root];
  }

  /** argv of `crun create` for a kata-runner. */
  createCommand(id: string, bundle: string, pidFile: string, consoleSocket?: string): string[] {
    const args = [this.options.binary, ...this.global(), 'create', '--bundle', bundle, '--pid-file', pidFile];
    if (consoleSocket) args.push('--console-socket', consoleSocket);
    if (this.options.noPivot) args.push('--no-pivot');
    args.push(id);
    return args;
  }

  /** argv of `crun exec -d` for a kata-runner. */
  execCommand(id: string, processFile: string, pidFile: string, consoleSocket?: string): string[] {
    const args = [this.options.binary, ...this.global(), 'exec', '-d', '--pid-file', pidFile, '--process', processFile];
    if (consoleSocket) args.push('--tty', '--console-socket', consoleSocket);
    args.push(id);
    return args;
  }

  /**
   * Starts a created container the way `crun start` does for a config without poststart hooks (the
   * agent never gives crun hooks, oci.ts) and without a notify socket: open the container's exec.fifo
   * for writing, unlink it, write one byte; the init blocked reading it goes on to exec the process.
   * Done here because each crun run costs about 100 ms under TCG (loading crun and its ten shared
   * libraries) against about 4 ms for a static binary. O_NONBLOCK: with no reader (the init is gone, or
   * the container already started and the fifo is gone) the open fails at once instead of hanging,
   * and crun itself then runs, to give its own error.
   */
  async start(id: string): Promise<void> {
    const fifo = path.join(this.options.root, id, 'exec.fifo');
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      return this.run(['start', id]);
    }
    try {
      await fs.unlink(fifo);
      await handle.write(Buffer.alloc(1));
    } finally {
      await handle.close();
    }
  }

  delete(id: string): Promise<void> {
    return this.run(['delete', '--force', id]);
  }

  kill(id: string, signal: number, all: boolean): Promise<void> {
    return this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  pause(id: string): Promise<void> {
    return this.run(['pause', id]);
  }

  resume(id: string): Promise<void> {
    return this.run(['resume', id]);
  }

  private run(args: string[]): Promise<void> {
    const crunArgs = [...this.global(), ...args];
    const [file, full] = this.options.fixedLayout && this.options.runner
      ? [this.options.runner(), ['fixed', '--', this.options.binary, ...crunArgs]]
      : [this.options.binary, crunArgs];
    return new Promise((resolve, reject) => {
      execFile(file, full, { timeout: 60_000, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
        if (!err) resolve();
        else reject(new CrunError(args, typeof err.code === 'number' ? err.code : null, `${stderr}${stdout}`.slice(0, 4096)));
      });
    });
  }
}
