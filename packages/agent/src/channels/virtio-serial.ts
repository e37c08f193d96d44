import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Duplex } from 'node:stream';
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

/**
 * Serves ttrpc on a virtio-serial port. The port is a character device that outlives host
 * connections: a read of 0 bytes means no host is connected (then the session ends and reading is
 * retried with a short backoff); stale or garbled bytes are skipped by FrameSplitter, and a client
 * that starts over gets a fresh session.
 */
export class VirtioSerialChannel {
  private fd: fs.FileHandle | null = null;
  private session: Session | null = null;
  private closed = false;
  private writing: Promise<void> = Promise.resolve();
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
    this.fd = await fs.open(this.device, 'r+');
    void this.readLoop();
  }

  /** Resolves once queued writes reached the port (or after maxMs). */
  async flush(maxMs = 1000): Promise<void> {
    await Promise.race([this.writing, new Promise((r) => setTimeout(r, maxMs))]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.endSession();
    // Not awaited: a read parked in the thread pool keeps a FileHandle close() pending until it returns.
    void this.fd?.close().catch(() => undefined);
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
    if (s) {
      s.push(null);
      s.destroy();
    }
  }

  private write(chunk: Buffer, from: Session): Promise<void> {
    const next = this.writing.then(async () => {
      // Answers for a session that ended must not reach the next host.
      if (from !== this.session || !this.fd) return;
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await this.fd.write(chunk, off, chunk.length - off);
        off += bytesWritten;
      }
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async readLoop(): Promise<void> {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let idle = 5;
    while (!this.closed && this.fd) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.fd.read(buf, 0, buf.length, null));
      } catch (err) {
        if (this.closed) return;
        this.log.warn({ err: (err as Error).message }, 'virtio-serial read failed');
        n = 0;
      }
      if (n > 0) {
        idle = 5;
        this.splitter.push(Buffer.from(buf.subarray(0, n)));
        continue;
      }
      // No host connected (or it just left): end its session and poll until one is there again.
      if (this.session) this.log.info('host disconnected from virtio-serial port');
      this.endSession();
      this.splitter.reset();
      await new Promise((r) => setTimeout(r, idle));
      idle = Math.min(idle * 2, 50);
    }
  }
}
