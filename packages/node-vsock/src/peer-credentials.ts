// SO_PEERCRED: the pid, uid and gid of the process at the other end of a unix socket, as the
// kernel recorded them when it connected. Lets a server refuse peers of another user, as
// containerd's ttrpc servers do (UnixSocketRequireSameUser).
import type { Socket } from 'node:net';

import { codedError, errnoError } from './errors';
import { native, type NativePeerCredentials } from './native';

/** Who is on the other end of a unix socket. */
export type PeerCredentials = NativePeerCredentials;

/** The peer credentials of a connected unix socket (a net.Socket or a raw descriptor). Throws an
 * ErrnoError when the kernel has none (ENOTSOCK for a pipe, EBADF for a closed descriptor). */
export function peerCredentials(channel: Socket | number): PeerCredentials {
  const fd = typeof channel === 'number' ? channel : (channel as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw codedError('ERR_PEERCRED_NO_FD', 'peerCredentials: the socket has no descriptor (not connected yet, or closed)');
  }
  const b = native();
  // An addon built before this function existed (an older install next to a newer bundle).
  if (typeof b.peerCredentials !== 'function') throw codedError('ERR_NODE_VSOCK_NATIVE', 'node-vsock: the native addon has no peerCredentials (rebuild it)');
  const result = b.peerCredentials(fd);
  if (typeof result === 'number') throw errnoError(result, 'getsockopt(SO_PEERCRED)');
  return result;
}

/** True when the peer runs with this process's effective uid and gid. */
export function isSameUser(channel: Socket | number): boolean {
  const peer = peerCredentials(channel);
  return peer.uid === process.geteuid?.() && peer.gid === process.getegid?.();
}
