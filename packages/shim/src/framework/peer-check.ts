/**
 * Who may talk to the shim: like containerd's shims (ttrpc UnixSocketRequireSameUser), only peers
 * running with the shim's own effective uid and gid, read from SO_PEERCRED through node-vsock. The
 * socket is also 0600 in a 0700 directory; where the native addon is missing, that is the only guard
 * left, and the shim says so once.
 */
import type net from 'node:net';
import { isSameUser, peerCredentials } from 'node-vsock';
import type { Logger } from './logging';

/** An accept hook for the ttrpc server: true to serve the connection, false to close it. */
export function sameUserOnly(log: Logger): (socket: net.Socket) => boolean {
  let warnedUnavailable = false;
  return (socket) => {
    try {
      if (isSameUser(socket)) return true;
      log.warn({ peer: peerCredentials(socket) }, 'connection from another user refused');
      return false;
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_NODE_VSOCK_NATIVE') {
        if (!warnedUnavailable) log.warn({ err: (err as Error).message }, 'peer credentials cannot be checked; relying on the socket mode');
        warnedUnavailable = true;
        return true;
      }
      log.warn({ err: (err as Error).message }, 'peer credentials unreadable, connection refused');
      return false;
    }
  };
}
