import { execFile } from 'node:child_process';

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

  start(id: string): Promise<void> {
    return this.run(['start', id]);
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
    const full = [...this.global(), ...args];
    return new Promise((resolve, reject) => {
      execFile(this.options.binary, full, { timeout: 60_000, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
        if (!err) resolve();
        else reject(new CrunError(args, typeof err.code === 'number' ? err.code : null, `${stderr}${stdout}`.slice(0, 4096)));
      });
    });
  }
}
