// Node-style errors for failed system calls, and the errno numbers the streams branch on.
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';

/** An error from a system call, shaped like Node's own (`err.code === 'ECONNREFUSED'`). */
export interface ErrnoError extends Error {
  /** Symbolic errno, e.g. 'ECONNRESET'. */
  code: string;
  /** Negative errno, as in Node's errors. */
  errno: number;
  syscall: string;
  /** The peer or local address involved, when there is one ("vsock:3:1024", a socket path). */
  address?: string;
}

/** errno values as negative numbers, the form the native layer returns them in. */
export const E = {
  AGAIN: -constants.errno.EAGAIN,
  INPROGRESS: -constants.errno.EINPROGRESS,
  INTR: -constants.errno.EINTR,
  NOTCONN: -constants.errno.ENOTCONN,
  TIMEDOUT: -constants.errno.ETIMEDOUT,
  CONNABORTED: -constants.errno.ECONNABORTED,
  PROTO: -constants.errno.EPROTO,
  MFILE: -constants.errno.EMFILE,
  NFILE: -constants.errno.ENFILE,
  NOBUFS: -constants.errno.ENOBUFS,
  NOMEM: -constants.errno.ENOMEM,
  BADF: -constants.errno.EBADF,
} as const;

const namesByErrno = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!namesByErrno.has(-value)) namesByErrno.set(-value, name);
}

/** Symbolic name of a negative errno: libuv's name (what Node uses), else the kernel's. */
export function errnoName(errno: number): string {
  const name = getSystemErrorName(errno);
  return name.startsWith('Unknown') ? (namesByErrno.get(errno) ?? `ERRNO${-errno}`) : name;
}

/** Builds an ErrnoError from a negative errno: message "connect ECONNREFUSED vsock:3:1024". */
export function errnoError(errno: number, syscall: string, address?: string): ErrnoError {
  const code = errnoName(errno);
  const error = new Error(`${syscall} ${code}${address ? ` ${address}` : ''}`) as ErrnoError;
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  if (address !== undefined) error.address = address;
  return error;
}

/** An Error with a string code, for failures that are not a single errno (ERR_* codes). */
export function codedError(code: string, message: string, extra: Record<string, unknown> = {}): Error & { code: string } {
  return Object.assign(new Error(message), { code }, extra);
}

/** Checks an unsigned 32-bit integer argument (CIDs, ports, timeouts), throwing like Node does. */
export function checkU32(value: unknown, name: string): number {
  if (typeof value !== 'number') {
    throw Object.assign(new TypeError(`${name} must be a number, got ${typeof value}`), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw Object.assign(new RangeError(`${name} must be an integer in [0, 4294967295], got ${value}`), {
      code: 'ERR_OUT_OF_RANGE',
    });
  }
  return value;
}
