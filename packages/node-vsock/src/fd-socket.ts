// A Duplex over a non-blocking stream socket descriptor, for sockets that net.Socket cannot wrap
// (libuv's uv_guess_handle calls AF_VSOCK "UNKNOWN"). Readiness comes from a libuv poll watcher;
// the reads and writes themselves are single non-blocking syscalls on the JS thread, so nothing
// ever waits in the thread pool. VsockSocket adds connecting and addresses on top.
import { Duplex } from 'node:stream';

import { codedError, E, errnoError } from './errors';
import { FdWatcher } from './fd-watcher';
import { native } from './native';

/** Options shared by every FdSocket. */
export interface FdSocketOptions {
  /** An already-connected stream socket to wrap. The socket takes ownership and closes it. */
  fd?: number;
  /** Keep the writable side open after the peer ends (default false, as for net.Socket). */
  allowHalfOpen?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
}

type SocketState = 'idle' | 'connecting' | 'open' | 'closed';

/** How much one read asks for; libuv uses the same size for net.Socket. */
const READ_SIZE = 64 * 1024;
/** Reads per readiness event, so one busy socket cannot starve the rest of the loop. */
const READS_PER_EVENT = 16;
const SHUT_WR = 1;

// One read buffer for all sockets: every read is copied out (at its exact size) before the next.
let readBuffer: Buffer | undefined;

interface PendingWrite {
  chunk: Buffer;
  callback: (error?: Error | null) => void;
}

/** Duplex stream over a non-blocking, connected stream socket descriptor. */
export class FdSocket extends Duplex {
  /** Bytes received so far. */
  bytesRead = 0;
  /** Bytes handed to the kernel so far. */
  bytesWritten = 0;

  private watcher: FdWatcher | null = null;
  private socketState: SocketState = 'idle';
  /** Peer address for error messages. */
  private peer = '';
  /** The Readable asked for data and has room for it. */
  private wantRead = false;
  /** The write in progress: waiting for the connection or for the socket to drain. */
  private pendingWrite: PendingWrite | null = null;
  /** end() was called before the connection was up. */
  private pendingFinal: ((error?: Error | null) => void) | null = null;
  private connectTimer: NodeJS.Timeout | undefined;
  private unrefed = false;

