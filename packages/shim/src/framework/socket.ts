/**
 * The shim's ttrpc socket: where it lives (containerd's hashing rule), creating it in a 0700
 * directory, and finding out whether a live shim already serves it. Always a filesystem socket:
 * an address without `unix://` would be dialled by containerd as an abstract socket.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** containerd 1.x's socket root (`defaults.DefaultStateDir + "/s"`), also 2.x's default. */
export const DEFAULT_SOCKET_DIR = '/run/containerd/s';
/** Longest unix socket path containerd accepts (`socketPathLimit`). */
export const SOCKET_PATH_LIMIT = 106;

/**
 * `unix://<dir>/hex(sha256(join(<containerd address>, <namespace>, <group id>)))`, as containerd's
 * SocketAddress computes it, so containerd and every shim of the group agree on it.
 */
export function socketAddress(containerdAddress: string, namespace: string, groupId: string, dir = DEFAULT_SOCKET_DIR): string {
  const digest = createHash('sha256').update(path.join(containerdAddress, namespace, groupId)).digest('hex');
  return `unix://${path.join(dir, digest)}`;
}

/** The filesystem path of a `unix://` address. */
export function socketPath(address: string): string {
  if (!address.startsWith('unix://')) throw new Error(`not a unix:// address: ${address}`);
  return address.slice('unix://'.length);
}

/** True when something accepts connections on the socket path. */
export function canConnect(sockPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(sockPath);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Outcome of trying to create a shim socket. */
export type ListenResult = { kind: 'listening'; server: net.Server } | { kind: 'in-use' };

/**
 * Listens on the socket of `address`, creating its directory 0700 and the socket 0600. If a live
 * shim already listens there, reports 'in-use'; a stale socket file is removed and replaced.
 */
export async function listenShimSocket(address: string): Promise<ListenResult> {
  const sockPath = socketPath(address);
  if (sockPath.length > SOCKET_PATH_LIMIT) throw new Error(`socket path ${sockPath} is longer than ${SOCKET_PATH_LIMIT} bytes`);
  await fs.mkdir(path.dirname(sockPath), { recursive: true, mode: 0o700 });
  await fs.chmod(path.dirname(sockPath), 0o700);
  for (let attempt = 0; attempt < 2; attempt++) {
    const server = net.createServer();
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(sockPath, () => {
        server.off('error', resolve);
        resolve(undefined);
      });
    });
    if (!err) {
      await fs.chmod(sockPath, 0o600);
      return { kind: 'listening', server };
    }
    if (err.code !== 'EADDRINUSE') throw err;
    if (await canConnect(sockPath)) return { kind: 'in-use' };
    await fs.rm(sockPath, { force: true });
  }
  throw new Error(`cannot listen on ${sockPath}: address in use`);
}

/** The OS file descriptor behind a listening net.Server, to hand to the daemon as fd 3. */
export function serverFd(server: net.Server): number {
  const handle = (server as unknown as { _handle?: { fd?: number } })._handle;
  if (!handle || typeof handle.fd !== 'number' || handle.fd < 0) throw new Error('listener has no file descriptor');
  return handle.fd;
}

/** Removes the socket file of an address; missing is fine. */
export async function removeSocket(address: string): Promise<void> {
  if (!address.startsWith('unix://')) return;
  await fs.rm(socketPath(address), { force: true });
}
