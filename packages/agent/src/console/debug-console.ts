/**
 * The debug console (Kata's debug console; `kata-ts exec` on the host): the VM has the
 * virtio-serial port agent.console.0 only when the host's configuration enables it
 * ([agent.kata] debug_console_enabled), and then the agent runs a root shell on a pty for whoever
 * holds the host end, in frames (@kata-ts/protocol/debug-console): OPEN starts a shell, its output
 * and exit status come back.
 *
 * The port outlives host connections, like the agent's own (channels/virtio-serial.ts): a read of
 * 0 bytes means no host is connected; then the shell is killed (a console nobody watches must not
 * keep running), queued output dropped, and the port looked at again after a short backoff.
 */
import type { CharDevice, CharDeviceRead } from 'node-vsock';
import { ConsoleFrameDecoder, encodeFrame, HOST_FRAMES, FrameType, type ConsoleFrame } from '@kata-ts/protocol/debug-console';
import { findVirtioPort } from '../channels/virtio-serial';
import type { Logger } from '../logging';
import { ShellSession, type SessionSink } from './shell-session';

export const CONSOLE_PORT_NAME = 'agent.console.0';
/** Output queued for the host beyond this pauses the shell's pty (bounded memory). */
const MAX_QUEUED_BYTES = 256 * 1024;
const READS_PER_EVENT = 16;

export class DebugConsole implements SessionSink {
  private readonly decoder = new ConsoleFrameDecoder(HOST_FRAMES);
  private readonly readBuffer = Buffer.allocUnsafe(32 * 1024);
  private queue: Buffer[] = [];
  private queued = 0;
  private drainWaiters: Array<() => void> = [];
  private session: ShellSession | undefined;
  private hungUp = false;
  private idleMs = 5;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly port: CharDevice, private readonly runner: () => string, private readonly log: Logger) {}

  /** Serves the console port when this VM has one; undefined when it has not (the console is off). */
  static async open(runner: () => string, log: Logger): Promise<DebugConsole | undefined> {
    const device = await findVirtioPort(CONSOLE_PORT_NAME);
    if (!device) return undefined;
    // node-vsock is required at run time, where its addon is loaded.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const port = (require('node-vsock') as typeof import('node-vsock')).CharDevice.open(device);
    const dc = new DebugConsole(port, runner, log);
    port.onReady((readable, writable) => {
      if (readable) dc.readAvailable();
      if (writable) dc.flush();
      dc.rewatch();
    });
    dc.rewatch();
    log.warn({ device }, 'debug console enabled: a root shell is served on the console port');
    return dc;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.session?.kill();
    this.port.close();
  }

  send(frames: Buffer[]): boolean {
    if (this.hungUp || this.closed) return true; // nobody to show it to: dropped
    for (const f of frames) {
      this.queue.push(f);
      this.queued += f.length;
    }
    this.flush();
    this.rewatch();
    return this.queued <= MAX_QUEUED_BYTES;
  }

  onDrain(resume: () => void): void {
    this.drainWaiters.push(resume);
  }

  private rewatch(): void {
    if (!this.closed) this.port.watch(!this.hungUp, !this.hungUp && this.queue.length > 0);
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      let n: number;
      try {
        n = this.port.write(head);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'debug console write failed');
        this.hostGone();
        return;
      }
      if (n === 0) return;
      this.queued -= n;
      if (n < head.length) this.queue[0] = head.subarray(n);
      else this.queue.shift();
    }
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private readAvailable(): void {
    for (let i = 0; i < READS_PER_EVENT && !this.closed; i++) {
      let r: CharDeviceRead;
      try {
        r = this.port.read(this.readBuffer);
      } catch {
        r = 'hangup';
      }
      if (r === 'again') return;
      if (r === 'hangup') return this.hostGone();
      this.idleMs = 5;
      let frames: ConsoleFrame[];
      try {
        frames = this.decoder.push(Buffer.from(this.readBuffer.subarray(0, r)));
      } catch (err) {
        // Garbage from the host side: drop the session and wait for the next OPEN.
        this.log.warn({ err: (err as Error).message }, 'debug console: bad frame, session ended');
        this.decoder.reset();
        this.session?.kill();
        continue;
      }
      for (const f of frames) this.onFrame(f);
    }
  }

  private onFrame(f: ConsoleFrame): void {
    switch (f.type) {
      case FrameType.OPEN: {
        this.session?.kill();
        this.log.info({ rows: f.rows, cols: f.cols }, 'debug console session opened');
        let runner: string;
        try {
          runner = this.runner();
        } catch (err) {
          this.send([encodeFrame({ type: FrameType.ERROR, message: (err as Error).message })]);
          return;
        }
        const s: ShellSession = new ShellSession(runner, f.rows, f.cols, this, this.log, () => {
          if (this.session === s) this.session = undefined;
        });
        this.session = s;
        return;
      }
      case FrameType.INPUT:
        return this.session?.input(f.data);
      case FrameType.RESIZE:
        return this.session?.resize(f.rows, f.cols);
    }
  }

  /** The host end closed: kill the shell, forget what it was sent, look again soon. */
  private hostGone(): void {
    if (this.session) this.log.info('debug console host disconnected: shell killed');
    this.session?.kill();
    this.decoder.reset();
    this.queue = [];
    this.queued = 0;
    for (const w of this.drainWaiters.splice(0)) w();
    this.hungUp = true;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.hungUp = false;
      this.readAvailable();
      this.rewatch();
    }, this.idleMs);
    // Slower than the agent channel's 50 ms: nobody waits on a console's first keystroke.
    this.idleMs = Math.min(this.idleMs * 2, 200);
  }
}
