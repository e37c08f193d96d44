// Loads the N-API addon and describes its surface.
//
// The addon is looked for, in order, in $NODE_VSOCK_NATIVE_DIR, in this package's build/Release
// (one level up from both src/ and dist/), and in /usr/lib/kata-ts/native/, where the guest image
// puts it next to a bundled agent whose __dirname says nothing about where the package was.
// Loading is lazy, so the pure-TypeScript parts (hybrid vsock) work without a compiled addon.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Name of the compiled addon file. */
export const NATIVE_FILE = 'node_vsock.node';

/** A libuv poll watcher that owns one descriptor (see native/poll.c). */
export interface NativePoll {
  /** (Re)sets the event mask (POLL_* bits) and starts polling: 0 or -errno. */
  start(events: number): number;
  stop(): void;
  ref(): void;
  unref(): void;
  /** Stops polling and closes the descriptor; no callback runs afterwards. */
  close(): void;
  /** The owned descriptor, -1 once closed. */
  readonly fd: number;
}

/** {cid, port} as returned by getsockname/getpeername. */
export interface NativeVsockAddress {
  cid: number;
  port: number;
}

/** Result of one recvmsg: how many bytes landed in the buffer and which descriptors came along. */
export interface NativeRecvResult {
  bytes: number;
  fds: number[];
  /** MSG_CTRUNC: more descriptors were sent than the control buffer held; the kernel closed the rest. */
  truncated: boolean;
}

/**
 * The addon's exports. Syscall wrappers return -errno on failure (never throw for it); they throw
 * only for invalid arguments.
 */
export interface NativeBinding {
  Poll: new (fd: number, callback: (status: number, events: number) => void) => NativePoll;
  POLL_READABLE: number;
  POLL_WRITABLE: number;
  POLL_DISCONNECT: number;

  read(fd: number, buffer: Uint8Array): number;
  send(fd: number, buffer: Uint8Array): number;
  write(fd: number, buffer: Uint8Array): number;
  shutdown(fd: number, how: number): number;
  accept(fd: number): number;
  listen(fd: number, backlog: number): number;
  socketError(fd: number): number;
  close(fd: number): number;
  dupCloexec(fd: number): number;
  socketPair(): [number, number] | number;
  pipe(): [number, number] | number;

  vsockSocket(): number;
  vsockConnect(fd: number, cid: number, port: number): number;
  vsockBind(fd: number, cid: number, port: number): number;
  vsockSetConnectTimeout(fd: number, ms: number): number;
  vsockLocalAddress(fd: number): NativeVsockAddress | number;
  vsockRemoteAddress(fd: number): NativeVsockAddress | number;
  vsockLocalCid(): number;
  VMADDR_CID_ANY: number;
  VMADDR_CID_HYPERVISOR: number;
  VMADDR_CID_LOCAL: number;
  VMADDR_CID_HOST: number;
  VMADDR_PORT_ANY: number;

  sendFds(fd: number, data: Uint8Array, fds: readonly number[]): number;
  recvFds(fd: number, buffer: Uint8Array, maxFds: number): NativeRecvResult | number;
  MAX_FDS_PER_MESSAGE: number;

  peerCredentials(fd: number): NativePeerCredentials | number;
}

/** SO_PEERCRED of a unix socket: the peer's pid, uid and gid when it connected. */
export interface NativePeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** Directories searched for the addon, in order. */
export function nativeSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env['NODE_VSOCK_NATIVE_DIR']) dirs.push(env['NODE_VSOCK_NATIVE_DIR']);
  dirs.push(path.resolve(__dirname, '..', 'build', 'Release'), '/usr/lib/kata-ts/native');
  return dirs;
}

let binding: NativeBinding | undefined;

/** Returns the addon, loading it on first use; throws ERR_NODE_VSOCK_NATIVE with what was tried. */
export function native(): NativeBinding {
  binding ??= loadNative(nativeSearchPath());
  return binding;
}

/** Loads the addon from the first directory that has it. A present but broken file is an error,
 * not a reason to try the next directory: silently loading a different build hides the problem. */
export function loadNative(dirs: readonly string[]): NativeBinding {
  for (const dir of dirs) {
    const file = path.join(dir, NATIVE_FILE);
    if (!existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file) as NativeBinding;
    } catch (cause) {
      throw Object.assign(new Error(`node-vsock: cannot load ${file}: ${(cause as Error).message}`, { cause }), {
        code: 'ERR_NODE_VSOCK_NATIVE',
      });
    }
  }
  throw Object.assign(
    new Error(
      `node-vsock: native addon ${NATIVE_FILE} not found (looked in ${dirs.join(', ')}); ` +
        'build it with `pnpm -F node-vsock build` or point NODE_VSOCK_NATIVE_DIR at its directory',
    ),
    { code: 'ERR_NODE_VSOCK_NATIVE' },
  );
}
