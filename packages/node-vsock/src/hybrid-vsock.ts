// Hybrid vsock (Firecracker, Cloud Hypervisor): the host reaches a guest vsock port through a unix
// socket owned by the hypervisor. The client writes "CONNECT <port>\n"; the hypervisor answers
// "OK <host-side port>\n" once the guest accepted, or closes the socket (some versions write an
// error line first). After the answer, the unix socket carries the guest connection's bytes.
import net from 'node:net';

import { checkU32, codedError } from './errors';

/** Where to dial. */
export interface HybridVsockOptions {
  /** The hypervisor's vsock unix socket. */
  path: string;
  /** Guest vsock port. */
  port: number;
  /** Give up (ETIMEDOUT) if connecting plus handshake take longer than this many milliseconds. */
  timeout?: number;
}

/** The handshake failed: the hypervisor's answer (`line`) did not start with OK, or it closed. */
export class HybridVsockError extends Error {
  readonly code = 'ERR_HYBRID_VSOCK_HANDSHAKE';
  constructor(
    message: string,
    /** The reply line without its newline, when there was one. */
    readonly line?: string,
  ) {
    super(message);
    this.name = 'HybridVsockError';
  }
}

/** A reply longer than this is not a handshake answer; stop buffering it. */
const MAX_REPLY_LENGTH = 1024;

/**
 * Connects to a guest vsock port through a hybrid-vsock unix socket and resolves with that same
 * net.Socket once the hypervisor said OK. Bytes that arrived after the OK line are unshifted back
 * into the socket, so the next reader sees the guest's stream from its first byte.
 */
export function connectHybridVsock(options: HybridVsockOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Inside the executor, so that bad arguments reject like every other failure.
    const port = checkU32(options.port, 'port');
    const timeout = options.timeout === undefined ? undefined : checkU32(options.timeout, 'timeout');
    const where = `${options.path} port ${port}`;
    const socket = net.createConnection({ path: options.path });
    let reply = Buffer.alloc(0);
    const timer = timeout
      ? setTimeout(() => fail(codedError('ETIMEDOUT', `hybrid vsock: no answer from ${where} within ${timeout} ms`)), timeout)
      : undefined;

    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect).off('readable', onReadable).off('end', onEnd).off('error', fail);
    };
    function fail(error: Error): void {
      cleanup();
      socket.destroy();
      reject(error);
    }
    const onConnect = (): void => {
      socket.write(`CONNECT ${port}\n`);
    };
    const onEnd = (): void => fail(new HybridVsockError(`hybrid vsock: ${where}: connection closed before the handshake answer`));
    // 'readable' + read() (paused mode) rather than 'data', so that no byte can slip past before
    // the rest is unshifted and the socket handed over.
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        reply = Buffer.concat([reply, chunk]);
        const newline = reply.indexOf(0x0a);
        if (newline < 0) {
          if (reply.length > MAX_REPLY_LENGTH) {
            fail(new HybridVsockError(`hybrid vsock: ${where}: answer longer than ${MAX_REPLY_LENGTH} bytes without a newline`));
          }
          continue;
        }
        const line = reply.subarray(0, newline).toString('utf8').replace(/\r$/, '');
        const rest = reply.subarray(newline + 1);
        if (!line.startsWith('OK')) {
          fail(new HybridVsockError(`hybrid vsock: ${where}: handshake refused: ${JSON.stringify(line)}`, line));
          return;
        }
        cleanup();
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
        return;
      }
    };
    socket.once('connect', onConnect).on('readable', onReadable).once('end', onEnd).once('error', fail);
  });
}
