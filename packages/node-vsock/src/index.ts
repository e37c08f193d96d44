// node-vsock: AF_VSOCK streams and server, the hybrid-vsock dialer, SCM_RIGHTS fd passing, and
// poll-driven character devices.

// AF_VSOCK
export {
  VMADDR_CID_ANY,
  VMADDR_CID_HOST,
  VMADDR_CID_HYPERVISOR,
  VMADDR_CID_LOCAL,
  VMADDR_PORT_ANY,
  formatVsockAddress,
  type VsockAddress,
} from './constants';
export { VsockSocket, createConnection, connectVsock, type VsockConnectOptions, type VsockSocketOptions } from './vsock-socket';
export { VsockServer, createServer, type VsockListenOptions, type VsockServerOptions } from './vsock-server';
export { getLocalCid } from './local-cid';

// Hybrid vsock (unix socket + "CONNECT <port>\n" / "OK ...\n")
export { connectHybridVsock, HybridVsockError, type HybridVsockOptions } from './hybrid-vsock';

// SCM_RIGHTS descriptor passing
export { sendFds, recvFds, type FdChannel, type ReceivedFds, type RecvFdsOptions } from './fd-passing';

// Character devices (virtio-serial ports), non-blocking and poll-driven
export { CharDevice, type CharDeviceRead } from './char-device';

// SO_PEERCRED
export { peerCredentials, isSameUser, type PeerCredentials } from './peer-credentials';

// Errors
export { type ErrnoError } from './errors';
