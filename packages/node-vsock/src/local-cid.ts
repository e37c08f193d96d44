// This machine's own vsock context id.
import { errnoError } from './errors';
import { native } from './native';

/** Returns the local CID (IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock); throws ENOENT/ENODEV-style
 * errors where vsock is unavailable. Opens no connection. */
export function getLocalCid(): number {
  const cid = native().vsockLocalCid();
  if (cid < 0) throw errnoError(cid, 'ioctl', '/dev/vsock');
  return cid;
}
