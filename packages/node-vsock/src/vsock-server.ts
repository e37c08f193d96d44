// AF_VSOCK listening server, shaped like net.Server: listen(), 'listening', 'connection', 'error',
// close() and 'close' once every accepted connection has closed.
import { EventEmitter } from 'node:events';

import { formatVsockAddress, VMADDR_CID_ANY, type VsockAddress } from './constants';
import { checkU32, codedError, E, errnoError } from './errors';
import { FdWatcher } from './fd-watcher';
import { native } from './native';
import { VsockSocket } from './vsock-socket';

/** Where to listen. */
export interface VsockListenOptions {
  port: number;
  /** Local CID to bind (default VMADDR_CID_ANY: every address of this machine). */
  cid?: number;
  /** Length of the queue of not-yet-accepted connections (default 511, as net.Server). */
  backlog?: number;
}

/** Options for the accepted sockets. */
export interface VsockServerOptions {
  /** Passed to every accepted VsockSocket (default false). */
  allowHalfOpen?: boolean;
}

/** Connections accepted per readiness event, so a connection storm cannot starve the loop. */
const ACCEPTS_PER_EVENT = 64;
/** Pause after running out of descriptors or memory: the connection stays queued and the socket
 * stays readable, so accepting again at once would spin. */
const ACCEPT_BACKOFF_MS = 100;

/** An AF_VSOCK server. */
export class VsockServer extends EventEmitter {
  private readonly allowHalfOpen: boolean;
  private readonly connections = new Set<VsockSocket>();
  private watcher: FdWatcher | null = null;
  private bound: VsockAddress | null = null;
  private closeRequested = false;
  private acceptPause: NodeJS.Timeout | undefined;
  private unrefed = false;

  constructor(options: VsockServerOptions = {}, connectionListener?: (socket: VsockSocket) => void) {
    super();
    this.allowHalfOpen = options.allowHalfOpen ?? false;
    if (connectionListener) this.on('connection', connectionListener);
  }

