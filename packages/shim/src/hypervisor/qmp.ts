/**
 * A small QMP client (QEMU's JSON monitor on a unix socket): greeting, qmp_capabilities, then one
 * command at a time. QMP answers in order, so replies are matched to a FIFO of waiters; asynchronous
 * events are kept (bounded) for whoever asks. QEMU is trusted no more than it must be: lines are
 * capped and unparsable output ends the session with an error.
 */
import type net from 'node:net';
import { dialUnix } from './unix-dial';

const MAX_LINE = 1 << 20;
const MAX_EVENTS = 64;

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(readonly command: string, readonly errorClass: string, desc: string) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
  }
}

interface Waiter {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class QmpClient {
  private buffer = '';
  private readonly waiters: Waiter[] = [];
  readonly events: QmpEvent[] = [];
  private closedWith: Error | undefined;
  private closedResolve!: (err: Error) => void;
  /** Settles with the reason once the connection is gone (QEMU exited, or close() was called). */
  readonly closed: Promise<Error> = new Promise((resolve) => (this.closedResolve = resolve));

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('QMP connection closed')));
  }

  /** Connects (retrying while QEMU has not created the socket yet) and negotiates capabilities. */
  static async connect(socketPath: string, timeoutMs: number): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await dialUnix(socketPath, 0);
        const qmp = new QmpClient(socket);
        // The greeting counts as the reply to a pseudo-command queued first.
        await qmp.expect('greeting');
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (err) {
        if (Date.now() >= deadline) throw new Error(`cannot reach QMP at ${socketPath}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  private expect(command: string): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => this.waiters.push({ command, resolve, reject }));
  }

  /** Runs one command; resolves with its `return` value or rejects with its `error`. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = this.expect(command);
    this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    return reply;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onLine(line);
    }
    if (this.buffer.length > MAX_LINE) this.fail(new Error('QMP line too long'));
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.fail(new Error(`QMP sent something that is not JSON: ${line.slice(0, 200)}`));
      return;
    }
    if (typeof msg.event === 'string') {
      if (this.events.length >= MAX_EVENTS) this.events.shift();
      this.events.push({ event: msg.event, data: msg.data as Record<string, unknown> | undefined });
      return;
    }
    const waiter = this.waiters.shift();
    if (!waiter) return; // a reply nobody asked for: ignore
    if ('QMP' in msg || 'return' in msg) {
      waiter.resolve(msg.return);
    } else {
      const e = (msg.error ?? {}) as { class?: string; desc?: string };
      waiter.reject(new QmpError(waiter.command, String(e.class ?? 'GenericError'), String(e.desc ?? line.slice(0, 200))));
    }
  }

  private fail(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    this.closedResolve(err);
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.socket.destroy();
  }

  close(): void {
    this.fail(new Error('QMP connection closed by the shim'));
  }
}
