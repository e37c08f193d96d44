import { spawn, ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';

/** What a runner reports on its status descriptor. */
export type RunnerEvent = { kind: 'pid'; pid: number } | { kind: 'exit'; status: number } | { kind: 'fail'; status: number };

export interface RunnerOptions {
  runner: string;
  /** The OCI runtime command line (crun create|exec ...). */
  command: string[];
  pidFile: string;
  /** With a terminal: the console socket crun sends the pty master to. */
  consoleSocket?: string;
  drainMs: number;
  /** Run crun at fixed addresses (kata-runner --fixed-layout; AgentConfig.crunFixedLayout). */
  fixedLayout?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** How long the status pipe may stay open after the runner exited before its exit is reported anyway. */
const STATUS_DRAIN_MS = 2_000;

/**
 * One kata-runner child (see native/kata-runner.c): it runs crun for one process, pumps the process's
 * stdio through the sockets here, and reports its pid and exit status on fd 3. The runner exits after
 * the process exited and its output was forwarded; Node reaps it.
 */
export class Runner extends EventEmitter {
  readonly child: ChildProcess;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  private readonly control: Writable;
  private statusText = '';
  private exited = false;

  constructor(options: RunnerOptions) {
    super();
    const args = ['run', '--pid-file', options.pidFile, '--drain-ms', String(options.drainMs)];
    if (options.consoleSocket) args.push('--tty', '--console-socket', options.consoleSocket);
    if (options.fixedLayout) args.push('--fixed-layout');
    args.push('--', ...options.command);
    this.child = spawn(options.runner, args, {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    const [stdin, stdout, stderr, status, control] = this.child.stdio as unknown as [Writable, Readable, Readable, Readable, Writable];
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    this.control = control;
    // A process that stops reading its stdin (or exits) must not crash the agent.
    this.stdin.on('error', () => undefined);
    this.control.on('error', () => undefined);
    status.setEncoding('utf8');
    status.on('data', (text: string) => this.onStatus(text));
    status.on('error', () => undefined);
    this.child.once('error', (err) => this.finish(err));
    // 'exit' can come before the last bytes of the status pipe were read: finish once that pipe has
    // ended too (bounded, in case something else still holds it), or the exit status is lost.
    this.child.once('exit', () => {
      if (status.readableEnded || status.destroyed) return this.finish(undefined);
      const timer = setTimeout(() => this.finish(undefined), STATUS_DRAIN_MS);
      status.once('close', () => {
        clearTimeout(timer);
        this.finish(undefined);
      });
    });
  }

  /** True once the runner itself has exited. */
  get hasExited(): boolean {
    return this.exited;
  }

  /** Sets the pty's window size (terminal processes only). */
  resize(rows: number, cols: number): void {
    this.control.write(`resize ${rows} ${cols}\n`);
  }

  /** Stops the runner (it kills its process first). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGTERM');
  }

  private onStatus(text: string): void {
    this.statusText += text;
    let nl: number;
    while ((nl = this.statusText.indexOf('\n')) >= 0) {
      const line = this.statusText.slice(0, nl);
      this.statusText = this.statusText.slice(nl + 1);
      const m = /^(pid|exit|fail) (-?\d+)$/.exec(line);
      if (!m) continue;
      const n = Number(m[2]);
      const event: RunnerEvent = m[1] === 'pid' ? { kind: 'pid', pid: n } : m[1] === 'exit' ? { kind: 'exit', status: n } : { kind: 'fail', status: n };
      this.emit('status', event);
    }
    if (this.statusText.length > 1024) this.statusText = '';
  }

  private finish(err: Error | undefined): void {
    if (this.exited) return;
    this.exited = true;
    this.emit('runner-exit', err);
  }
}
