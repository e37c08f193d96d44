// SCM_RIGHTS: passing open descriptors over a connected unix stream socket.
//
// Works on a raw descriptor or on a net.Socket (through its handle's fd). Node itself knows
// nothing of the ancillary data, so with a net.Socket two rules keep descriptors from being lost:
// sends wait until the socket's earlier writes have reached the kernel (order is preserved), and
// receives require that Node has not read the message already: a plain read() makes the kernel
// drop the descriptors that came with the bytes it returns.
import type { Socket } from 'node:net';

import { codedError, E, errnoError } from './errors';
import { native } from './native';
import { waitForFd } from './wait-fd';

/** A connected AF_UNIX stream socket: a net.Socket or a raw descriptor. */
export type FdChannel = Socket | number;

/** What one recvFds call received. */
export interface ReceivedFds {
  /** The bytes that carried the descriptors (empty at end of stream). */
  data: Buffer;
  /** The descriptors, owned by the caller from now on, close-on-exec. */
  fds: number[];
}

/** Options for recvFds. */
export interface RecvFdsOptions {
  /** Most descriptors accepted in one message (default 16, at most 253); more is an error. */
  maxFds?: number;
  /** Most bytes read along with them (default 1: the single byte sendFds sends by default, so
   * that no data meant for the next reader is consumed). */
  maxBytes?: number;
  signal?: AbortSignal;
}

interface NodeHandle {
  fd?: number;
  reading?: boolean;
  readStop?: () => number;
}

const MAX_FDS = 253;
const ONE_BYTE = Buffer.from([0]);

/** Sends fds along with data (default one zero byte) over channel. The caller keeps its own
 * copies of the descriptors and may close them once this resolves; on a net.Socket, further
 * writes must wait for it too, or they could overtake the descriptors. */
export async function sendFds(channel: FdChannel, fds: readonly number[], data: Uint8Array = ONE_BYTE): Promise<void> {
  if (!Array.isArray(fds) || fds.length === 0 || fds.length > MAX_FDS) {
    throw Object.assign(new RangeError(`sendFds: fds must hold 1 to ${MAX_FDS} descriptors`), { code: 'ERR_OUT_OF_RANGE' });
  }
  const fd = channelFd(channel, 'sendFds');
  if (typeof channel !== 'number') await flushWrites(channel);
  const b = native();
  let sent: number;
  for (;;) {
    sent = b.sendFds(fd, data, fds);
    if (sent >= 0) break;
    if (sent !== E.AGAIN) throw errnoError(sent, 'sendmsg');
    await waitForFd(fd, 'writable');
  }
  // The descriptors travelled with the first bytes; whatever did not fit follows as plain data.
  let rest = data.subarray(sent);
  while (rest.length > 0) {
    const n = b.send(fd, rest);
    if (n >= 0) rest = rest.subarray(n);
    else if (n === E.AGAIN) await waitForFd(fd, 'writable');
    else throw errnoError(n, 'send');
  }
}

/** Receives the next message's data and descriptors from channel. A net.Socket is paused and
 * Node's reading on it stopped first; resume() it to go back to reading through Node. */
export async function recvFds(channel: FdChannel, options: RecvFdsOptions = {}): Promise<ReceivedFds> {
  const maxFds = options.maxFds ?? 16;
  const maxBytes = options.maxBytes ?? 1;
  if (!Number.isInteger(maxFds) || maxFds < 1 || maxFds > MAX_FDS || !Number.isInteger(maxBytes) || maxBytes < 1) {
    throw Object.assign(new RangeError(`recvFds: maxFds must be in [1, ${MAX_FDS}] and maxBytes at least 1`), {
      code: 'ERR_OUT_OF_RANGE',
    });
  }
  const fd = channelFd(channel, 'recvFds');
  if (typeof channel !== 'number') stopNodeReading(channel);
  const b = native();
  const buffer = Buffer.alloc(maxBytes);
  for (;;) {
    const result = b.recvFds(fd, buffer, maxFds);
    if (typeof result === 'number') {
      if (result !== E.AGAIN) throw errnoError(result, 'recvmsg');
      await waitForFd(fd, 'readable', options.signal);
      continue;
    }
    if (result.truncated) {
      for (const received of result.fds) b.close(received);
      throw codedError('ERR_FDPASS_TRUNCATED', `recvFds: more than ${maxFds} descriptors arrived in one message; all were closed`);
    }
    return { data: Buffer.from(buffer.subarray(0, result.bytes)), fds: result.fds };
  }
}

/** The descriptor behind a channel; net.Socket exposes it only on its internal handle. */
function channelFd(channel: FdChannel, operation: string): number {
  if (typeof channel === 'number') {
    if (Number.isInteger(channel) && channel >= 0) return channel;
    throw Object.assign(new RangeError(`${operation}: not a descriptor: ${channel}`), { code: 'ERR_OUT_OF_RANGE' });
  }
  const fd = (channel as unknown as { _handle?: NodeHandle | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw codedError('ERR_FDPASS_NO_FD', `${operation}: the socket has no descriptor (not connected yet, or closed)`);
  }
  return fd;
}

/** Resolves once every earlier write on socket has reached the kernel: Writable completes writes
 * in order, so the callback of an empty write comes after all of them. */
async function flushWrites(socket: Socket): Promise<void> {
  if (socket.writableLength === 0) return;
  await new Promise<void>((resolve, reject) => socket.write(Buffer.alloc(0), (error) => (error ? reject(error) : resolve())));
}

/** Stops libuv reading from socket so that the next message, descriptors included, is left to
 * recvmsg. Fails if Node already holds unread data: descriptors that came with it are gone. */
function stopNodeReading(socket: Socket): void {
  if (socket.readableLength > 0) {
    throw codedError(
      'ERR_FDPASS_DATA_BUFFERED',
      'recvFds: Node has already read data from this socket, and with it any descriptors it carried; ' +
        'receive descriptors before reading through Node (accept with pauseOnConnect, or pause() before connecting)',
    );
  }
  socket.pause();
  // What net.Socket#pause does for sockets with an onread buffer: stop the libuv read watcher now
  // rather than when the stream buffer fills. net restarts it on the next read (resume()).
  const handle = (socket as unknown as { _handle?: NodeHandle | null })._handle;
  if (handle?.reading) {
    handle.reading = false;
    handle.readStop?.();
  }
}