  constructor(options: FdSocketOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
      decodeStrings: true,
      emitClose: true,
      autoDestroy: true,
    });
    if (options.fd !== undefined) {
      if (!Number.isInteger(options.fd) || options.fd < 0) {
        throw Object.assign(new RangeError(`fd must be a descriptor number, got ${options.fd}`), { code: 'ERR_OUT_OF_RANGE' });
      }
      this.attach(options.fd, 'open', '');
    }
  }

  /** True while a connect is in flight. */
  get connecting(): boolean {
    return this.socketState === 'connecting';
  }

  /** True until the socket is connected (and again once it is closed). */
  get pending(): boolean {
    return this.socketState !== 'open';
  }

  /** The descriptor, -1 when there is none (not yet connecting, or closed). */
  get fd(): number {
    return this.watcher?.fd ?? -1;
  }

  /** Lets the process exit while this socket is open. */
  unref(): this {
    this.unrefed = true;
    this.watcher?.unref();
    this.connectTimer?.unref();
    return this;
  }

  /** Undoes unref(). */
  ref(): this {
    this.unrefed = false;
    this.watcher?.ref();
    this.connectTimer?.ref();
    return this;
  }

  /** Takes ownership of fd; 'connecting' waits for writability, then checks SO_ERROR. Throws
   * (fd untouched) if libuv cannot watch it. */
  protected attach(fd: number, state: 'connecting' | 'open', peer: string): void {
    this.watcher = new FdWatcher(fd, (status, events) => this.onReady(status, events));
    if (this.unrefed) this.watcher.unref();
    this.socketState = state;
    this.peer = peer;
    this.updateInterest();
  }

  /** Whether connect() may still be called. */
  protected get isIdle(): boolean {
    return this.socketState === 'idle' && !this.destroyed;
  }

  /** Fails the connect with ETIMEDOUT unless it completes within ms. */
  protected startConnectTimer(ms: number): void {
    this.connectTimer = setTimeout(() => this.destroy(errnoError(E.TIMEDOUT, 'connect', this.peer || undefined)), ms);
    if (this.unrefed) this.connectTimer.unref();
  }

  /** Marks a connect that the kernel completed at once; events follow on the next tick, after the
   * caller has had a chance to add listeners. */
  protected connectedImmediately(): void {
    process.nextTick(() => {
      if (this.socketState === 'connecting') this.onConnected();
    });
  }

  /** Lets a transport translate its connect failures into the usual codes (see VsockSocket). */
  protected connectErrno(errno: number): number {
    return errno;
  }

  override _read(): void {
    this.wantRead = true;
    this.updateInterest();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pendingWrite = { chunk, callback };
    if (this.socketState === 'open') this.flushWrite();
    // Otherwise the write waits for the connection (writes before connect are allowed, as in net).
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.socketState === 'open') this.shutdownWrite(callback);
    else this.pendingFinal = callback;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.connectTimer);
    this.socketState = 'closed';
    this.watcher?.close();
    this.watcher = null;
    this.pendingFinal = null;
    const write = this.pendingWrite;
    this.pendingWrite = null;
    // A write stuck on a full socket never completes now; tell its author, as net.Socket does.
    write?.callback(error ?? codedError('ERR_SOCKET_CLOSED', 'Socket is closed'));
    callback(error);
  }

  private updateInterest(): void {
    if (this.watcher === null) return;
    const open = this.socketState === 'open';
    this.watcher.want(open && this.wantRead, this.socketState === 'connecting' || (open && this.pendingWrite !== null));
  }

  private onReady(status: number, events: number): void {
    if (this.watcher === null) return;
    if (status < 0) {
      // POLLERR: the real reason is the socket's pending error (ECONNRESET, ETIMEDOUT, ...).
      const error = native().socketError(this.watcher.fd);
      const errno = error < 0 ? error : status;
      if (this.socketState === 'connecting') this.failConnect(errno);
      else this.destroy(errnoError(errno, 'read', this.peer || undefined));
      return;
    }
    const b = native();
    if (this.socketState === 'connecting') {
      if (events & b.POLL_WRITABLE) this.finishConnect();
      return;
    }
    if (events & b.POLL_WRITABLE) this.flushWrite();
    if (events & b.POLL_READABLE && this.watcher !== null) this.readAvailable();
  }

  private finishConnect(): void {
    const error = native().socketError(this.watcher!.fd);
    if (error < 0) this.failConnect(error);
    else this.onConnected();
  }

  private failConnect(errno: number): void {
    this.destroy(errnoError(this.connectErrno(errno), 'connect', this.peer || undefined));
  }

  private onConnected(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.socketState = 'open';
    this.updateInterest();
    this.emit('connect');
    this.emit('ready');
    if (this.pendingWrite !== null) this.flushWrite();
    const final = this.pendingFinal;
    this.pendingFinal = null;
    if (final !== null && this.socketState === 'open') this.shutdownWrite(final);
  }

  private readAvailable(): void {
    const b = native();
    const buffer = (readBuffer ??= Buffer.allocUnsafe(READ_SIZE));
    for (let i = 0; i < READS_PER_EVENT && this.wantRead && this.watcher !== null; i++) {
      const n = b.read(this.watcher.fd, buffer);
      if (n > 0) {
        this.bytesRead += n;
        if (!this.push(Buffer.from(buffer.subarray(0, n)))) this.wantRead = false;
      } else if (n === 0) {
        this.wantRead = false;
        this.push(null);
      } else if (n === E.AGAIN) {
        break;
      } else {
        this.destroy(errnoError(n, 'read', this.peer || undefined));
        return;
      }
    }
    this.updateInterest();
  }

  /** Writes as much of the pending chunk as the socket takes; waits for writability otherwise. */
  private flushWrite(): void {
    const write = this.pendingWrite;
    if (write === null || this.watcher === null) return;
    const b = native();
    while (write.chunk.length > 0) {
      const n = b.send(this.watcher.fd, write.chunk);
      if (n >= 0) {
        this.bytesWritten += n;
        write.chunk = write.chunk.subarray(n);
      } else if (n === E.AGAIN) {
        this.updateInterest();
        return;
      } else {
        this.pendingWrite = null;
        this.updateInterest();
        write.callback(errnoError(n, 'write', this.peer || undefined));
        return;
      }
    }
    this.pendingWrite = null;
    this.updateInterest();
    write.callback();
  }

  /** Half-closes: the peer reads EOF, and this side can still read. */
  private shutdownWrite(callback: (error?: Error | null) => void): void {
    const rc = native().shutdown(this.watcher!.fd, SHUT_WR);
    // ENOTCONN: the peer is already gone, so there is nobody left to tell.
    if (rc < 0 && rc !== E.NOTCONN) callback(errnoError(rc, 'shutdown', this.peer || undefined));
    else callback();
  }
}
