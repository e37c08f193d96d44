import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Duplex } from 'node:stream';
import type { CharDevice, CharDeviceRead } from 'node-vsock';
import type { Server } from 'ttrpc-ts';
import type { Logger } from '../logging';
import { FrameSplitter } from './frame-splitter';

/** /dev path of the virtio-serial port with this name (from /sys/class/virtio-ports/<vport>/name). */
export async function findVirtioPort(name: string, sysRoot = '/sys'): Promise<string | undefined> {
  const dir = path.join(sysRoot, 'class/virtio-ports');
  for (const port of await fs.readdir(dir).catch(() => [] as string[])) {
    const n = await fs.readFile(path.join(dir, port, 'name'), 'utf8').catch(() => '');
    if (n.trim() === name) return path.join('/dev', port);
  }
  return undefined;
}

/** One host connection's view of the port: frames in, bytes out to the shared writer. */
class Session extends Duplex {
  constructor(private readonly writeOut: (chunk: Buffer) => Promise<void>) {
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeOut(chunk).then(() => cb(), (err: Error) => cb(err));
  }

  override _final(cb: () => void): void {
    cb();
  }
}

/** node-vsock is required at run time, where its addon is loaded (the type import above loads nothing). */
function openPort(device: string): CharDevice {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vsock = require('node-vsock') as typeof import('node-vsock');
  return vsock.CharDevice.open(device);
}

/** Reads per readiness event (a port hands out one 4 KiB buffer per read), so output can interleave. */
const READS_PER_EVENT = 64;

interface QueuedWrite {
  data: Buffer;
  from: Session;
  done: (err?: Error) => void;
}

/**
 * Serves ttrpc on a virtio-serial port. The port is a character device that outlives host
 * connections: a read of 0 bytes means no host is connected (then the session ends and reading is
 * retried with a short backoff); stale or garbled bytes are skipped by FrameSplitter, and a client
 * that starts over gets a fresh session.
 *
 * The port is non-blocking and driven by libuv's poll (node-vsock CharDevice): each read and write is
 * one syscall on the JS thread. With fs streams every one of them was a thread-pool round trip, and a
 * port moves at most 4 KiB per read and 32 KiB per write: under TCG that capped a container's stdin at
 * about 3 MB/s and its stdout at about 7.
 */
export class VirtioSerialChannel {
  private port: CharDevice | null = null;
  private session: Session | null = null;
  private closed = false;
  private hungUp = false;
  private idle = 5;
  private retry: NodeJS.Timeout | undefined;
  private readonly writes: QueuedWrite[] = [];
  private drainWaiters: Array<() => void> = [];
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  private readonly splitter: FrameSplitter;

  constructor(
    private readonly device: string,
    private readonly server: Server,
    private readonly log: Logger,
  ) {
    this.splitter = new FrameSplitter(
      (frame) => this.currentSession().push(frame),
      () => {
        this.log.info('client restarted its stream ids: new session');
        this.endSession();
      },
    );
  }

  async start(): Promise<void> {
    this.port = openPort(this.device);
    this.port.onReady((readable, writable) => {
      if (readable) this.readAvailable();
      if (writable) this.flushWrites();
      this.rewatch();
    });
    this.rewatch();
  }

  /** Resolves once queued writes reached the port (or after maxMs). */
  async flush(maxMs = 1000): Promise<void> {
    if (this.writes.length === 0) return;
    await Promise.race([new Promise<void>((r) => this.drainWaiters.push(r)), new Promise((r) => setTimeout(r, maxMs))]);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.endSession();
    this.port?.close();
    this.port = null;
  }

  private currentSession(): Session {
    if (!this.session) {
      const s: Session = new Session((chunk: Buffer): Promise<void> => this.write(chunk, s));
      this.session = s;
      this.server.serveConnection(s);
      return s;
    }
    return this.session;
  }

  private endSession(): void {
    const s = this.session;
    this.session = null;
    // Answers for a session that ended must not reach the next host.
    for (const w of this.writes.splice(0)) w.done();
    this.settleDrain();
    if (s) {
      s.push(null);
      s.destroy();
    }
  }

  /** Read while a host is there and writes wait; while no host is connected, retry on a timer. */
  private rewatch(): void {
    if (!this.port || this.closed) return;
    this.port.watch(!this.hungUp, !this.hungUp && this.writes.length > 0);
  }

  private write(chunk: Buffer, from: Session): Promise<void> {
    if (from !== this.session || !this.port) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.writes.push({ data: chunk, from, done: (err) => (err ? reject(err) : resolve()) });
      this.flushWrites();
      this.rewatch();
    });
  }

  private flushWrites(): void {
    while (this.port && this.writes.length > 0) {
      const head = this.writes[0]!;
      let n: number;
      try {
        n = this.port.write(head.data);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'virtio-serial write failed');
        this.writes.shift();
        head.done(err as Error);
        continue;
      }
      if (n === 0) return; // full: the poll says when it is writable again
      if (n < head.data.length) {
        head.data = head.data.subarray(n);
        continue;
      }
      this.writes.shift();
      head.done();
    }
    this.settleDrain();
  }

  private settleDrain(): void {
    if (this.writes.length > 0) return;
    for (const r of this.drainWaiters.splice(0)) r();
  }

  private readAvailable(): void {
    for (let i = 0; i < READS_PER_EVENT && this.port; i++) {
      let r: CharDeviceRead;
      try {
        r = this.port.read(this.readBuffer);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'virtio-serial read failed');
        r = 'hangup';
      }
      if (r === 'again') return;
      if (r === 'hangup') {
        this.hostGone();
        return;
      }
      this.idle = 5;
      this.splitter.push(Buffer.from(this.readBuffer.subarray(0, r)));
    }
  }

  /** No host connected (or it just left): end its session and look again after a short backoff. */
  private hostGone(): void {
    if (this.session) this.log.info('host disconnected from virtio-serial port');
    this.endSession();
    this.splitter.reset();
    this.hungUp = true;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.hungUp = false;
      this.readAvailable();
      this.rewatch();
    }, this.idle);
    this.idle = Math.min(this.idle * 2, 50);
  }
}
