// AF_VSOCK client socket: a Duplex that connects without blocking, with an optional timeout.
import { constants } from 'node:os';

import { formatVsockAddress, type VsockAddress } from './constants';
import { checkU32, codedError, E, errnoError } from './errors';
import { FdSocket, type FdSocketOptions } from './fd-socket';
import { native } from './native';

/** Where and how to connect. */
export interface VsockConnectOptions {
  /** Context id of the peer (VMADDR_CID_HOST from a guest, the guest's cid from the host). */
  cid: number;
  port: number;
  /** Give up with ETIMEDOUT after this many milliseconds. Without it the kernel's vsock connect
   * timeout applies (2 s by default). */
  timeout?: number;
}

/** Options for new VsockSocket(); `fd` wraps an already-connected AF_VSOCK socket. */
export type VsockSocketOptions = FdSocketOptions;

const ECONNRESET = -constants.errno.ECONNRESET;
const ECONNREFUSED = -constants.errno.ECONNREFUSED;

/**
 * A stream over an AF_VSOCK connection. Events as net.Socket: 'connect' and 'ready' once
 * connected, then 'data'/'end'/'finish', 'error' with a Node-style errno error, and 'close'.
 */
export class VsockSocket extends FdSocket {
  private remote: VsockAddress | undefined;
  private local: VsockAddress | undefined;

  constructor(options: VsockSocketOptions = {}) {
    super(options);
  }

  /** Starts connecting; errors arrive as 'error' events, like net.Socket#connect. */
  connect(options: VsockConnectOptions, connectListener?: () => void): this {
    if (!this.isIdle) throw codedError('ERR_SOCKET_CONNECTED', 'VsockSocket: connect() on a socket that is already connecting, connected or destroyed');
    const cid = checkU32(options.cid, 'cid');
    const port = checkU32(options.port, 'port');
    const timeout = options.timeout === undefined ? undefined : checkU32(options.timeout, 'timeout');
    if (connectListener) this.once('connect', connectListener);
    this.remote = { cid, port };
    const peer = formatVsockAddress(this.remote);

    const b = native();
    const fd = b.vsockSocket();
    if (fd < 0) return this.failSoon(errnoError(fd, 'socket', peer));
    // The kernel enforces its own connect timeout (2 s unless told otherwise) even on non-blocking
    // sockets; align it with ours. A kernel that refuses the option still has our timer.
    if (timeout) b.vsockSetConnectTimeout(fd, timeout);
    const rc = b.vsockConnect(fd, cid, port);
    if (rc < 0 && rc !== E.INPROGRESS) {
      b.close(fd);
      return this.failSoon(errnoError(this.connectErrno(rc), 'connect', peer));
    }
    try {
      this.attach(fd, 'connecting', peer);
    } catch (error) {
      b.close(fd);
      return this.failSoon(error as Error);
    }
    if (rc === 0) this.connectedImmediately();
    if (timeout) this.startConnectTimer(timeout);
    return this;
  }

  /** The peer's address, once connecting or accepted. */
  get remoteAddress(): VsockAddress | undefined {
    this.remote ??= this.queryAddress('vsockRemoteAddress');
    return this.remote;
  }

  /** This end's address (the kernel picks the port of an outgoing connection), once connected. */
  get localAddress(): VsockAddress | undefined {
    if (this.local === undefined && !this.connecting) this.local = this.queryAddress('vsockLocalAddress');
    return this.local;
  }

  /** A refused vsock connection comes back as ECONNRESET (the peer's transport answers a connect
   * to a port nobody listens on with a reset); report it as the ECONNREFUSED that callers, and
   * their retry loops, expect. */
  protected override connectErrno(errno: number): number {
    return errno === ECONNRESET ? ECONNREFUSED : errno;
  }

  private queryAddress(which: 'vsockLocalAddress' | 'vsockRemoteAddress'): VsockAddress | undefined {
    if (this.fd < 0) return undefined;
    const address = native()[which](this.fd);
    return typeof address === 'number' ? undefined : address;
  }

  /** Destroys with an error on the next tick, so that callers can attach 'error' listeners first. */
  private failSoon(error: Error): this {
    process.nextTick(() => this.destroy(error));
    return this;
  }
}

/** Creates a VsockSocket and starts connecting it (like net.createConnection). */
export function createConnection(
  options: VsockConnectOptions & Pick<VsockSocketOptions, 'allowHalfOpen'>,
  connectListener?: () => void,
): VsockSocket {
  return new VsockSocket({ allowHalfOpen: options.allowHalfOpen }).connect(options, connectListener);
}

/** Connects and resolves with the connected socket, or rejects with the connect error. */
export function connectVsock(options: VsockConnectOptions & Pick<VsockSocketOptions, 'allowHalfOpen'>): Promise<VsockSocket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(options);
    const onError = (error: Error): void => {
      socket.off('connect', onConnect).off('close', onClose);
      reject(error);
    };
    const onClose = (): void => onError(codedError('ERR_SOCKET_CLOSED', 'VsockSocket: closed before connecting'));
    const onConnect = (): void => {
      socket.off('error', onError).off('close', onClose);
      resolve(socket);
    };
    socket.once('error', onError).once('close', onClose).once('connect', onConnect);
  });
}