  /** Starts listening; 'listening' follows on success, 'error' (EADDRINUSE, EAFNOSUPPORT...) otherwise. */
  listen(port: number, cid?: number, callback?: () => void): this;
  listen(options: VsockListenOptions, callback?: () => void): this;
  listen(portOrOptions: number | VsockListenOptions, cidOrCallback?: number | (() => void), maybeCallback?: () => void): this {
    const options: VsockListenOptions =
      typeof portOrOptions === 'number'
        ? { port: portOrOptions, cid: typeof cidOrCallback === 'number' ? cidOrCallback : undefined }
        : portOrOptions;
    const callback = typeof cidOrCallback === 'function' ? cidOrCallback : maybeCallback;
    if (this.watcher !== null) throw codedError('ERR_SERVER_ALREADY_LISTEN', 'VsockServer: listen() called while already listening');
    const port = checkU32(options.port, 'port');
    const cid = checkU32(options.cid ?? VMADDR_CID_ANY, 'cid');
    const backlog = checkU32(options.backlog ?? 511, 'backlog');
    if (callback) this.once('listening', callback);
    this.closeRequested = false;

    const address = formatVsockAddress({ cid, port });
    const b = native();
    const fd = b.vsockSocket();
    if (fd < 0) return this.errorSoon(errnoError(fd, 'socket', address));
    let syscall = 'bind';
    let rc = b.vsockBind(fd, cid, port);
    if (rc >= 0) {
      syscall = 'listen';
      rc = b.listen(fd, backlog);
    }
    if (rc < 0) {
      b.close(fd);
      return this.errorSoon(errnoError(rc, syscall, address));
    }
    try {
      this.watcher = new FdWatcher(fd, (status) => this.onAcceptable(status));
    } catch (error) {
      b.close(fd);
      return this.errorSoon(error as Error);
    }
    if (this.unrefed) this.watcher.unref();
    this.watcher.want(true, false);
    const local = b.vsockLocalAddress(fd);
    this.bound = typeof local === 'number' ? { cid, port } : local;
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** The bound address (with the real port when VMADDR_PORT_ANY was asked for), null when not listening. */
  address(): VsockAddress | null {
    return this.watcher === null ? null : this.bound;
  }

  get listening(): boolean {
    return this.watcher !== null;
  }

  /** Number of accepted connections that have not closed yet. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting; 'close' (and callback) follow once every accepted connection has closed.
   * The callback gets ERR_SERVER_NOT_RUNNING if the server was not listening. */
  close(callback?: (error?: Error) => void): this {
    if (this.watcher === null) {
      if (callback) process.nextTick(callback, codedError('ERR_SERVER_NOT_RUNNING', 'VsockServer: not running'));
      return this;
    }
    if (callback) this.once('close', () => callback());
    clearTimeout(this.acceptPause);
    this.watcher.close();
    this.watcher = null;
    this.closeRequested = true;
    this.maybeEmitClose();
    return this;
  }

  /** Lets the process exit while the server listens. */
  unref(): this {
    this.unrefed = true;
    this.watcher?.unref();
    this.acceptPause?.unref();
    return this;
  }

  /** Undoes unref(). */
  ref(): this {
    this.unrefed = false;
    this.watcher?.ref();
    this.acceptPause?.ref();
    return this;
  }

  private onAcceptable(status: number): void {
    const watcher = this.watcher;
    if (watcher === null) return;
    const b = native();
    if (status < 0) {
      // POLLERR on a listening socket: report it and keep going after a pause.
      const error = b.socketError(watcher.fd);
      this.pauseAccepting();
      this.emit('error', errnoError(error < 0 ? error : status, 'accept', this.describe()));
      return;
    }
    for (let i = 0; i < ACCEPTS_PER_EVENT && this.watcher === watcher; i++) {
      const fd = b.accept(watcher.fd);
      if (fd >= 0) {
        this.adopt(fd);
      } else if (fd === E.AGAIN) {
        return;
      } else if (fd === E.CONNABORTED || fd === E.PROTO || fd === E.INTR) {
        continue; // that peer gave up before we got to it; the next may be fine
      } else {
        if (fd === E.MFILE || fd === E.NFILE || fd === E.NOBUFS || fd === E.NOMEM) this.pauseAccepting();
        this.emit('error', errnoError(fd, 'accept', this.describe()));
        return;
      }
    }
  }

  private adopt(fd: number): void {
    let socket: VsockSocket;
    try {
      socket = new VsockSocket({ fd, allowHalfOpen: this.allowHalfOpen });
    } catch (error) {
      native().close(fd);
      this.emit('error', error);
      return;
    }
    this.connections.add(socket);
    socket.once('close', () => {
      this.connections.delete(socket);
      this.maybeEmitClose();
    });
    this.emit('connection', socket);
  }

  private pauseAccepting(): void {
    const watcher = this.watcher;
    if (watcher === null) return;
    watcher.want(false, false);
    clearTimeout(this.acceptPause);
    this.acceptPause = setTimeout(() => {
      if (this.watcher === watcher) watcher.want(true, false);
    }, ACCEPT_BACKOFF_MS);
    if (this.unrefed) this.acceptPause.unref();
  }

  private maybeEmitClose(): void {
    if (!this.closeRequested || this.watcher !== null || this.connections.size > 0) return;
    this.closeRequested = false;
    process.nextTick(() => this.emit('close'));
  }

  private describe(): string | undefined {
    return this.bound ? formatVsockAddress(this.bound) : undefined;
  }

  private errorSoon(error: Error): this {
    process.nextTick(() => this.emit('error', error));
    return this;
  }
}

/** Creates a VsockServer (like net.createServer). */
export function createServer(
  optionsOrListener?: VsockServerOptions | ((socket: VsockSocket) => void),
  connectionListener?: (socket: VsockSocket) => void,
): VsockServer {
  return typeof optionsOrListener === 'function'
    ? new VsockServer({}, optionsOrListener)
    : new VsockServer(optionsOrListener ?? {}, connectionListener);
}
