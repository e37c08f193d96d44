/**
 * One debug console session: /bin/sh on a new pty in the guest (kata-runner shell), outside every
 * container, as root. Its output and exit status leave as console frames through `send`; the
 * host's keystrokes and window sizes come in through input() and resize().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { encodeData, encodeFrame, FrameType } from '@kata-ts/protocol/debug-console';
import type { Logger } from '../logging';

/** The shell and its environment: a login-like root shell whose prompt says where it runs. */
const SHELL = ['/bin/sh'];
const SHELL_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  TERM: 'xterm',
  PS1: 'kata-vm:\\w\\$ ',
};

export interface SessionSink {
  /** Queues frames for the host; false: the host is not taking them fast enough (pause output). */
  send(frames: Buffer[]): boolean;
  /** Called once the host's queue drained after send() returned false. */
  onDrain(resume: () => void): void;
}

export class ShellSession {
  private readonly child: ChildProcess;
  private readonly stdin: Writable;
  private readonly control: Writable;
  private status: number | undefined;
  private outputEnded = false;
  private finished = false;
  private killed = false;

  constructor(runner: string, rows: number, cols: number, private readonly sink: SessionSink, private readonly log: Logger, private readonly onEnd: () => void) {
    const args = ['shell', ...(rows && cols ? ['--rows', String(rows), '--cols', String(cols)] : []), '--', ...SHELL];
    this.child = spawn(runner, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'], env: SHELL_ENV, cwd: '/' });
    const [stdin, stdout, stderr, status, control] = this.child.stdio as unknown as [Writable, Readable, Readable, Readable, Writable];
    this.stdin = stdin;
    this.control = control;
    stdin.on('error', () => undefined);
    control.on('error', () => undefined);
    // The runner's own complaints (a pty it could not make) are the session's output too.
    stderr.on('data', (d: Buffer) => this.output(d, stderr));
    stdout.on('data', (d: Buffer) => this.output(d, stdout));
    stdout.once('end', () => {
      this.outputEnded = true;
      this.maybeFinish();
    });
    let statusText = '';
    status.setEncoding('utf8');
    status.on('data', (t: string) => {
      statusText = (statusText + t).slice(-256);
      const m = /exit (\d+)\n/.exec(statusText);
      if (m) {
        this.status = Number(m[1]);
        this.maybeFinish();
      }
    });
    status.on('error', () => undefined);
    this.child.once('error', (err) => {
      this.log.warn({ err: err.message }, 'debug console shell not started');
      this.sink.send([encodeFrame({ type: FrameType.ERROR, message: `cannot start a shell: ${err.message}` })]);
      this.end();
    });
    // A runner that died without a status (killed): the session ends all the same.
    this.child.once('exit', (code, signal) => {
      this.status ??= code ?? (signal ? 128 + 9 : 255);
      this.outputEnded = true;
      setImmediate(() => this.maybeFinish());
    });
  }

  private output(data: Buffer, from: Readable): void {
    if (!this.sink.send(encodeData(FrameType.OUTPUT, data))) {
      // Bounded: the pty (and so the shell) waits until the host has taken what is queued.
      from.pause();
      this.sink.onDrain(() => from.resume());
    }
  }

  input(data: Buffer): void {
    if (!this.finished) this.stdin.write(data);
  }

  resize(rows: number, cols: number): void {
    if (!this.finished && rows > 0 && cols > 0) this.control.write(`resize ${rows} ${cols}\n`);
  }

  /** The host left or started over: the shell's whole session is killed (the runner does it on SIGTERM). */
  kill(): void {
    if (this.finished) return;
    this.killed = true;
    this.child.kill('SIGTERM');
    this.end();
  }

  private maybeFinish(): void {
    if (this.finished || !this.outputEnded || this.status === undefined) return;
    this.log.info({ status: this.status }, 'debug console shell exited');
    if (!this.killed) this.sink.send([encodeFrame({ type: FrameType.EXIT, status: this.status })]);
    this.end();
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.onEnd();
  }
}
